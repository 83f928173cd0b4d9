/**
 * The heartbeat writer thread, main-thread side. better-sqlite3 is
 * synchronous: on the main thread the group commit's upsert and fsynced COMMIT
 * would stop the event loop for the whole write. The writer thread
 * (heartbeat-worker.ts) owns a second connection to the same database file and
 * runs each batch as one transaction there; the main thread keeps serving
 * requests and learns by message when the batch is durable.
 *
 * WAL allows one writer at a time. Both connections have a busy timeout, and
 * the batch never waits for the main thread while it holds the write lock, so
 * a main-thread transaction and a batch only wait for each other, never
 * deadlock (the registry already serializes its own writes with batches).
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DbSync } from './db';
import type { PackedHeartbeats } from './heartbeat-sql';
import type { NewEvent, StateUpdate } from './rows';

export interface HeartbeatThreadOptions {
  file: string;
  busyTimeoutMs: number;
  synchronous: DbSync;
}

/** Messages to the writer thread. */
export type ToWriter =
  /** ids: the node ids joined by "\n" (one string clones faster than an array of them) unless one contains "\n"; values: see PackedHeartbeats. */
  | { type: 'write'; seq: number; ids: string | string[]; values: Float64Array; states: StateUpdate[]; events: NewEvent[] }
  | { type: 'close' };

/** Messages from the writer thread. */
export type FromWriter =
  | { type: 'ready' }
  | { type: 'done'; seq: number }
  | { type: 'failed'; seq: number; message: string; code?: string }
  | { type: 'open-failed'; message: string }
  | { type: 'closed' };

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** How long close() waits for the thread to finish its work and close its connection. */
const CLOSE_TIMEOUT_MS = 3000;

export class HeartbeatThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiter>();
  private seq = 0;
  private failure: Error | null = null;
  private opened = false;
  private closing: Promise<void> | null = null;
  private readonly exited: Promise<void>;
  /** Resolves once the thread's connection is open; rejects if it could not open. */
  readonly ready: Promise<void>;

  constructor(opts: HeartbeatThreadOptions) {
    this.worker = new Worker(path.join(__dirname, 'heartbeat-worker.js'), { workerData: opts, name: 'heartbeat-writer' });
    // Idle, the thread does not keep the process alive; a write in flight does.
    this.worker.unref();
    let onReady!: () => void;
    let onOpenFailed!: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onOpenFailed = reject;
    });
    this.ready.catch(() => undefined);
    this.worker.on('message', (m: FromWriter) => {
      switch (m.type) {
        case 'ready':
          this.opened = true;
          return onReady();
        case 'open-failed':
          this.fail(new Error(`heartbeat writer could not open the database: ${m.message}`));
          return onOpenFailed(this.failure as Error);
        case 'done':
          return this.settle(m.seq);
        case 'failed':
          return this.settle(m.seq, Object.assign(new Error(m.message), m.code ? { code: m.code } : {}));
        case 'closed':
          return;
      }
    });
    this.worker.on('error', (err) => {
      this.fail(err);
      onOpenFailed(err);
    });
    this.exited = new Promise<void>((resolve) => {
      this.worker.once('exit', (code) => {
        const err = new Error(`heartbeat writer exited (code ${code})`);
        this.fail(err);
        onOpenFailed(err);
        resolve();
      });
    });
  }

  /** Null while the thread works; the reason once it stopped (closed or crashed). */
  get stopped(): Error | null {
    return this.failure;
  }

  /** True once the thread's connection is open (until it stops). */
  get isReady(): boolean {
    return this.opened && this.failure === null;
  }

  /** Writes one batch in one transaction; resolves once it committed. */
  write(heartbeats: PackedHeartbeats, states: StateUpdate[], events: NewEvent[]): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing !== null) return Promise.reject(new Error('heartbeat writer is closing'));
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(seq, { resolve, reject });
      const msg: ToWriter = { type: 'write', seq, ids: joinIds(heartbeats.ids), values: heartbeats.values, states, events };
      this.worker.postMessage(msg, [heartbeats.values.buffer as ArrayBuffer]);
    });
  }

  /** Lets in-flight writes finish, closes the thread's connection and ends the thread. */
  close(): Promise<void> {
    return (this.closing ??= this.closeNow());
  }

  private async closeNow(): Promise<void> {
    if (this.failure === null) {
      this.worker.ref();
      this.worker.postMessage({ type: 'close' } satisfies ToWriter);
      const timer = setTimeout(() => void this.worker.terminate(), CLOSE_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    } else {
      await this.worker.terminate();
    }
    this.fail(new Error('heartbeat writer is closed'));
  }

  private settle(seq: number, err?: Error): void {
    const w = this.waiting.get(seq);
    if (w === undefined) return;
    this.waiting.delete(seq);
    if (this.waiting.size === 0 && this.closing === null) this.worker.unref();
    if (err) w.reject(err);
    else w.resolve();
  }

  private fail(err: Error): void {
    if (this.failure === null) this.failure = err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}

function joinIds(ids: string[]): string | string[] {
  for (const id of ids) if (id.includes('\n')) return ids;
  return ids.join('\n');
}
