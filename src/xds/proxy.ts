/**
 * Who is asking: the proxy identity from an xDS request's Node, and the client
 * kind that decides which flavour of config it gets.
 */
import type { ClientKind } from '../model/types';
import type { EnvoyNode } from './wire';

export interface ProxyIdentity {
  id: string;
  cluster: string;
  userAgentName: string;
  kind: ClientKind;
  locality: { region: string; zone: string; subZone: string };
  /** node.metadata flattened to JSON (google.protobuf.Struct). */
  metadata: Record<string, unknown>;
  clientFeatures: string[];
}

/** A view is shared by every proxy that should receive the same config. */
export type ViewKey = string;

type StructValue = { kind?: string; nullValue?: unknown; numberValue?: number; stringValue?: string; boolValue?: boolean; structValue?: StructLike | null; listValue?: { values?: StructValue[] } | null };
type StructLike = { fields?: Record<string, StructValue> };

function structValueToJson(v: StructValue | undefined): unknown {
  if (!v) return null;
  switch (v.kind) {
    case 'numberValue':
      return v.numberValue;
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'structValue':
      return structToJson(v.structValue ?? undefined);
    case 'listValue':
      return (v.listValue?.values ?? []).map(structValueToJson);
    default:
      return null;
  }
}

export function structToJson(s: StructLike | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = structValueToJson(v);
  return out;
}

export function clientKindOf(userAgentName: string): ClientKind {
  return userAgentName.toLowerCase() === 'envoy' ? 'envoy' : 'grpc';
}

export function proxyIdentity(node: EnvoyNode): ProxyIdentity {
  const userAgentName = node.user_agent_name ?? '';
  return {
    id: node.id ?? '',
    cluster: node.cluster ?? '',
    userAgentName,
    kind: clientKindOf(userAgentName),
    locality: {
      region: node.locality?.region ?? '',
      zone: node.locality?.zone ?? '',
      subZone: node.locality?.sub_zone ?? '',
    },
    metadata: structToJson(node.metadata as StructLike | null),
    clientFeatures: [...(node.client_features ?? [])],
  };
}
