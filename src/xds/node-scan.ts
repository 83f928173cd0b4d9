/**
 * The Node of an xDS request, read without decoding what the server does not
 * use. A Node may fill a whole request (metadata, extensions, features);
 * decoding it through protobufjs builds every metadata value (55 ms of
 * blocked event loop for 1.8 MB, median) only for the stream to keep five strings.
 * Here the node bytes are cut out of the request, scanned once, and only
 * id, cluster, user_agent_name, locality, the first client_features and the
 * metadata keys the server reads are decoded, strings cut short (limits.ts).
 * The rest of the request is decoded as before.
 */
import { Reader } from 'protobufjs';
import { envoyType } from './protos';
import { XDS_LIMITS } from './limits';
import { NODE_CREDENTIAL_KEY } from '../domain';
import type { EnvoyNode } from './wire';
import type { Value__Output } from './generated/google/protobuf/Value';

const WIRE_LEN = 2;

/**
 * Splits the length-delimited top-level field `fieldNo` out of a message:
 * its bytes (occurrences joined: protobuf merges a repeated message field)
 * and the message without it. Throws when the top level does not parse, or
 * the field is not length-delimited: protobufjs would still decode a node
 * from such bytes, the whole of it, which is what this avoids.
 */
export function splitField(buf: Buffer, fieldNo: number): { field: Buffer | null; rest: Buffer } {
  const r = Reader.create(buf);
  const parts: Buffer[] = [];
  const kept: Buffer[] = [];
  let keptFrom = 0;
  while (r.pos < r.len) {
    const at = r.pos;
    const tag = r.uint32();
    if (tag >>> 3 === 0) throw new Error(`field number 0 at offset ${at}`);
    if (tag >>> 3 !== fieldNo) {
      r.skipType(tag & 7);
      continue;
    }
    if ((tag & 7) !== WIRE_LEN) throw new Error(`field ${fieldNo} (node) has wire type ${tag & 7}, not ${WIRE_LEN}`);
    const len = r.uint32();
    if (r.pos + len > r.len) throw new Error(`field ${fieldNo} (node) runs past the end of the message`);
    parts.push(buf.subarray(r.pos, r.pos + len));
    if (at > keptFrom) kept.push(buf.subarray(keptFrom, at));
    r.pos += len;
    keptFrom = r.pos;
  }
  if (parts.length === 0) return { field: null, rest: buf };
  if (keptFrom < buf.length) kept.push(buf.subarray(keptFrom));
  return { field: parts.length === 1 ? parts[0]! : Buffer.concat(parts), rest: Buffer.concat(kept) };
}

/** Calls `each(field, wireType, reader)` for every field of a message; the callback reads or skips it. */
function fields(bytes: Buffer, each: (field: number, wire: number, r: Reader) => void): void {
  const r = Reader.create(bytes);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const before = r.pos;
    each(tag >>> 3, tag & 7, r);
    if (r.pos === before) r.skipType(tag & 7);
  }
}

/** The bytes of a length-delimited field (the reader moves past them). */
function bytesOf(r: Reader, buf: Buffer): Buffer {
  const len = r.uint32();
  if (r.pos + len > r.len) throw new Error(`field length ${len} runs past the end of the node`);
  const b = buf.subarray(r.pos, r.pos + len);
  r.pos += len;
  return b;
}

/**
 * The first `maxChars` UTF-16 units of a UTF-8 field, decoding at most
 * 4 x maxChars bytes (enough for maxChars units whatever the characters) into
 * a fresh string.
 */
function text(b: Buffer, maxChars: number): string {
  const s = b.toString('utf8', 0, Math.min(b.length, maxChars * 4));
  if (s.length <= maxChars) return s;
  let end = maxChars;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return Buffer.from(s.slice(0, end), 'utf16le').toString('utf16le');
}

export { NODE_CREDENTIAL_KEY };
const METADATA_KEYS = new Set(['lat', 'lon', 'location', NODE_CREDENTIAL_KEY]);
/** A metadata value the server reads is a number, a short string or {lat, lon}: a larger one is left out. */
const MAX_METADATA_VALUE_BYTES = 1024;

/**
 * lat, lon, location and the node credential of a google.protobuf.Struct (later entries win, as
 * in a protobuf map). One reader over the whole Struct: a metadata of
 * 100,000 small entries costs a pass over its bytes, not an object each.
 */
