/**
 * A resource encoded once per version. Everything a stream sends is built by
 * concatenating these pre-encoded fields, so a resource is serialized once,
 * however many streams receive it.
 */
import { createHash } from 'node:crypto';
import { Writer } from 'protobufjs';
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

function encodeAny(typeUrl: string, value: Buffer): Uint8Array {
  return Writer.create().uint32((1 << 3) | 2).string(typeUrl).uint32((2 << 3) | 2).bytes(value).finish();
}

/** Wraps already-serialized resource bytes; `version` defaults to their content hash. */
export function encodedResource(kind: ResourceKind, name: string, bytes: Buffer, version = contentHash(bytes)): EncodedResource {
  const any = encodeAny(TYPE_URL[kind], bytes);
  const sotwField = Buffer.from(Writer.create().uint32((2 << 3) | 2).bytes(any).finish());
  // envoy.service.discovery.v3.Resource { version = 1; resource = 2; name = 3 }
  const res = Writer.create().uint32((1 << 3) | 2).string(version).uint32((2 << 3) | 2).bytes(any).uint32((3 << 3) | 2).string(name).finish();
  const deltaField = Buffer.from(Writer.create().uint32((2 << 3) | 2).bytes(res).finish());
  return { kind, name, version, bytes, sotwField, deltaField };
}
