/**
 * Strict proto3 JSON -> protobufjs plain object, walking the Type descriptor.
 * protobufjs' fromObject ignores unknown keys and coerces types; this rejects
 * unknown fields, wrong JSON types, out-of-range numbers, unknown enum names,
 * several members of one oneof, and Any types that do not resolve. Accepts
 * both the original and the lowerCamelCase field names, well-known types in
 * their JSON forms (Duration "5s", wrappers as plain values, Struct as JSON,
 * Any with "@type", Timestamp RFC 3339, FieldMask string), null as "unset".
 */
import * as protobuf from 'protobufjs';
import { envoyRoot } from '../../../src/xds/protos';
import { resolveTypeUrl } from '../../../src/xds/strict-decode';

type J = unknown;
type Obj = Record<string, unknown>;

export function jsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()).replace(/_/g, '');
}

const INT_RANGE: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647],
  sint32: [-2147483648, 2147483647],
  sfixed32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  fixed32: [0, 4294967295],
};
const INT64 = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const UNSIGNED64 = new Set(['uint64', 'fixed64']);
const WRAPPER: Record<string, string> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};
/** Well-known types whose JSON is not an object of fields (Any embeds them under "value"). */
const SPECIAL_JSON = new Set([
  ...Object.keys(WRAPPER),
  '.google.protobuf.Duration',
  '.google.protobuf.Timestamp',
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
  '.google.protobuf.FieldMask',
  '.google.protobuf.Any',
]);

export class StrictJson {
  readonly errors: string[] = [];

  private err(path: string, msg: string): undefined {
    this.errors.push(`${path}: ${msg}`);
    return undefined;
  }

  private jsType(v: J): string {
    return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  }

