/**
 * A resource encoded once per version. Everything a stream sends is built by
 * concatenating these pre-encoded fields, so a resource is serialized once,
 * however many streams receive it.
 */
import { createHash } from 'node:crypto';
import { TYPE_URL, type ResourceKind } from './protos';

export interface EncodedResource {
  readonly kind: ResourceKind;
  readonly name: string;
  /** Content hash of the resource bytes: equal bytes, equal version (across restarts and tiers). */
  readonly version: string;
  /** The serialized resource message. */
  readonly bytes: Buffer;
  /** `repeated google.protobuf.Any resources = 2` of a DiscoveryResponse, tag included. */
  readonly sotwField: Buffer;
  /** `repeated Resource resources = 2` of a DeltaDiscoveryResponse, tag included. */
  readonly deltaField: Buffer;
}

export function contentHash(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('base64url').slice(0, 16);
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

/** A length-delimited field: tag, length, then `len` bytes written by `body` at the given offset. */
function writeDelimited(buf: Buffer, at: number, field: number, len: number): number {
  buf[at++] = (field << 3) | 2;
  return writeVarint(buf, at, len);
}

const delimitedLength = (len: number): number => 1 + varintLength(len) + len;

/**
 * Wraps already-serialized resource bytes; `version` defaults to their content hash.
 * Both response fields are written directly into one buffer (two views of it):
 *   sotwField  = resources(2): Any { type_url(1), value(2) }
 *   deltaField = resources(2): Resource { version(1), resource(2): Any, name(3) }
 */
export function encodedResource(kind: ResourceKind, name: string, bytes: Buffer, version = contentHash(bytes)): EncodedResource {
  const url = TYPE_URL[kind];
  const urlLen = Buffer.byteLength(url);
  const versionLen = Buffer.byteLength(version);
  const nameLen = Buffer.byteLength(name);
  const anyLen = delimitedLength(urlLen) + delimitedLength(bytes.length);
  const sotwLen = delimitedLength(anyLen);
  const resLen = delimitedLength(versionLen) + delimitedLength(anyLen) + delimitedLength(nameLen);
  const deltaLen = delimitedLength(resLen);
  const buf = Buffer.allocUnsafe(sotwLen + deltaLen);
  const writeAny = (at: number): number => {
    at = writeDelimited(buf, at, 1, urlLen);
    at += buf.write(url, at, 'utf8');
    at = writeDelimited(buf, at, 2, bytes.length);
    return at + bytes.copy(buf, at);
  };
  let at = writeDelimited(buf, 0, 2, anyLen);
  at = writeAny(at);
  at = writeDelimited(buf, at, 2, resLen);
  at = writeDelimited(buf, at, 1, versionLen);
  at += buf.write(version, at, 'utf8');
  at = writeDelimited(buf, at, 2, anyLen);
  at = writeAny(at);
  at = writeDelimited(buf, at, 3, nameLen);
  at += buf.write(name, at, 'utf8');
  if (at !== buf.length) throw new Error(`encodedResource: wrote ${at} of ${buf.length} bytes`);
  return { kind, name, version, bytes, sotwField: buf.subarray(0, sotwLen), deltaField: buf.subarray(sotwLen) };
}
