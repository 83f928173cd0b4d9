/**
 * Connects the REST API's TierAdmin to the registry and, on a relay, to the
 * relay tier: /v1/relays, /v1/bootstrap/{nodeId}, /v1/tier.
 */
import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { BootstrapResult, RelaysQuery, TierAdmin } from '../api/tier-routes';
import { renderEnvoyBootstrap, renderGrpcBootstrap, type XdsServerAddress } from '../bootstrap';
import type { Registry } from '../registry';
import { listRelays, type RelaySyncServer, type RelayTier } from '../relay';
import type { Outbox } from '../relay/outbox';

export interface TierAdminOptions {
  registry: Registry;
  role: 'global' | 'regional';
  /** This server's xDS port, and the host bootstraps name for it (bootstrapXdsHost). */
  xdsPort: () => number;
  xdsHost: string;
  /** Regional: the global tier's addresses. */
  upstreams: string[];
  relay?: { tier: RelayTier; outbox: Outbox; relayId: () => string };
  sync?: RelaySyncServer;
}

/** Where the host bootstraps name for this server came from. */
export type XdsHostSource = 'advertise-address' | 'listen-address' | 'interface' | 'loopback';

function isWildcard(host: string): boolean {
  if (host === '0.0.0.0') return true;
  return isIP(host) === 6 && /^[0:]+$/.test(host);
}

/**
 * The host this server's bootstraps name as the global xDS server, from
 * configuration only: --advertise-address; else the listen address (--host);
 * else, when that is a wildcard (0.0.0.0, ::), this machine's first
 * non-internal IPv4 address, and 127.0.0.1 when it has none.
 */
export function bootstrapXdsHost(
  listenHost: string,
  advertiseAddress: string | null,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): { host: string; source: XdsHostSource } {
  if (advertiseAddress) return { host: advertiseAddress, source: 'advertise-address' };
  if (listenHost !== '' && !isWildcard(listenHost)) return { host: listenHost, source: 'listen-address' };
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return { host: a.address, source: 'interface' };
  }
  return { host: '127.0.0.1', source: 'loopback' };
}

function isPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

function parseHostPort(hp: string): XdsServerAddress {
  const i = hp.lastIndexOf(':');
  return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)) };
}

export class ServerTierAdmin implements TierAdmin {
  constructor(private readonly o: TierAdminOptions) {}

  relays(q: RelaysQuery): unknown[] {
    return listRelays(this.o.registry.nodes().values(), { region: q.region, near: q.near });
  }

  /** xDS servers for a node: its region's relays nearest first (healthy first), the global tier last. */
  xdsServersFor(nodeId: string): XdsServerAddress[] | null {
    const node = this.o.registry.getNode(nodeId);
    if (!node) return null;
    const relays = listRelays(this.o.registry.nodes().values(), { region: node.region, near: node.location, healthyFirst: true })
      // The port comes from a label any registration may set: only a real port makes it into a bootstrap.
      .filter((r) => isPort(r.xdsPort) && r.state !== 'draining' && r.id !== node.id)
      .map((r) => ({ host: r.address, port: r.xdsPort }));
    const globals = this.o.role === 'global' ? [{ host: this.o.xdsHost, port: this.o.xdsPort() }] : this.o.upstreams.map(parseHostPort);
    const seen = new Set<string>();
    return [...relays, ...globals].filter((s) => {
      const k = `${s.host}:${s.port}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  bootstrap(nodeId: string, format: 'envoy' | 'grpc', mode: 'delta' | 'sotw'): BootstrapResult {
    const node = this.o.registry.getNode(nodeId);
    const servers = this.xdsServersFor(nodeId);
    if (!node || !servers) return { ok: false, error: 'unknown_node', message: `node "${nodeId}" is not registered` };
    if (servers.length === 0) return { ok: false, error: 'no_servers', message: 'no xDS server is known for this node' };
    const locality = { region: node.region, zone: node.zone, subZone: node.subZone };
    if (format === 'grpc') {
      return { ok: true, contentType: 'application/json', body: JSON.stringify(renderGrpcBootstrap({ nodeId, locality, xdsServers: servers }), null, 2) };
    }
    const yaml = renderEnvoyBootstrap({ nodeId, locality, xdsServers: servers, mode, role: node.role === 'gateway' ? 'gateway' : 'sidecar' });
    return { ok: true, contentType: 'application/yaml', body: yaml };
  }

  async status(): Promise<unknown> {
    if (this.o.role === 'global') return { role: 'global', relaysConnected: this.o.sync?.connectedRelays() ?? [] };
    const r = this.o.relay!;
    return {
      role: 'regional',
      relayId: r.relayId(),
      upstream: r.tier.link.upstream,
      connected: r.tier.link.isConnected,
      inSync: r.tier.source.synced,
      outboxPending: await r.outbox.pending(),
      outboxEpoch: r.outbox.epoch,
      epochResets: r.tier.epochResets,
      views: r.tier.source.modes(),
    };
  }
}
