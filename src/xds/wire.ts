/**
 * The xDS wire: DiscoveryResponse / DeltaDiscoveryResponse assembled from
 * pre-encoded resource fields, and requests decoded with Envoy's own protos.
 */
import { Writer } from 'protobufjs';
import { envoyType } from './protos';
import type { EncodedResource } from './resource';
import type { DiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DiscoveryRequest';
import type { DeltaDiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DeltaDiscoveryRequest';

export type { DiscoveryRequest__Output as DiscoveryRequest } from './generated/envoy/service/discovery/v3/DiscoveryRequest';
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
    const cp = Writer.create().uint32((1 << 3) | 2).string(CONTROL_PLANE_ID).finish();
    controlPlaneField = Buffer.from(cp);
  }
  return Buffer.from(Writer.create().uint32((fieldNo << 3) | 2).bytes(controlPlaneField).finish());
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
 * A SotW response as written to a stream: the shared body and this stream's
 * nonce, joined only by the gRPC serializer (serializeOutgoing), so the body
 * is not copied once per stream into a fresh buffer before gRPC frames it.
 */
export interface SotwOutgoing {
  readonly body: Buffer;
  readonly nonceField: Buffer;
  readonly length: number;
}

export function sotwOutgoing(body: Buffer, nonce: string): SotwOutgoing {
  const w = Writer.create();
  stringField(w, 5, nonce);
  const nonceField = Buffer.from(w.finish());
  return { body, nonceField, length: body.length + nonceField.length };
}

let scratch = Buffer.allocUnsafe(0);
/**
 * The response serializer of the xDS server: Buffers as they are; a
 * SotwOutgoing is assembled in a reused scratch buffer. grpc-js copies the
 * serializer's result into its framed message synchronously
 * (serializeMessage), so the scratch view is never kept.
 */
export function serializeOutgoing(m: Buffer | SotwOutgoing): Buffer {
  if (Buffer.isBuffer(m)) return m;
  if (scratch.length < m.length) scratch = Buffer.allocUnsafe(Math.max(m.length, scratch.length * 2, 64 * 1024));
  m.body.copy(scratch, 0);
  m.nonceField.copy(scratch, m.body.length);
  return scratch.subarray(0, m.length);
}

export function deltaResponse(
  systemVersion: string,
  typeUrl: string,
  resources: readonly EncodedResource[],
  removed: readonly string[],
  nonce: string,
): Buffer {
  const head = Writer.create();
  stringField(head, 1, systemVersion);
  const tail = Writer.create();
  stringField(tail, 4, typeUrl);
  stringField(tail, 5, nonce);
  for (const name of removed) tail.uint32((6 << 3) | 2).string(name);
  deltaControlPlane ??= controlPlane(7);
  return Buffer.concat([head.finish(), ...resources.map((r) => r.deltaField), tail.finish(), deltaControlPlane]);
}

const DECODE_OPTS = { longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true } as const;

export function decodeDiscoveryRequest(buf: Buffer): DiscoveryRequest__Output {
  const t = envoyType('envoy.service.discovery.v3.DiscoveryRequest');
  return t.toObject(t.decode(buf), DECODE_OPTS) as DiscoveryRequest__Output;
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