function metadataOf(struct: Buffer): Record<string, Value__Output> {
  const out: Record<string, Value__Output> = {};
  const r = Reader.create(struct);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag !== ((1 << 3) | WIRE_LEN)) {
      r.skipType(tag & 7);
      continue;
    }
    const end = r.uint32() + r.pos;
    if (end > r.len) throw new Error('a metadata entry runs past the end of the node');
    // MapEntry { string key = 1; Value value = 2; }: note where both are, decode neither yet.
    let keyAt = -1;
    let keyEnd = -1;
    let valueAt = -1;
    let valueEnd = -1;
    while (r.pos < end) {
      const t = r.uint32();
      if ((t & 7) !== WIRE_LEN) {
        r.skipType(t & 7);
        continue;
      }
      const len = r.uint32();
      const at = r.pos;
      if (at + len > end) throw new Error('a metadata field runs past the end of its entry');
      if (t >>> 3 === 1) [keyAt, keyEnd] = [at, at + len];
      else if (t >>> 3 === 2) [valueAt, valueEnd] = [at, at + len];
      r.pos = at + len;
    }
    if (r.pos !== end) throw new Error('a metadata entry runs past its length');
    const keyLen = keyEnd - keyAt;
    const candidate = (struct[keyAt] === 0x6c /* l */ && (keyLen === 3 || keyLen === 8)) || (struct[keyAt] === 0x65 /* e */ && keyLen === NODE_CREDENTIAL_KEY.length);
    if (keyAt < 0 || !candidate) continue;
    const key = struct.toString('latin1', keyAt, keyEnd);
    if (!METADATA_KEYS.has(key)) continue;
    if (valueAt < 0 || valueEnd - valueAt > MAX_METADATA_VALUE_BYTES) {
      delete out[key];
      continue;
    }
    const v = envoyType('google.protobuf.Value');
    out[key] = v.toObject(v.decode(struct.subarray(valueAt, valueEnd)), { oneofs: true }) as Value__Output;
  }
  return out;
}

function localityOf(b: Buffer, into: { region: string; zone: string; sub_zone: string }): void {
  const max = XDS_LIMITS.maxNodeStringChars;
  fields(b, (f, wire, r) => {
    if (wire !== WIRE_LEN) return;
    if (f === 1) into.region = text(bytesOf(r, b), max);
    else if (f === 2) into.zone = text(bytesOf(r, b), max);
    else if (f === 3) into.sub_zone = text(bytesOf(r, b), max);
  });
}

/** A Node with only the fields the server reads, bounded but for the id. Throws on bytes that do not parse. */
export function scanNode(node: Buffer): EnvoyNode {
  const max = XDS_LIMITS.maxNodeStringChars;
  const out: EnvoyNode = {
    id: '',
    cluster: '',
    metadata: null,
    locality: null,
    user_agent_name: '',
    extensions: [],
    client_features: [],
    listening_addresses: [],
    dynamic_parameters: {},
  };
  let metadata: Record<string, Value__Output> | null = null;
  fields(node, (f, wire, r) => {
    if (wire !== WIRE_LEN) return;
    switch (f) {
      case 1:
        // Whole: an id is never cut (that could merge two proxies); one over the limit is refused by the stream.
        out.id = bytesOf(r, node).toString('utf8');
        return;
      case 2:
        out.cluster = text(bytesOf(r, node), max);
        return;
      case 3: {
        const md = metadataOf(bytesOf(r, node));
        metadata = { ...(metadata ?? {}), ...md };
        return;
      }
      case 4:
        out.locality ??= { region: '', zone: '', sub_zone: '' };
        localityOf(bytesOf(r, node), out.locality);
        return;
      case 6:
        out.user_agent_name = text(bytesOf(r, node), max);
        return;
      case 10: {
        const b = bytesOf(r, node);
        if (out.client_features.length < XDS_LIMITS.maxClientFeatures) out.client_features.push(text(b, max / 2));
        return;
      }
    }
  });
  if (metadata !== null) out.metadata = { fields: metadata };
  return out;
}

/**
 * A request decoder whose requests carry a bounded Node (scanNode) instead
 * of a fully decoded one; `nodeField` is the Node's field number in the
 * request (DiscoveryRequest 2, DeltaDiscoveryRequest 1).
 */
export function withScannedNode<T extends { node: EnvoyNode | null }>(decode: (buf: Buffer) => T, nodeField: number): (buf: Buffer) => T {
  return (buf) => {
    const split = splitField(buf, nodeField);
    if (split.field === null) return decode(buf);
    let node: EnvoyNode;
    try {
      node = scanNode(split.field);
    } catch (err) {
      throw new Error(`node: ${err instanceof Error ? err.message : String(err)}`);
    }
    const req = decode(split.rest);
    req.node = node;
    return req;
  };
}
