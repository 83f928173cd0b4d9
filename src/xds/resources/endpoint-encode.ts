/**
 * A direct encoder for the ClusterLoadAssignments buildClusterLoadAssignment
 * makes: the hot resource (one per service per view, re-encoded on every
 * change). It writes the same bytes as the generic deterministic encoder
 * (encodeMessage: canonicalize, verify, fromObject, encode: fields in number
 * order, proto3 default scalars dropped, message fields present even when
 * empty) without reflection over the message types; any field outside that
 * shape returns null and the caller uses the generic encoder.
 */
import { Writer } from 'protobufjs';
import { envoyRoot } from '../protos';

type Obj = Record<string, unknown>;

let healthValues: Record<string, number> | null = null;
function healthNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isInteger(v) ? v : null;
  healthValues ??= envoyRoot().lookupEnum('envoy.config.core.v3.HealthStatus').values;
  const n = typeof v === 'string' ? healthValues[v] : undefined;
  return n === undefined ? null : n;
}

function onlyKeys(o: unknown, allowed: readonly string[]): o is Obj {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return false;
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) return false;
  }
  return true;
}

const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const present = (v: unknown): boolean => v !== undefined && v !== null;

function str(w: Writer, field: number, v: unknown): boolean {
  if (!present(v)) return true;
  if (typeof v !== 'string') return false;
  if (v !== '') w.uint32((field << 3) | 2).string(v);
  return true;
}

/** google.protobuf.UInt32Value as field `field`. */
function u32Value(w: Writer, field: number, v: unknown): boolean {
  if (!present(v)) return true;
  if (!onlyKeys(v, ['value'])) return false;
  const x = v.value ?? 0;
  if (!isU32(x)) return false;
  w.uint32((field << 3) | 2).fork();
  if (x !== 0) w.uint32(8).uint32(x);
  w.ldelim();
  return true;
}

function lbEndpoint(w: Writer, e: unknown): boolean {
  if (!onlyKeys(e, ['endpoint', 'health_status', 'load_balancing_weight'])) return false;
  // endpoint = 1: Endpoint { address = 1: Address { socket_address = 1: SocketAddress { address = 2, port_value = 3 } }, hostname = 3 }
  if (present(e.endpoint)) {
    const ep = e.endpoint;
    if (!onlyKeys(ep, ['address', 'hostname'])) return false;
    w.uint32((1 << 3) | 2).fork();
    if (present(ep.address)) {
      const a = ep.address;
      if (!onlyKeys(a, ['socket_address'])) return false;
      w.uint32((1 << 3) | 2).fork();
      if (present(a.socket_address)) {
        const sa = a.socket_address;
        if (!onlyKeys(sa, ['address', 'port_value'])) return false;
        w.uint32((1 << 3) | 2).fork();
        if (!str(w, 2, sa.address)) return false;
        if (present(sa.port_value)) {
          if (!isU32(sa.port_value)) return false;
          w.uint32(3 << 3).uint32(sa.port_value); // oneof member: written even when 0
        }
        w.ldelim();
      }
      w.ldelim();
    }
    if (!str(w, 3, ep.hostname)) return false;
    w.ldelim();
  }
  if (present(e.health_status)) {
    const h = healthNumber(e.health_status);
    if (h === null) return false;
    if (h !== 0) w.uint32(2 << 3).int32(h);
  }
  return u32Value(w, 4, e.load_balancing_weight);
}

function localityLbEndpoints(w: Writer, l: unknown): boolean {
  if (!onlyKeys(l, ['locality', 'lb_endpoints', 'load_balancing_weight', 'priority'])) return false;
  if (present(l.locality)) {
    const loc = l.locality;
    if (!onlyKeys(loc, ['region', 'zone', 'sub_zone'])) return false;
    w.uint32((1 << 3) | 2).fork();
    if (!str(w, 1, loc.region) || !str(w, 2, loc.zone) || !str(w, 3, loc.sub_zone)) return false;
    w.ldelim();
  }
  if (present(l.lb_endpoints)) {
    if (!Array.isArray(l.lb_endpoints)) return false;
    for (const e of l.lb_endpoints) {
      w.uint32((2 << 3) | 2).fork();
      if (!lbEndpoint(w, e)) return false;
      w.ldelim();
    }
  }
  if (!u32Value(w, 3, l.load_balancing_weight)) return false;
  if (present(l.priority)) {
    if (!isU32(l.priority)) return false;
    if (l.priority !== 0) w.uint32(5 << 3).uint32(l.priority);
  }
  return true;
}

function policy(w: Writer, p: unknown): boolean {
  if (!onlyKeys(p, ['overprovisioning_factor', 'endpoint_stale_after'])) return false;
  w.uint32((4 << 3) | 2).fork();
  if (!u32Value(w, 3, p.overprovisioning_factor)) return false;
  if (present(p.endpoint_stale_after)) {
    const d = p.endpoint_stale_after;
    if (!onlyKeys(d, ['seconds', 'nanos'])) return false;
    const s = d.seconds ?? 0;
    const n = d.nanos ?? 0;
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0 || typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 999_999_999) return false;
    w.uint32((4 << 3) | 2).fork();
    if (s !== 0) w.uint32(1 << 3).int64(s);
    if (n !== 0) w.uint32(2 << 3).int32(n);
    w.ldelim();
  }
  w.ldelim();
  return true;
}

/** The bytes of a ClusterLoadAssignment of the builder's shape, or null (use the generic encoder). */
export function encodeClusterLoadAssignmentFast(cla: object): Buffer | null {
  if (!onlyKeys(cla, ['cluster_name', 'endpoints', 'policy'])) return null;
  const w = Writer.create();
  if (!str(w, 1, cla.cluster_name)) return null;
  if (present(cla.endpoints)) {
    if (!Array.isArray(cla.endpoints)) return null;
    for (const l of cla.endpoints) {
      w.uint32((2 << 3) | 2).fork();
      if (!localityLbEndpoints(w, l)) return null;
      w.ldelim();
    }
  }
  if (present(cla.policy) && !policy(w, cla.policy)) return null;
  const out = w.finish();
  return Buffer.isBuffer(out) ? out : Buffer.from(out);
}
