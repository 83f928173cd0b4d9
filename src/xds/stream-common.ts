/**
 * What SotW and delta streams share: per-type status for dumps and metrics,
 * the callbacks that keep metrics and logs out of the protocol code, and the
 * order in which types are sent over ADS.
 */
import type { ResourceKind } from './protos';
import type { ProxyIdentity, ViewKey } from './proxy';
import type { ResourceSet } from './snapshot';

export type XdsProtocol = 'sotw' | 'delta';
/** 'ads' for the aggregated service, else the per-type service's resource kind. */
export type XdsServiceName = 'ads' | ResourceKind;

/** New things first in dependency order (a cluster before its endpoints, a listener before its routes). */
export const ADD_ORDER: readonly ResourceKind[] = ['cluster', 'endpoint', 'listener', 'route'];
/** When something goes away, stop referring to it before removing it. */
export const REMOVE_ORDER: readonly ResourceKind[] = ['listener', 'route', 'cluster', 'endpoint'];

export type AckState = 'idle' | 'pending' | 'acked' | 'nacked';

export interface TypeStatus {
  subscribed: '*' | string[];
  /** Version of the last response sent on this stream. */
  sentVersion: string | null;
  /** Version the proxy last accepted. */
  ackedVersion: string | null;
  state: AckState;
  lastError: { version: string | null; message: string; at: number } | null;
  /** Resources of the last accepted version that the proxy has (names and versions). */
  resources: Array<{ name: string; version: string }>;
}

export interface StreamInfo {
  readonly id: number;
  readonly protocol: XdsProtocol;
  readonly service: XdsServiceName;
  readonly peer: string;
  readonly openedAt: number;
  readonly proxy: ProxyIdentity | null;
  readonly view: ViewKey | null;
  status(): Partial<Record<ResourceKind, TypeStatus>>;
  /** The accepted set a dump should decode (the proxy has these resources), with the names it holds. */
  ackedResources(kind: ResourceKind): { set: ResourceSet; names: string[] } | null;
}

export interface StreamCallbacks {
  onStreamOpen(s: StreamInfo): void;
  onStreamClose(s: StreamInfo): void;
  onResponse(s: StreamInfo, kind: ResourceKind, version: string, bytes: number, resources: number, removed: number): void;
  onAck(s: StreamInfo, kind: ResourceKind, version: string, latencyMs: number): void;
  onNack(s: StreamInfo, kind: ResourceKind, version: string | null, detail: string): void;
  onStale(s: StreamInfo, kind: ResourceKind): void;
}

let nextStreamId = 1;
export function newStreamId(): number {
  return nextStreamId++;
}

/** google.rpc.Status from a request, reduced to its message. */
export function errorDetailMessage(detail: { code?: number; message?: string } | null | undefined): string | null {
  if (!detail) return null;
  if ((detail.code ?? 0) === 0 && !detail.message) return null;
  return detail.message || `code ${detail.code}`;
}