  scalar(type: string, v: J, path: string): unknown {
    if (type in INT_RANGE || INT64.has(type)) {
      let n: number | bigint;
      if (typeof v === 'number') {
        if (!Number.isInteger(v)) return this.err(path, `${type} must be an integer, got ${v}`);
        n = v;
      } else if (typeof v === 'string' && /^-?\d+$/.test(v)) {
        n = INT64.has(type) ? BigInt(v) : Number(v);
      } else return this.err(path, `${type} expects a number, got ${this.jsType(v)}`);
      if (type in INT_RANGE) {
        const [lo, hi] = INT_RANGE[type];
        if (Number(n) < lo || Number(n) > hi) return this.err(path, `${String(n)} out of ${type} range`);
        return Number(n);
      }
      const b = BigInt(n);
      if (UNSIGNED64.has(type) ? b < 0n || b >= 2n ** 64n : b < -(2n ** 63n) || b >= 2n ** 63n) return this.err(path, `${b} out of ${type} range`);
      return b.toString();
    }
    switch (type) {
      case 'double':
      case 'float':
        if (typeof v === 'number') return v;
        if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
        if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
        return this.err(path, `${type} expects a number, got ${this.jsType(v)}`);
      case 'bool':
        return typeof v === 'boolean' ? v : this.err(path, `bool expects true or false, got ${this.jsType(v)}`);
      case 'string':
        return typeof v === 'string' ? v : this.err(path, `string expected, got ${this.jsType(v)}`);
      case 'bytes':
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) return this.err(path, 'bytes expects a base64 string');
        return Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    }
    return this.err(path, `unsupported scalar type ${type}`);
  }

  private enumValue(e: protobuf.Enum, v: J, path: string): number | undefined {
    if (typeof v === 'string') {
      if (v in e.values) return e.values[v];
      return this.err(path, `unknown ${e.name} value ${JSON.stringify(v)} (one of ${Object.keys(e.values).join(', ')})`);
    }
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    return this.err(path, `enum ${e.name} expects a name, got ${this.jsType(v)}`);
  }

  private duration(v: J, path: string): Obj | undefined {
    const m = typeof v === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v) : null;
    if (!m) return this.err(path, `Duration expects a string like "5s" or "0.250s", got ${JSON.stringify(v)}`);
    const seconds = Number(m[2]);
    if (seconds > 315_576_000_000) return this.err(path, 'Duration out of range');
    const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
    const sign = m[1] ? -1 : 1;
    return { seconds: sign * seconds, nanos: sign * nanos };
  }

  /** google.protobuf.Value's field name as the loaded Type spells it (protobufjs bundles it in camelCase). */
  private vk(name: string): string {
    const t = envoyRoot().lookupType('google.protobuf.Value');
    return t.fields[name] ? name : jsonName(name);
  }

  private value(v: J, path: string): Obj | undefined {
    if (v === null) return { [this.vk('null_value')]: 0 };
    if (typeof v === 'number') return { [this.vk('number_value')]: v };
    if (typeof v === 'string') return { [this.vk('string_value')]: v };
    if (typeof v === 'boolean') return { [this.vk('bool_value')]: v };
    if (Array.isArray(v)) return { [this.vk('list_value')]: { values: v.map((x, i) => this.value(x, `${path}[${i}]`)) } };
    if (typeof v === 'object') return { [this.vk('struct_value')]: this.struct(v, path) };
    return this.err(path, `not a JSON value`);
  }

  private struct(v: J, path: string): Obj | undefined {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return this.err(path, `Struct expects an object, got ${this.jsType(v)}`);
    const fields: Obj = {};
    for (const [k, x] of Object.entries(v)) fields[k] = this.value(x, `${path}.${k}`);
    return { fields };
  }

  private any(v: J, path: string): Obj | undefined {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return this.err(path, `Any expects an object, got ${this.jsType(v)}`);
    const o = v as Obj;
    const url = o['@type'];
    if (typeof url !== 'string' || !url) return this.err(path, 'Any needs "@type"');
    const inner = resolveTypeUrl(url);
    if (!inner) return this.err(path, `Any of unknown type ${url}`);
    const rest: Obj = {};
    for (const [k, x] of Object.entries(o)) if (k !== '@type') rest[k] = x;
    let msg: Obj | undefined;
    if (SPECIAL_JSON.has(inner.fullName)) {
      const keys = Object.keys(rest);
      if (keys.some((k) => k !== 'value')) return this.err(path, `Any of ${inner.name} takes only "value"`);
      msg = this.message(inner, rest.value, `${path}<${inner.name}>`);
    } else msg = this.message(inner, rest, `${path}<${inner.name}>`);
    if (!msg) return undefined;
    return { type_url: url, value: Buffer.from(inner.encode(inner.fromObject(msg)).finish()) };
  }

  /** Converts JSON `v` into a fromObject-ready object for `type`, or undefined (errors recorded). */
  message(type: protobuf.Type, v: J, path: string): Obj | undefined {
    const full = type.fullName;
    if (full in WRAPPER) {
      const x = this.scalar(WRAPPER[full], v, path);
      return x === undefined ? undefined : { value: x };
    }
    switch (full) {
      case '.google.protobuf.Duration':
        return this.duration(v, path);
      case '.google.protobuf.Struct':
        return this.struct(v, path);
      case '.google.protobuf.Value':
        return this.value(v, path);
      case '.google.protobuf.ListValue':
        return Array.isArray(v) ? { values: v.map((x, i) => this.value(x, `${path}[${i}]`)) } : this.err(path, 'ListValue expects an array');
      case '.google.protobuf.Any':
        return this.any(v, path);
      case '.google.protobuf.Timestamp': {
        const ms = typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(v) ? Date.parse(v) : NaN;
        if (Number.isNaN(ms)) return this.err(path, 'Timestamp expects an RFC 3339 string');
        return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
      }
      case '.google.protobuf.FieldMask':
        return typeof v === 'string' ? { paths: v ? v.split(',') : [] } : this.err(path, 'FieldMask expects a string');
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) return this.err(path, `${type.name} expects an object, got ${this.jsType(v)}`);
    const out: Obj = {};
    const byJson = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) {
      byJson.set(f.name, f);
      byJson.set(jsonName(f.name), f);
    }
    const oneofSeen = new Map<string, string>();
    for (const [key, raw] of Object.entries(v as Obj)) {
      const field = byJson.get(key);
      const fpath = `${path}.${key}`;
      if (!field) {
        this.err(fpath, `unknown field in ${full.slice(1)}`);
        continue;
      }
      if (field.name in out) {
        this.err(fpath, `field ${field.name} given twice`);
        continue;
      }
      if (raw === null && field.resolvedType?.fullName !== '.google.protobuf.Value') continue;
      field.resolve();
      if (field.partOf && !field.partOf.name.startsWith('_')) {
        const prev = oneofSeen.get(field.partOf.name);
        if (prev) this.err(fpath, `oneof ${field.partOf.name} already set by ${prev}`);
        oneofSeen.set(field.partOf.name, key);
      }
      const conv = this.fieldValue(field, raw, fpath);
      if (conv !== undefined) out[field.name] = conv;
    }
    return out;
  }

  private single(field: protobuf.Field, v: J, path: string): unknown {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type) return this.message(rt, v, path);
    if (rt instanceof protobuf.Enum) return this.enumValue(rt, v, path);
    return this.scalar(field.type, v, path);
  }

  private fieldValue(field: protobuf.Field, v: J, path: string): unknown {
    if (field instanceof protobuf.MapField) {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return this.err(path, `map expects an object, got ${this.jsType(v)}`);
      const out: Obj = {};
      for (const [k, x] of Object.entries(v as Obj)) {
        if (field.keyType !== 'string') {
          const key = field.keyType === 'bool' ? (k === 'true' || k === 'false' ? k : undefined) : this.scalar(field.keyType, k, `${path}[${k}]`);
          if (key === undefined) continue;
        }
        const conv = this.single(field, x, `${path}[${k}]`);
        if (conv !== undefined) out[k] = conv;
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(v)) return this.err(path, `repeated field expects an array, got ${this.jsType(v)}`);
      return v.map((x, i) => this.single(field, x, `${path}[${i}]`)).filter((x) => x !== undefined);
    }
    return this.single(field, v, path);
  }
}
