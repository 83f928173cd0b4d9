/**
 * The xDS wire: DiscoveryResponse / DeltaDiscoveryResponse assembled from
 * pre-encoded resource fields, and requests decoded with Envoy's own protos.
 */
import { Reader, Writer } from 'protobufjs';
import { envoyType } from './protos';
import type { EncodedResource } from './encoded-resource';
import type { DiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DiscoveryRequest';
import type { DeltaDiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DeltaDiscoveryRequest';

/**
 * A decoded SotW request. `namesRaw`, when set, is the encoded
 * `resource_names` part of the request: equal bytes, equal names (an ACK
 * repeating its subscription is recognised without decoding 200 names).
 */
export type DiscoveryRequest = DiscoveryRequest__Output & { readonly namesRaw?: Buffer };
export type { DeltaDiscoveryRequest__Output as DeltaDiscoveryRequest } from './generated/envoy/service/discovery/v3/DeltaDiscoveryRequest';
export type { Node__Output as EnvoyNode } from './generated/envoy/config/core/v3/Node';

const CONTROL_PLANE_ID = 'edge-xds';

function stringField(w: Writer, field: number, value: string): void {
  if (value.length > 0) w.uint32((field << 3) | 2).string(value);
}

let controlPlaneField: Buffer | undefined;
/** config.core.v3.ControlPlane { identifier = 1 }, as field `fieldNo`. */
function controlPlane(fieldNo: number): Buffer {
  if (!controlPlaneField) {
    const cp = Writer.create()
      .uint32((1 << 3) | 2)
      .string(CONTROL_PLANE_ID)
      .finish();
    controlPlaneField = Buffer.from(cp);
  }
  return Buffer.from(
    Writer.create()
      .uint32((fieldNo << 3) | 2)
      .bytes(controlPlaneField)
      .finish(),
  );
}
let sotwControlPlane: Buffer | undefined;
let deltaControlPlane: Buffer | undefined;

/**
 * The part of a SotW response that does not depend on the stream: version,
 * resources, type_url, control_plane. Streams append their own nonce.
 */
export function sotwResponseBody(version: string, typeUrl: string, resources: readonly EncodedResource[]): Buffer {
  const head = Writer.create();
  stringField(head, 1, version);
  const tail = Writer.create();
  stringField(tail, 4, typeUrl);
  sotwControlPlane ??= controlPlane(6);
  return Buffer.concat([head.finish(), ...resources.map((r) => r.sotwField), tail.finish(), sotwControlPlane]);
}

/** A complete DiscoveryResponse: the shared body plus this stream's nonce (field 5). */
export function withNonce(body: Buffer, nonce: string): Buffer {
  const w = Writer.create();
  stringField(w, 5, nonce);
  return Buffer.concat([body, w.finish()]);
}

/**
 * A response as written to a stream: shared parts around this stream's nonce
 * field, joined only by the gRPC serializer (serializeOutgoing), so shared
 * bytes are not copied once per stream into a fresh buffer before gRPC frames
 * them. SotW: body + nonce. Delta: head + nonce + tail (the same field order
 * as deltaResponse, so the bytes are identical).
 */
export interface Outgoing {
  readonly body: Buffer;
  readonly nonceField: Buffer;
  readonly tail: Buffer | null;
  readonly length: number;
}
function nonceField(nonce: string): Buffer {
  // Our nonces are short ASCII (base 36): tag, one length byte, the characters. Anything else: the general writer.
  if (nonce.length > 0 && nonce.length < 128 && /^[0-9a-z]+$/.test(nonce)) {
    const b = Buffer.allocUnsafe(2 + nonce.length);
    b[0] = (5 << 3) | 2;
    b[1] = nonce.length;
    b.write(nonce, 2, 'latin1');
    return b;
  }
  const w = Writer.create();
  stringField(w, 5, nonce);
  return Buffer.from(w.finish());
}

export function sotwOutgoing(body: Buffer, nonce: string): Outgoing {
  const n = nonceField(nonce);
  return { body, nonceField: n, tail: null, length: body.length + n.length };
}

/** A delta response as shared head (version, resources, type_url) and tail (removed, control_plane). */
export interface DeltaParts {
  readonly head: Buffer;
  readonly tail: Buffer;
}

export function deltaParts(systemVersion: string, typeUrl: string, resources: readonly EncodedResource[], removed: readonly string[]): DeltaParts {
  const head = Writer.create();
  stringField(head, 1, systemVersion);
  const type = Writer.create();
  stringField(type, 4, typeUrl);
  const tail = Writer.create();
  for (const name of removed) tail.uint32((6 << 3) | 2).string(name);
  deltaControlPlane ??= controlPlane(7);
  return {
    head: Buffer.concat([head.finish(), ...resources.map((r) => r.deltaField), type.finish()]),
    tail: Buffer.concat([tail.finish(), deltaControlPlane]),
  };
}

export function deltaOutgoing(parts: DeltaParts, nonce: string): Outgoing {
  const n = nonceField(nonce);
  return { body: parts.head, nonceField: n, tail: parts.tail, length: parts.head.length + n.length + parts.tail.length };
}

let scratch = Buffer.allocUnsafe(0);
/**
 * The response serializer of the xDS server: Buffers as they are; an
 * Outgoing is assembled in a reused scratch buffer. grpc-js copies the
 * serializer's result into its framed message synchronously
 * (serializeMessage), so the scratch view is never kept.
 */
export function serializeOutgoing(m: Buffer | Outgoing): Buffer {
  if (Buffer.isBuffer(m)) return m;
  if (scratch.length < m.length) scratch = Buffer.allocUnsafe(Math.max(m.length, scratch.length * 2, 64 * 1024));
  m.body.copy(scratch, 0);
  m.nonceField.copy(scratch, m.body.length);
  if (m.tail) m.tail.copy(scratch, m.body.length + m.nonceField.length);
  return scratch.subarray(0, m.length);
}

/** A complete DeltaDiscoveryResponse (the same bytes as deltaOutgoing joined). */
export function deltaResponse(systemVersion: string, typeUrl: string, resources: readonly EncodedResource[], removed: readonly string[], nonce: string): Buffer {
  const { head, tail } = deltaParts(systemVersion, typeUrl, resources, removed);
  return Buffer.concat([head, nonceField(nonce), tail]);
}

const DECODE_OPTS = { longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true } as const;

function decodeFullDiscoveryRequest(buf: Buffer): DiscoveryRequest__Output {
  const t = envoyType('envoy.service.discovery.v3.DiscoveryRequest');
  return t.toObject(t.decode(buf), DECODE_OPTS) as DiscoveryRequest__Output;
}

function readNames(raw: Buffer): string[] {
  const r = Reader.create(raw);
  const out: string[] = [];
  while (r.pos < r.len) {
    r.uint32(); // tag of field 3, length-delimited (checked by the scan)
    out.push(r.string());
  }
  return out;
}

/**
 * Decodes a DiscoveryRequest. The requests of a running stream (ACKs: version,
 * names, type, nonce) are scanned, not decoded through protobufjs, and their
 * names are decoded only when read; a request with anything else (node,
 * error_detail, resource locators, unknown fields, names not contiguous)
 * takes the full decoder. Both give the same values (tested).
 */
export function decodeDiscoveryRequest(buf: Buffer): DiscoveryRequest {
  const r = Reader.create(buf);
  let version = '';
  let typeUrl = '';
  let nonce = '';
  let namesStart = -1;
  let namesEnd = -1;
  try {
    while (r.pos < r.len) {
      const at = r.pos;
      const tag = r.uint32();
      const field = tag >>> 3;
      if ((tag & 7) !== 2) return decodeFullDiscoveryRequest(buf);
      if (field === 3) {
        if (namesStart >= 0 && namesEnd !== at) return decodeFullDiscoveryRequest(buf);
        if (namesStart < 0) namesStart = at;
        r.skipType(2);
        namesEnd = r.pos;
      } else if (field === 1) version = r.string();
      else if (field === 4) typeUrl = r.string();
      else if (field === 5) nonce = r.string();
      else return decodeFullDiscoveryRequest(buf);
    }
  } catch {
    return decodeFullDiscoveryRequest(buf); // let the full decoder report what is wrong
  }
  const namesRaw = namesStart >= 0 ? buf.subarray(namesStart, namesEnd) : Buffer.alloc(0);
  let names: string[] | undefined;
  return {
    version_info: version,
    node: null,
    get resource_names(): string[] {
      return (names ??= readNames(namesRaw));
    },
    type_url: typeUrl,
    response_nonce: nonce,
    error_detail: null,
    resource_locators: [],
    namesRaw,
  };
}

export function decodeDeltaDiscoveryRequest(buf: Buffer): DeltaDiscoveryRequest__Output {
  const t = envoyType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  return t.toObject(t.decode(buf), DECODE_OPTS) as DeltaDiscoveryRequest__Output;
}

/** Encoders for the client side (tests, the fleet simulator, relays). */
export function encodeDiscoveryRequest(req: Record<string, unknown>): Buffer {
  const t = envoyType('envoy.service.discovery.v3.DiscoveryRequest');
  return Buffer.from(t.encode(t.fromObject(req)).finish());
}

export function encodeDeltaDiscoveryRequest(req: Record<string, unknown>): Buffer {
  const t = envoyType('envoy.service.discovery.v3.DeltaDiscoveryRequest');
  return Buffer.from(t.encode(t.fromObject(req)).finish());
}
