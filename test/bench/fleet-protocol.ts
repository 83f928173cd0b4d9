/** Messages between the fleet controller (parent) and its worker processes. */
import type { FleetNode } from './fleet-wire';

/** mTLS for the fleet (secure mode): the CA bundle that verifies the server, and each node's key and certificate chain. */
export interface FleetTls {
  caPem: string;
  /** One per node of the `open` message, in the same order. */
  identities: Array<{ keyPem: string; certPem: string }>;
}

export type ToWorker =
  | {
      cmd: 'open';
      target: string;
      mode: 'sotw' | 'delta';
      strict: boolean;
      channels: number;
      batch: number;
      batchDelayMs: number;
      nodes: FleetNode[];
      /** Secure mode: every proxy gets its own channel (one TLS connection) with its own certificate; `channels` is ignored. */
      tls?: FleetTls;
    }
  | { cmd: 'stats'; req: number }
  | { cmd: 'sync-times'; req: number }
  | { cmd: 'mark'; req: number; id: number; cluster: string; at: number }
  | { cmd: 'collect'; req: number }
  | { cmd: 'versions'; req: number; clear: boolean }
  | { cmd: 'summary'; req: number; cluster: string | null }
  | { cmd: 'close' };

export interface WorkerStats {
  streams: number;
  synced: number;
  lastSync: number;
  responses: number;
  bytes: number;
  errors: number;
  firstError: string;
  strictErrors: number;
  firstStrictError: string;
  /** CPU time of the worker process so far (user + system, ms). */
  cpuMs: number;
}

export interface MarkResult {
  /** ACK times (epoch ms) of the first changed EDS after the mark, one per affected stream. */
  times: number[];
  /** When those responses arrived (before decoding and ACKing). */
  recv: number[];
  /** Size of that response. */
  bytes: number[];
  /** Delta: resources other than the marked cluster in those responses. */
  others: number;
  /** Streams that have not received a changed EDS yet. */
  waiting: number;
}

export interface StreamSummary {
  id: string;
  clusters: number;
  endpoints: number;
  listeners: number;
  routes: number;
  complete: boolean;
  /** The marked cluster's ClusterLoadAssignment as held (base64). */
  cla: string | null;
}

export interface VersionSeen {
  key: string;
  first: number;
  last: number;
  acks: number;
}

export type FromWorker =
  | { type: 'opened'; count: number; at: number; firstAt: number; /** Worker CPU (ms) just before its first stream opened. */ cpuAtFirstMs: number }
  | ({ type: 'stats'; req: number } & WorkerStats)
  | { type: 'sync-times'; req: number; times: number[] }
  | { type: 'marked'; req: number }
  | { type: 'collected'; req: number; result: MarkResult }
  | { type: 'versions'; req: number; versions: VersionSeen[] }
  | { type: 'summary'; req: number; streams: StreamSummary[] };
