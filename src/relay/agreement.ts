/**
 * Whether two snapshots of a view route the same way: same resources of every
 * type, and in every ClusterLoadAssignment the same endpoints with the same
 * priority and health (weights may differ). A relay coming back from a
 * partition switches a view to the global tier's snapshot once they agree, so
 * proxies do not see an endpoint go back and forth while the global tier
 * catches up.
 */
import { envoyType, RESOURCE_KINDS } from '../xds/protos';
import type { Snapshot } from '../xds/snapshot';

interface Cla {
  endpoints?: Array<{
    priority?: number;
    lb_endpoints?: Array<{ health_status?: string; endpoint?: { address?: { socket_address?: { address?: string; port_value?: number } } } }>;
  }>;
}

const structureCache = new WeakMap<Buffer, string>();

function claStructure(bytes: Buffer): string {
  const cached = structureCache.get(bytes);
  if (cached !== undefined) return cached;
  const t = envoyType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  const cla = t.toObject(t.decode(bytes), { enums: String, defaults: true }) as Cla;
  const rows: string[] = [];
  for (const l of cla.endpoints ?? []) {
    for (const e of l.lb_endpoints ?? []) {
      const sa = e.endpoint?.address?.socket_address;
      rows.push(`${sa?.address}:${sa?.port_value}|${l.priority ?? 0}|${e.health_status ?? 'UNKNOWN'}`);
    }
  }
  const out = rows.sort().join(',');
  structureCache.set(bytes, out);
  return out;
}

export function routesAlike(a: Snapshot, b: Snapshot): boolean {
  for (const kind of RESOURCE_KINDS) {
    const x = a[kind].resources;
    const y = b[kind].resources;
    if (x.size !== y.size) return false;
    for (const [name, r] of x) {
      const o = y.get(name);
      if (!o) return false;
      if (kind === 'endpoint' && o.version !== r.version && claStructure(r.bytes) !== claStructure(o.bytes)) return false;
    }
  }
  return true;
}
