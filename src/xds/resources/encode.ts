/**
 * Deterministic protobuf encoding of the builders' plain objects.
 *
 * protobufjs writes fields in field-number order, but it writes a scalar that
 * was explicitly set to its proto3 default, and it writes map entries in key
 * insertion order. `canonicalize` removes both sources of variance: default
 * scalars outside a oneof are dropped and map keys are sorted, so the same
 * logical message always gives the same bytes.
 */
import * as protobuf from 'protobufjs';
import { envoyRoot, TYPE_URL, type ResourceKind } from '../protos';
import type { Any } from '../generated/google/protobuf/Any';
import type { Duration } from '../generated/google/protobuf/Duration';
import { encodeClusterLoadAssignmentFast } from './endpoint-encode';

const TYPE_PREFIX = 'type.googleapis.com/';

/** Full protobuf type name of each resource kind (no leading dot). */
export const RESOURCE_TYPE_NAME: Record<ResourceKind, string> = {
  listener: TYPE_URL.listener.slice(TYPE_PREFIX.length),
  route: TYPE_URL.route.slice(TYPE_PREFIX.length),
  cluster: TYPE_URL.cluster.slice(TYPE_PREFIX.length),
  endpoint: TYPE_URL.endpoint.slice(TYPE_PREFIX.length),
};

function lookup(typeName: string): protobuf.Type {
  return envoyRoot().lookupType(typeName.replace(/^\./, ''));
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function isDefaultScalar(field: protobuf.Field, v: unknown): boolean {
  if (field.resolvedType instanceof protobuf.Enum) return v === 0;
  switch (field.type) {
    case 'string':
      return v === '';
    case 'bool':
      return v === false;
    case 'bytes':
      return (v as Uint8Array).length === 0;
    default:
      return Number(v as number) === 0 && !Object.is(v, -0);
  }
}

function canonicalValue(field: protobuf.Field, v: unknown, path: string): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return canonicalize(rt, v as Record<string, unknown>, path);
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'number') return v;
    const n = rt.values[v as string];
    if (n === undefined) throw new Error(`${path}: unknown ${rt.fullName} value ${String(v)}`);
    return n;
  }
  if (field.type === 'bytes' && typeof v === 'string') return Buffer.from(v, 'base64');
  return v;
}

/**
 * A copy of `obj` fit for Type.fromObject: enum names become numbers, proto3
 * default scalars outside oneofs are dropped, map keys are sorted. Keys that are
 * not fields (the generated types' oneof discriminators) are ignored; anything
 * else unknown throws, so a typo in a builder fails loudly.
 */
export function canonicalize(type: protobuf.Type, obj: Record<string, unknown>, path = type.name): Record<string, unknown> {
  if (type.fullName === '.google.protobuf.Any') {
    const a = obj as { type_url?: string; value?: Uint8Array | string };
    if (!a.type_url) throw new Error(`${path}: Any without type_url`);
    const value = typeof a.value === 'string' ? Buffer.from(a.value, 'base64') : Buffer.from(a.value ?? []);
    return { type_url: a.type_url, value };
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    // protobufjs' bundled google/protobuf types (Struct's Value) use camelCase names; the generated types use snake_case.
    const field = type.fields[key] ?? type.fields[camel(key)];
    if (!field) {
      if (type.oneofs && key in type.oneofs) continue;
      throw new Error(`${path}: ${type.fullName} has no field ${key}`);
    }
    if (v === undefined || v === null) continue;
    field.resolve();
    const fpath = `${path}.${key}`;
    if (field instanceof protobuf.MapField) {
      const m = v as Record<string, unknown>;
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(m).sort()) sorted[k] = canonicalValue(field, m[k], `${fpath}[${k}]`);
      if (Object.keys(sorted).length > 0) out[field.name] = sorted;
    } else if (field.repeated) {
      const arr = (v as unknown[]).map((e, i) => canonicalValue(field, e, `${fpath}[${i}]`));
      if (arr.length > 0) out[field.name] = arr;
    } else {
      const cv = canonicalValue(field, v, fpath);
      const hasPresence = field.partOf !== null || field.resolvedType instanceof protobuf.Type;
      if (!hasPresence && isDefaultScalar(field, cv)) continue;
      out[field.name] = cv;
    }
  }
  return out;
}

/** Encodes a message given as a plain (generated-type) object, deterministically. */
export function encodeMessage(typeName: string, message: object): Buffer {
  const type = lookup(typeName);
  const canonical = canonicalize(type, message as Record<string, unknown>);
  const err = type.verify(canonical);
  if (err) throw new Error(`${typeName}: ${err}`);
  return Buffer.from(type.encode(type.fromObject(canonical)).finish());
}

/** google.protobuf.Any holding `message` encoded as `typeName` (e.g. 'envoy.extensions.filters.http.router.v3.Router'). */
export function packAny(typeName: string, message: object): Any {
  const name = typeName.replace(/^\./, '');
  return { type_url: TYPE_PREFIX + name, value: encodeMessage(name, message) };
}

/** Encodes a Listener / RouteConfiguration / Cluster / ClusterLoadAssignment to protobuf bytes. */
export function encodeResource(kind: ResourceKind, message: object): Buffer {
  // ClusterLoadAssignments (one per service per view, re-encoded on every change) take a direct path: the same bytes.
  if (kind === 'endpoint') {
    const fast = encodeClusterLoadAssignmentFast(message);
    if (fast) return fast;
  }
  return encodeMessage(RESOURCE_TYPE_NAME[kind], message);
}

/** google.protobuf.Duration from milliseconds (non-negative integer ms). */
export function durationMs(ms: number): Duration {
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`duration must be a non-negative integer of ms, got ${ms}`);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export function u32(value: number): { value: number } {
  return { value };
}
