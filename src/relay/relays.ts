/** The relays of a region, nearest first (for /v1/relays and bootstraps). */
import type { EdgeNode, GeoLocation } from '../domain';
import { haversineKm } from '../model';

export const RELAY_XDS_PORT_LABEL = 'edge-xds.io/xds-port';
export const RELAY_HTTP_PORT_LABEL = 'edge-xds.io/http-port';
/** Secure mode: the relay's plaintext xDS listener for proxyless gRPC, when it is reachable at the relay's address. */
export const RELAY_XDS_PLAINTEXT_PORT_LABEL = 'edge-xds.io/xds-plaintext-port';

export interface RelayInfo {
  id: string;
  region: string;
  zone: string;
  location: GeoLocation;
  address: string;
  xdsPort: number;
  httpPort: number;
  /** 0: none published. */
  xdsPlaintextPort: number;
  state: EdgeNode['state'];
  distanceKm: number | null;
  lastHeartbeatAt: number | null;
}

const STATE_RANK: Record<EdgeNode['state'], number> = { healthy: 0, suspect: 1, unhealthy: 2, draining: 3 };

/**
 * Relays (nodes of role relay), optionally of one region, sorted nearest
 * first from `near` (healthy before unhealthy when `healthyFirst`), then by id.
 */
export function listRelays(nodes: Iterable<EdgeNode>, filter: { region?: string; near?: GeoLocation; healthyFirst?: boolean } = {}): RelayInfo[] {
  const out: RelayInfo[] = [];
  for (const n of nodes) {
    if (n.role !== 'relay') continue;
    if (filter.region && n.region !== filter.region) continue;
    out.push({
      id: n.id,
      region: n.region,
      zone: n.zone,
      location: n.location,
      address: n.address,
      xdsPort: Number(n.labels[RELAY_XDS_PORT_LABEL] ?? 0),
      httpPort: Number(n.labels[RELAY_HTTP_PORT_LABEL] ?? 0),
      xdsPlaintextPort: Number(n.labels[RELAY_XDS_PLAINTEXT_PORT_LABEL] ?? 0),
      state: n.state,
      distanceKm: filter.near ? Math.round(haversineKm(filter.near, n.location) * 10) / 10 : null,
      lastHeartbeatAt: n.lastHeartbeat?.at ?? null,
    });
  }
  return out.sort(
    (a, b) => (filter.healthyFirst ? STATE_RANK[a.state] - STATE_RANK[b.state] : 0) || (a.distanceKm ?? 0) - (b.distanceKm ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
