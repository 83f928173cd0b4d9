/**
 * The fleet simulator's wire: requests hand-encoded with a protobufjs Writer,
 * responses read with a Reader for only what a simulated proxy needs (type,
 * versions, nonce, resource names, and the raw bytes of each resource, as
 * subarrays — never a full decode on the hot path).
 */
import { Reader, Writer } from 'protobufjs';
import { envoyType, kindOfTypeUrl, type ResourceKind } from '../../src/xds/protos';

export interface FleetNode {
  id: string;
  userAgent: string;
  region: string;
  zone: string;
}

export interface ParsedResource {
  name: string;
  /** Delta Resource.version; '' in SotW. */
  version: string;
  /** The resource message bytes (Any.value), a view into the response. */
  bytes: Uint8Array;
}

export interface ParsedResponse {
  kind: ResourceKind | undefined;
  version: string;
  nonce: string;
  resources: ParsedResource[];
  removed: string[];
  size: number;
}

function nodeBytes(n: FleetNode): Uint8Array {
  const loc = Writer.create()
    .uint32((1 << 3) | 2)
    .string(n.region)
    .uint32((2 << 3) | 2)
    .string(n.zone)
    .finish();
  return Writer.create()
    .uint32((1 << 3) | 2)
    .string(n.id)
    .uint32((2 << 3) | 2)
    .string('fleet')
    .uint32((4 << 3) | 2)
    .bytes(loc)
    .uint32((6 << 3) | 2)
    .string(n.userAgent)
    .finish();
}

function str(w: Writer, field: number, v: string): void {
  if (v) w.uint32((field << 3) | 2).string(v);
}

/**
 * The encoded resource_names of a name list, cached by the list's identity:
 * a proxy repeats its (shared) list in every ACK, as Envoy does, and encoding
 * 200 names per ACK would make the simulator, not the server, the cost.
 */
const encodedNames = new WeakMap<readonly string[], Buffer>();
function namesField(names: readonly string[]): Buffer {
  let b = encodedNames.get(names);
  if (!b) {
    const w = Writer.create();
    for (const n of names) w.uint32((3 << 3) | 2).string(n);
    encodedNames.set(names, (b = Buffer.from(w.finish())));
  }
  return b;
}

/** SotW DiscoveryRequest. `node` only on the stream's first request. */
export function sotwRequest(node: FleetNode | null, typeUrl: string, names: readonly string[], version: string, nonce: string): Buffer {
  const head = Writer.create();
  str(head, 1, version);
  if (node) head.uint32((2 << 3) | 2).bytes(nodeBytes(node));
  const tail = Writer.create();
  str(tail, 4, typeUrl);
  str(tail, 5, nonce);
  return Buffer.concat([head.finish(), namesField(names), tail.finish()]);
}

/** DeltaDiscoveryRequest. */
export function deltaRequest(node: FleetNode | null, typeUrl: string, subscribe: readonly string[], nonce: string): Buffer {
  const w = Writer.create();
  if (node) w.uint32((1 << 3) | 2).bytes(nodeBytes(node));
  str(w, 2, typeUrl);
  for (const n of subscribe) w.uint32((3 << 3) | 2).string(n);
  str(w, 6, nonce);
  return Buffer.from(w.finish());
}

function readAny(bytes: Uint8Array): { typeUrl: string; value: Uint8Array } {
  const r = Reader.create(bytes);
  let typeUrl = '';
  let value: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) typeUrl = r.string();
    else if (tag >>> 3 === 2) value = r.bytes();
    else r.skipType(tag & 7);
  }
  return { typeUrl, value };
}

/** Field 1 (name / cluster_name) of a Cluster, Listener, RouteConfiguration or ClusterLoadAssignment. */
export function resourceName(bytes: Uint8Array): string {
  const r = Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) return r.string();
    r.skipType(tag & 7);
  }
  return '';
}

