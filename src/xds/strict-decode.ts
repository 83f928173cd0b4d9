/**
 * Strict protobuf decoding. protobufjs skips unknown fields silently; this walks
 * the wire format against the Type descriptor first and fails on any field
 * number the type does not declare, on any wire-type mismatch, on groups, on
 * invalid UTF-8 in strings, and on google.protobuf.Any whose type_url does not
 * resolve in envoyRoot() (Any payloads are walked recursively).
 */
import * as protobuf from 'protobufjs';
import { envoyRoot } from './protos';

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class StrictDecodeError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'StrictDecodeError';
  }
}

/** Resolves 'type.googleapis.com/a.b.C' (or 'a.b.C') to a Type of envoyRoot(), or undefined. */
export function resolveTypeUrl(typeUrl: string): protobuf.Type | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  if (!name) return undefined;
  try {
    const t = envoyRoot().lookup(name.startsWith('.') ? name : `.${name}`);
    return t instanceof protobuf.Type ? t : undefined;
  } catch {
    return undefined;
  }
}

function expectedWireType(type: string, resolved: protobuf.Type | protobuf.Enum | null): number {
  if (resolved instanceof protobuf.Type) return WT_LEN;
  if (resolved instanceof protobuf.Enum) return WT_VARINT;
  const wt = (protobuf.types.basic as Record<string, number | undefined>)[type];
  if (wt === undefined) throw new Error(`unsupported field type ${type}`);
  return wt;
}

function skipScalar(r: protobuf.Reader, wt: number): void {
  switch (wt) {
    case WT_VARINT:
      r.uint64();
      return;
    case WT_I64:
      r.skip(8);
      return;
    case WT_I32:
      r.skip(4);
      return;
    default:
      throw new Error(`bad scalar wire type ${wt}`);
  }
}

function checkValue(r: protobuf.Reader, wt: number, type: string, resolved: protobuf.Type | protobuf.Enum | null, repeated: boolean, path: string): Uint8Array | undefined {
  const expected = expectedWireType(type, resolved);
  const packable = repeated && (protobuf.types.packed as Record<string, number | undefined>)[type] !== undefined;
  if (packable && wt === WT_LEN && expected !== WT_LEN) {
    const bytes = r.bytes();
    const sub = protobuf.Reader.create(bytes);
    while (sub.pos < sub.len) skipScalar(sub, expected);
    if (sub.pos !== sub.len) throw new StrictDecodeError(path, 'packed field overruns its length');
    return undefined;
  }
  if (wt !== expected) throw new StrictDecodeError(path, `wire type ${wt} where ${type} needs ${expected}`);
  if (resolved instanceof protobuf.Type) {
    walk(resolved, r.bytes(), path);
    return undefined;
  }
  if (type === 'string') {
    const bytes = r.bytes();
    try {
      utf8.decode(bytes);
    } catch {
      throw new StrictDecodeError(path, 'string is not valid UTF-8');
    }
    return bytes;
  }
  if (type === 'bytes') return r.bytes();
  skipScalar(r, wt);
  return undefined;
}

function walkMapEntry(field: protobuf.MapField, bytes: Uint8Array, path: string): void {
  const r = protobuf.Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 1) checkValue(r, wt, field.keyType, null, false, `${path}.key`);
    else if (no === 2) checkValue(r, wt, field.type, field.resolvedType, false, `${path}.value`);
    else throw new StrictDecodeError(path, `unknown map entry field ${no} (wire type ${wt})`);
  }
}

/** Walks `bytes` as a `type` message; throws StrictDecodeError on the first problem. */
export function walk(type: protobuf.Type, bytes: Uint8Array, path: string = type.name): void {
  const r = protobuf.Reader.create(bytes);
  const isAny = type.fullName === '.google.protobuf.Any';
  let typeUrl = '';
  let anyValue: Uint8Array = new Uint8Array(0);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      const no = tag >>> 3;
      const wt = tag & 7;
      if (no === 0) throw new StrictDecodeError(path, 'field number 0');
      if (wt === 3 || wt === 4) throw new StrictDecodeError(path, `group (wire type ${wt}) in field ${no}`);
      const field = type.fieldsById[no];
      if (!field) throw new StrictDecodeError(path, `unknown field ${no} (wire type ${wt}) in ${type.fullName.slice(1)}`);
      field.resolve();
      const fpath = `${path}.${field.name}`;
      if (field instanceof protobuf.MapField) {
        if (wt !== WT_LEN) throw new StrictDecodeError(fpath, `map entry with wire type ${wt}`);
        walkMapEntry(field, r.bytes(), fpath);
        continue;
      }
      const raw = checkValue(r, wt, field.type, field.resolvedType, field.repeated, fpath);
      if (isAny && raw) {
        if (no === 1) typeUrl = Buffer.from(raw).toString('utf8');
        if (no === 2) anyValue = raw;
      }
    }
  } catch (e) {
    if (e instanceof StrictDecodeError) throw e;
    throw new StrictDecodeError(path, `malformed: ${(e as Error).message}`);
  }
  if (isAny) {
    if (!typeUrl) {
      if (anyValue.length > 0) throw new StrictDecodeError(path, 'Any with a value but no type_url');
      return;
    }
    const inner = resolveTypeUrl(typeUrl);
    if (!inner) throw new StrictDecodeError(path, `Any of unknown type ${typeUrl}`);
    walk(inner, anyValue, `${path}<${inner.name}>`);
  }
}

/** Options giving the proto3-JSON-like shape used by the config dump. */
export const DUMP_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  defaults: false,
  json: true,
};

/**
 * Decodes `bytes` as `typeName` (e.g. 'envoy.config.cluster.v3.Cluster', or a type URL),
 * failing on anything protobufjs would silently skip; returns the message as
 * a JSON-ready object (Any expanded with '@type').
 */
export function decodeStrict(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = envoyRoot().lookupType(typeName.slice(typeName.lastIndexOf('/') + 1).replace(/^\./, ''));
  walk(type, bytes);
  return type.toObject(type.decode(bytes), DUMP_OPTIONS);
}
