/** The regional tier: relays and the global tier's sync service. */
export { RelayTier, Ownership, relayForwarder } from './relay';
export type { RelayTierOptions } from './relay';
export { RelaySource } from './relay-source';
export { Outbox } from './outbox';
export type { OutboxOp, OutboxEntry } from './outbox';
export { SnapshotStore } from './snapshot-store';
export { UpstreamLink } from './upstream';
export { RelaySyncServer } from './sync-server';
export type { Call as RelaySyncCall } from './sync-server';
export { relaySyncService, relaySyncClient } from './protocol';
export { listRelays, RELAY_XDS_PORT_LABEL, RELAY_HTTP_PORT_LABEL, RELAY_XDS_PLAINTEXT_PORT_LABEL } from './relays';
export type { RelayInfo } from './relays';
