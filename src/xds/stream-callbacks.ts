/**
 * What the xDS server sees of its streams: the hooks that keep metrics, logs
 * and stream caps out of the protocol code (go-control-plane's callbacks),
 * and the stream facts and refusals they are given.
 */
import type { status } from '@grpc/grpc-js';
import type { ResourceKind } from './protos';
import type { ProxyIdentity, ViewKey } from './proxy';
import type { ResourceSet } from './snapshot';
import type { TypeStatus } from './protocol-state';

export type XdsProtocol = 'sotw' | 'delta';
/** 'ads' for the aggregated service, else the per-type service's resource kind. */
export type XdsServiceName = 'ads' | ResourceKind;

export interface StreamInfo {
  readonly id: number;
  readonly protocol: XdsProtocol;
  readonly service: XdsServiceName;
  readonly peer: string;
  readonly openedAt: number;
  readonly proxy: ProxyIdentity | null;
  /** How the client connected: TLS (with its verified client certificate, if any) or plaintext. */
  transport(): StreamTransport;
  /** Ends the stream with this status (revocation). */
  terminate(code: status, details: string): void;
  readonly view: ViewKey | null;
  status(): Partial<Record<ResourceKind, TypeStatus>>;
  /** The accepted set a dump should decode (the proxy has these resources), with the names it holds. */
  ackedResources(kind: ResourceKind): { set: ResourceSet; names: string[] } | null;
}

/** The transport of a stream: TLS with the client certificate the handshake verified (absent when none), or plaintext. */
export interface StreamTransport {
  tls: boolean;
  /** node:tls PeerCertificate (raw DER, serialNumber, valid_from). */
  certificate: { raw?: Buffer; serialNumber?: string; valid_from?: string } | null;
}

/** Why a stream was ended by the server rather than by its client (a label of edge_xds_refused_streams_total). */
export type RefusalReason = 'streams_per_connection' | 'streams_per_node' | 'request_too_large' | 'malformed_request' | 'invalid_request' | 'unauthenticated' | 'permission_denied';

/** A stream the server ends, with the status its client sees. */
export interface Refusal {
  reason: RefusalReason;
  code: status;
  details: string;
}

export interface StreamCallbacks {
  onStreamOpen(s: StreamInfo): void;
  onStreamClose(s: StreamInfo): void;
  // The three below are optional so that a bare set of callbacks (tests) admits everything.
  /** Once the stream knows its proxy: null to go on, or why it may not (the per-node cap). */
  onIdentify?(s: StreamInfo, credential: string | null): Refusal | null;
  /** The stream is being ended for this reason (metrics, logs). */
  onRefused?(s: StreamInfo, r: Refusal): void;
  /** A request made the stream code throw; the stream ends with INTERNAL. */
  onError?(s: StreamInfo, err: unknown): void;
  onResponse(s: StreamInfo, kind: ResourceKind, version: string, bytes: number, resources: number, removed: number): void;
  onAck(s: StreamInfo, kind: ResourceKind, version: string, latencyMs: number): void;
  onNack(s: StreamInfo, kind: ResourceKind, version: string | null, detail: string): void;
  onStale(s: StreamInfo, kind: ResourceKind): void;
}
