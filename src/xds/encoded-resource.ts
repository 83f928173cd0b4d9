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

/**
 * Wraps already-serialized resource bytes; `version` defaults to their content hash.
 * Both response fields are written once, with protobufjs' Writer:
 *   sotwField  = resources(2): Any { type_url(1), value(2) }
 *   deltaField = resources(2): Resource { version(1), resource(2): Any, name(3) }
 * (A hand-written writer into one buffer measured no steadier gain: `npm run bench -- encode`, docs/BENCHMARKS.md.)
 */
export function encodedResource(kind: ResourceKind, name: string, bytes: Buffer, version = contentHash(bytes)): EncodedResource {
  const url = TYPE_URL[kind];
  const sotw = Writer.create();
  sotw.uint32(18).fork().uint32(10).string(url).uint32(18).bytes(bytes).ldelim();
  const delta = Writer.create();
  delta.uint32(18).fork().uint32(10).string(version).uint32(18).fork().uint32(10).string(url).uint32(18).bytes(bytes).ldelim().uint32(26).string(name).ldelim();
  return { kind, name, version, bytes, sotwField: asBuffer(sotw.finish()), deltaField: asBuffer(delta.finish()) };
}

const asBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));
