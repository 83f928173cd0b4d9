/**
 * Config dump: what one proxy currently has, per type, decoded to JSON.
 */
import { RESOURCE_KINDS, type ResourceKind } from './protos';
import { decodeStrict } from './strict-decode';
import { RESOURCE_TYPE_NAME } from './resources';
import type { StreamInfo } from './stream-callbacks';
import type { TypeStatus } from './protocol-state';
import type { NodeMetadata } from './proxy';

export interface TypeDump extends Omit<TypeStatus, 'resources'> {
  stream: number;
  resources: Array<{ name: string; version: string; resource: Record<string, unknown> }>;
}

export interface ConfigDump {
  /** The bounded identity the server keeps of the proxy's Node (proxy.ts), not the Node as sent. */
  node: {
    id: string;
    userAgentName: string;
    /** The client kind (envoy | grpc); the field name is the REST API's (docs/API.md). */
    kind: string;
    cluster: string;
    locality: { region: string; zone: string; subZone: string };
    metadata: NodeMetadata;
    clientFeatures: string[];
  } | null;
  view: string | null;
  streams: Array<{ id: number; protocol: string; service: string; peer: string; openedAt: string }>;
  types: Partial<Record<ResourceKind, TypeDump>>;
}

/** The dump of every stream of one proxy (ADS is one stream; per-type services are several). */
export function configDump(streams: readonly StreamInfo[]): ConfigDump {
  const first = streams.find((s) => s.proxy) ?? null;
  const types: Partial<Record<ResourceKind, TypeDump>> = {};
  for (const s of streams) {
    const status = s.status();
    for (const kind of RESOURCE_KINDS) {
      const st = status[kind];
      if (!st) continue;
      const acked = s.ackedResources(kind);
      const resources = acked
        ? acked.names.map((name) => {
            const r = acked.set.resources.get(name)!;
            return { name, version: r.version, resource: decodeStrict(RESOURCE_TYPE_NAME[kind], r.bytes) };
          })
        : [];
      types[kind] = { ...st, stream: s.id, resources };
    }
  }
  return {
    node: first?.proxy
      ? {
          id: first.proxy.id,
          userAgentName: first.proxy.userAgentName,
          kind: first.proxy.kind,
          cluster: first.proxy.cluster,
          locality: first.proxy.locality,
          metadata: first.proxy.metadata,
          clientFeatures: first.proxy.clientFeatures,
        }
      : null,
    view: first?.view ?? null,
    streams: streams.map((s) => ({ id: s.id, protocol: s.protocol, service: s.service, peer: s.peer, openedAt: new Date(s.openedAt).toISOString() })),
    types,
  };
}
