/**
 * Who is asking: the proxy identity from an xDS request's Node, and the client
 * kind that decides which flavour of config it gets.
 *
 * A Node is client input of up to a whole request (metadata, extensions,
 * client features): a stream keeps only the fields the server uses, as
 * bounded copies (limits.ts), never the decoded Node or its metadata Struct.
 */
import type { ClientKind } from '../model/types';
import type { EnvoyNode } from './wire';
import { XDS_LIMITS } from './limits';

export type MetadataScalar = number | string;
/** The node.metadata keys the server reads (a requester location, see locationFromMetadata). */
export type NodeMetadata = {
  lat?: MetadataScalar;
  lon?: MetadataScalar;
  location?: MetadataScalar | { lat?: MetadataScalar; lon?: MetadataScalar };
};

export interface ProxyIdentity {
  id: string;
  cluster: string;
  userAgentName: string;
  kind: ClientKind;
  locality: { region: string; zone: string; subZone: string };
  /** Only the node.metadata keys the server reads, with short values. */
  metadata: NodeMetadata;
  /** The first few client_features, cut short. */
  clientFeatures: string[];
}

/** A view is shared by every proxy that should receive the same config. */
export type ViewKey = string;

type StructValue = { kind?: string; numberValue?: number; stringValue?: string; structValue?: StructLike | null };
type StructLike = { fields?: Record<string, StructValue> | null };

/**
 * A copy of a string that shares no memory with it: V8 keeps a slice of a
 * long string as a view of the whole, so a cut 1 MB string would still hold 1 MB.
 */
function detached(s: string): string {
  return Buffer.from(s, 'utf16le').toString('utf16le');
}

/** At most `max` UTF-16 units of `s` (no half surrogate pair), detached when cut. */
export function boundedString(s: unknown, max: number): string {
  if (typeof s !== 'string') return '';
  if (s.length <= max) return s;
  let end = max;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return detached(s.slice(0, end));
}

/** An own field of a decoded Struct (a map key such as "__proto__" must not reach the prototype chain). */
function field(s: StructLike | null | undefined, key: string): StructValue | undefined {
  const fields = s?.fields;
  if (!fields || !Object.prototype.hasOwnProperty.call(fields, key)) return undefined;
  return fields[key];
}

/** A number, or a short string (a longer one is dropped: cutting "31.2345..." would change it). */
function scalar(v: StructValue | undefined): MetadataScalar | undefined {
  if (v?.kind === 'numberValue' && typeof v.numberValue === 'number') return v.numberValue;
  if (v?.kind === 'stringValue' && typeof v.stringValue === 'string' && v.stringValue.length <= XDS_LIMITS.maxMetadataValueChars) return v.stringValue;
  return undefined;
}

function latLon(s: StructLike | null | undefined): { lat?: MetadataScalar; lon?: MetadataScalar } {
  const out: { lat?: MetadataScalar; lon?: MetadataScalar } = {};
  const lat = scalar(field(s, 'lat'));
  const lon = scalar(field(s, 'lon'));
  if (lat !== undefined) out.lat = lat;
  if (lon !== undefined) out.lon = lon;
  return out;
}

/** lat, lon and location of node.metadata; everything else is left behind. */
export function nodeMetadata(md: StructLike | null | undefined): NodeMetadata {
  const out: NodeMetadata = latLon(md);
  const loc = field(md, 'location');
  if (loc?.kind === 'structValue') {
    const inner = latLon(loc.structValue);
    if (inner.lat !== undefined || inner.lon !== undefined) out.location = inner;
  } else {
    const s = scalar(loc);
    if (s !== undefined) out.location = s;
  }
  return out;
}

export function clientKindOf(userAgentName: string): ClientKind {
  return userAgentName.toLowerCase() === 'envoy' ? 'envoy' : 'grpc';
}

/** The bounded identity of a Node (an id over XDS_LIMITS.maxNodeIdChars is refused before this). */
export function proxyIdentity(node: EnvoyNode): ProxyIdentity {
  const str = (s: unknown): string => boundedString(s, XDS_LIMITS.maxNodeStringChars);
  const userAgentName = str(node.user_agent_name);
  const features = Array.isArray(node.client_features) ? node.client_features.slice(0, XDS_LIMITS.maxClientFeatures) : [];
  return {
    id: boundedString(node.id, XDS_LIMITS.maxNodeIdChars),
    cluster: str(node.cluster),
    userAgentName,
    kind: clientKindOf(userAgentName),
    locality: {
      region: str(node.locality?.region),
      zone: str(node.locality?.zone),
      subZone: str(node.locality?.sub_zone),
    },
    metadata: nodeMetadata(node.metadata as StructLike | null),
    clientFeatures: features.map((f) => boundedString(f, XDS_LIMITS.maxNodeStringChars / 2)),
  };
}
