/**
 * xDS streams with no network (go-control-plane's mockStream): SotwStream and
 * DeltaStream run on a FakeCall instead of a grpc-js call, and watch a
 * FakeSource instead of the mesh. A request is an emitted 'data' event, a
 * response is what write() was given (serialized as the server would), and
 * HTTP/2 taking a response is release(): the test decides when a write
 * completes, so "one response in flight" is observable.
 */
import { EventEmitter } from 'node:events';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { encodedResource } from '../../src/xds/encoded-resource';
import { resourceSet, sameOrNew, type Snapshot } from '../../src/xds/snapshot';
import { RESOURCE_KINDS, type ResourceKind } from '../../src/xds/protos';
import { serializeOutgoing, type Outgoing } from '../../src/xds/wire';
import { NO_BUDGET, type SendBudget } from '../../src/xds/send-budget';
import type { SnapshotSource } from '../../src/xds/source';
import type { StreamCallbacks } from '../../src/xds/stream-callbacks';
import type { ViewKey } from '../../src/xds/proxy';

/** The error a stream fails with: grpc-js makes it the call's final status. */
export interface CallError extends Error {
  code?: number;
  details?: string;
}

/** The server side of one gRPC bidi call, as far as an xDS stream uses it. */
export class FakeCall extends EventEmitter {
  /** Every response written, as the server's response serializer makes it. */
  readonly out: Buffer[] = [];
  /** Write callbacks not called yet: responses written and not yet taken by HTTP/2. */
  pending: Array<() => void> = [];
  /** What the stream failed with ('error' events), in order. */
  readonly errors: CallError[] = [];
  /** The server ended its side (after the client ended the call). */
  ended = false;

  constructor(private readonly peer = 'fake') {
    super();
    this.on('error', (err: CallError) => this.errors.push(err));
  }

  /** This call typed as the grpc-js call a stream is constructed with. */
  asServerCall<Req>(): ServerDuplexStream<Req, Buffer> {
    return this as unknown as ServerDuplexStream<Req, Buffer>;
  }

  getPeer(): string {
    return this.peer;
  }

  write(msg: Buffer | Outgoing, cb: () => void): boolean {
    // Copied: serializeOutgoing assembles an Outgoing in a shared scratch buffer.
    this.out.push(Buffer.from(serializeOutgoing(msg)));
    this.pending.push(cb);
    return true;
  }

  end(): void {
    this.ended = true;
  }

  /** HTTP/2 takes every response written so far (their write callbacks run). */
  release(): void {
    const p = this.pending;
    this.pending = [];
    for (const cb of p) cb();
  }
}

/**
 * One view whose snapshots the test publishes. Counts what streams hold of it,
 * so a test can check that a closed stream let go of its view and watch.
 * Constructed with null, acquire() answers "not yet" (a relay waiting for the
 * global tier) until the first publish().
 */
export class FakeSource implements SnapshotSource {
  private current: Snapshot | null;
  private readonly watchers = new Set<(s: Snapshot) => void>();
  /** acquire() calls not yet matched by release(). */
  inUse = 0;

  constructor(
    s: Snapshot | null,
    readonly view: ViewKey = 'v',
  ) {
    this.current = s;
  }

  /** The latest snapshot (throws before the first one). */
  get snapshot(): Snapshot {
    if (!this.current) throw new Error('FakeSource: no snapshot published yet');
    return this.current;
  }

  get watching(): number {
    return this.watchers.size;
  }

  viewFor(): ViewKey {
    return this.view;
  }

  acquire(): Snapshot | null {
    this.inUse++;
    return this.current;
  }

  release(): void {
    this.inUse--;
  }

  watch(_view: ViewKey, fn: (s: Snapshot) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  publish(s: Snapshot): void {
    this.current = s;
    for (const w of [...this.watchers]) w(s);
  }
}

export const silentCallbacks: StreamCallbacks = {
  onStreamOpen: () => {},
  onStreamClose: () => {},
  onResponse: () => {},
  onAck: () => {},
  onNack: () => {},
  onStale: () => {},
};

/**
 * Per kind, resource name -> content. A resource's bytes are `name:content`
 * (the stream layer never looks inside them), its version their content hash.
 */
export type SnapshotSpec = Partial<Record<ResourceKind, Record<string, string | number>>>;

/**
 * A snapshot from a spec; kinds not in the spec are empty. Sets with the same
 * content as in `prev` are prev's objects ("same object = unchanged", as the
 * mesh source publishes them).
 */
export function fakeSnapshot(spec: SnapshotSpec, prev?: Snapshot): Snapshot {
  const out = {} as Record<ResourceKind, Snapshot[ResourceKind]>;
  for (const kind of RESOURCE_KINDS) {
    const resources = Object.entries(spec[kind] ?? {}).map(([name, content]) => encodedResource(kind, name, Buffer.from(`${name}:${content}`)));
    out[kind] = sameOrNew(prev?.[kind], resourceSet(kind, resources));
  }
  return out;
}

/**
 * Runs the streams' send work until nothing is left to do: the send slices of
 * `budget` and, with completeWrites, HTTP/2 taking every response written
 * (which lets each stream send its next one). Without it, responses stay in
 * flight and the streams wait.
 */
export async function settle(calls: readonly FakeCall[], opts: { completeWrites: boolean }, budget: SendBudget = NO_BUDGET): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    await new Promise((r) => setImmediate(r));
    if (budget.queuedTasks > 0) continue;
    if (opts.completeWrites && calls.some((c) => c.pending.length > 0)) {
      for (const c of calls) c.release();
      continue;
    }
    return;
  }
  throw new Error('settle: the streams never stopped sending');
}