/** SotW DiscoveryResponse or DeltaDiscoveryResponse, names and bytes only. */
export function parseResponse(buf: Uint8Array, delta: boolean): ParsedResponse {
  const r = Reader.create(buf);
  const out: ParsedResponse = { kind: undefined, version: '', nonce: '', resources: [], removed: [], size: buf.length };
  let typeUrl = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    const f = tag >>> 3;
    if (f === 1) out.version = r.string();
    else if (f === 2) {
      const b = r.bytes();
      if (delta) {
        const rr = Reader.create(b);
        let name = '';
        let version = '';
        let value: Uint8Array = new Uint8Array(0);
        while (rr.pos < rr.len) {
          const t = rr.uint32();
          if (t >>> 3 === 1) version = rr.string();
          else if (t >>> 3 === 2) value = readAny(rr.bytes()).value;
          else if (t >>> 3 === 3) name = rr.string();
          else rr.skipType(t & 7);
        }
        out.resources.push({ name, version, bytes: value });
      } else {
        const value = readAny(b).value;
        out.resources.push({ name: resourceName(value), version: '', bytes: value });
      }
    } else if (f === 4) typeUrl = r.string();
    else if (f === 5) out.nonce = r.string();
    else if (f === 6 && delta) out.removed.push(r.string());
    else r.skipType(tag & 7);
  }
  out.kind = kindOfTypeUrl(typeUrl);
  return out;
}

/**
 * The envelope of a response without decoding its resources: type, versions,
 * nonce, removed names, and where the nonce field is (so that the rest of the
 * bytes can key a cache of parsed resources: the same bytes, the same parse).
 */
export interface Envelope {
  kind: ResourceKind | undefined;
  version: string;
  nonce: string;
  removed: string[];
  resources: number;
  size: number;
  nonceStart: number;
  nonceEnd: number;
}

export function parseEnvelope(buf: Uint8Array, delta: boolean): Envelope {
  const r = Reader.create(buf);
  const out: Envelope = { kind: undefined, version: '', nonce: '', removed: [], resources: 0, size: buf.length, nonceStart: 0, nonceEnd: 0 };
  let typeUrl = '';
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const f = tag >>> 3;
    if (f === 1) out.version = r.string();
    else if (f === 2) {
      out.resources++;
      r.skipType(tag & 7);
    } else if (f === 4) typeUrl = r.string();
    else if (f === 5) {
      out.nonceStart = start;
      out.nonce = r.string();
      out.nonceEnd = r.pos;
    } else if (f === 6 && delta) out.removed.push(r.string());
    else r.skipType(tag & 7);
  }
  out.kind = kindOfTypeUrl(typeUrl);
  return out;
}

type Json = Record<string, unknown>;
const OBJ = { longs: String, enums: String, defaults: false, arrays: true } as const;

/** The route configuration names a Listener refers to through RDS (full decode: listeners are few and cached by the caller). */
export function rdsNamesOfListener(bytes: Uint8Array): string[] {
  const lt = envoyType('envoy.config.listener.v3.Listener');
  const hcmT = envoyType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  const l = lt.toObject(lt.decode(bytes), OBJ) as Json;
  const hcms: Uint8Array[] = [];
  const api = l.api_listener as Json | undefined;
  if (api?.api_listener) hcms.push((api.api_listener as { value: Uint8Array }).value);
  for (const fc of (l.filter_chains as Json[] | undefined) ?? []) {
    for (const f of (fc.filters as Json[] | undefined) ?? []) {
      const tc = f.typed_config as { type_url: string; value: Uint8Array } | undefined;
      if (tc && tc.type_url.endsWith('HttpConnectionManager')) hcms.push(tc.value);
    }
  }
  const names: string[] = [];
  for (const b of hcms) {
    const h = hcmT.toObject(hcmT.decode(b), OBJ) as Json;
    const name = (h.rds as Json | undefined)?.route_config_name;
    if (typeof name === 'string' && name) names.push(name);
  }
  return names;
}

/** Endpoint addresses of a ClusterLoadAssignment (full decode; used by checks, not on the hot path). */
export function claSummary(bytes: Uint8Array): { cluster: string; endpoints: Array<{ address: string; weight: number; health: string }> } {
  const t = envoyType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  const c = t.toObject(t.decode(bytes), OBJ) as Json;
  const endpoints: Array<{ address: string; weight: number; health: string }> = [];
  for (const le of (c.endpoints as Json[] | undefined) ?? []) {
    for (const lb of (le.lb_endpoints as Json[] | undefined) ?? []) {
      const sa = ((lb.endpoint as Json | undefined)?.address as Json | undefined)?.socket_address as Json | undefined;
      endpoints.push({
        address: String(sa?.address ?? ''),
        weight: Number((lb.load_balancing_weight as Json | undefined)?.value ?? 0),
        health: String(lb.health_status ?? 'UNKNOWN'),
      });
    }
  }
  return { cluster: String(c.cluster_name ?? ''), endpoints };
}
