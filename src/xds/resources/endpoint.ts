/**
 * EDS: one ClusterLoadAssignment per service, grouped by (priority, locality).
 */
import { isIP } from 'node:net';
import type { EndpointAssignment, Locality } from '../../model/types';
import type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment';
import type { LocalityLbEndpoints } from '../generated/envoy/config/endpoint/v3/LocalityLbEndpoints';
import type { LbEndpoint } from '../generated/envoy/config/endpoint/v3/LbEndpoint';
import { durationMs, u32 } from './encode';

export interface ClaOptions {
  /** policy.overprovisioning_factor in percent (default 140, Envoy's own default; ignored by gRPC clients). */
  overprovisioningFactor?: number;
  /** policy.endpoint_stale_after: how long Envoy keeps these endpoints without hearing from the control plane. */
  endpointStaleAfterMs?: number;
}

export const DEFAULT_OVERPROVISIONING_FACTOR = 140;

function localityKey(l: Locality): string {
  return JSON.stringify([l.region, l.zone, l.subZone]);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Throws when the input breaks a rule Envoy or gRPC would NACK the whole assignment for. */
function validateInput(service: string, endpoints: EndpointAssignment[]): void {
  if (!service) throw new Error('buildClusterLoadAssignment: service name is empty');
  const seen = new Map<string, string>();
  const priorities = new Set<number>();
  for (const e of endpoints) {
    const who = `${service}: endpoint ${e.nodeId} (${e.address}:${e.port})`;
    if (isIP(e.address) === 0) throw new Error(`${who}: address is not an IP literal`);
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) throw new Error(`${who}: port out of range 1..65535`);
    if (!Number.isInteger(e.priority) || e.priority < 0) throw new Error(`${who}: priority must be an integer >= 0`);
    if (!Number.isInteger(e.weight) || e.weight < 1) throw new Error(`${who}: weight must be an integer >= 1, got ${e.weight}`);
    const addr = `${e.address}|${e.port}`;
    const prev = seen.get(addr);
    if (prev !== undefined) throw new Error(`${who}: duplicate address:port (also endpoint ${prev})`);
    seen.set(addr, e.nodeId);
    priorities.add(e.priority);
  }
  const max = priorities.size ? Math.max(...priorities) : -1;
  for (let p = 0; p <= max; p++) {
    if (!priorities.has(p)) throw new Error(`${service}: priorities are not contiguous from 0 (priority ${p} is missing, max is ${max})`);
  }
}

/**
 * The assignment for one service. Endpoints that share (priority, locality)
 * are grouped into one LocalityLbEndpoints whose weight is the sum of theirs
 * (the model gives each node its own locality, so usually one endpoint per
 * locality and locality weight = endpoint weight); so a locality can never
 * appear twice in a priority. Output order is sorted (priority, locality,
 * address, port), independent of input order.
 */
export function buildClusterLoadAssignment(service: string, endpoints: EndpointAssignment[], opts: ClaOptions = {}): ClusterLoadAssignment {
  validateInput(service, endpoints);
  const groups = new Map<string, { priority: number; locality: Locality; eps: EndpointAssignment[] }>();
  for (const e of endpoints) {
    const key = `${e.priority}|${localityKey(e.locality)}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { priority: e.priority, locality: e.locality, eps: [] }));
    g.eps.push(e);
  }
  const sorted = [...groups.values()].sort((a, b) => a.priority - b.priority || cmp(localityKey(a.locality), localityKey(b.locality)));
  const localities: LocalityLbEndpoints[] = sorted.map((g) => {
    const eps = [...g.eps].sort((a, b) => cmp(a.address, b.address) || a.port - b.port);
    const lb: LbEndpoint[] = eps.map((e) => ({
      endpoint: {
        address: { socket_address: { address: e.address, port_value: e.port } },
        hostname: e.nodeId,
      },
      health_status: e.health,
      load_balancing_weight: u32(e.weight),
    }));
    const weight = eps.reduce((s, e) => s + e.weight, 0);
    return {
      locality: { region: g.locality.region, zone: g.locality.zone, sub_zone: g.locality.subZone },
      lb_endpoints: lb,
      load_balancing_weight: u32(weight),
      priority: g.priority,
    };
  });
  const factor = opts.overprovisioningFactor ?? DEFAULT_OVERPROVISIONING_FACTOR;
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`${service}: overprovisioning factor must be an integer >= 1`);
  const cla: ClusterLoadAssignment = {
    cluster_name: service,
    endpoints: localities,
    policy: { overprovisioning_factor: u32(factor) },
  };
  if (opts.endpointStaleAfterMs !== undefined) {
    if (opts.endpointStaleAfterMs <= 0) throw new Error(`${service}: endpointStaleAfterMs must be > 0`);
    cla.policy!.endpoint_stale_after = durationMs(opts.endpointStaleAfterMs);
  }
  return cla;
}
