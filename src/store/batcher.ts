/**
 * Group commit: callers submit items and get a promise; items are written in
 * batches (one transaction each) flushed every `maxDelayMs` or as soon as
 * `maxBatch` items wait. Each promise settles only after its batch committed.
 * At most one batch is being written at a time; items arriving meanwhile form
 * the next batch, so the write function always sees committed state.
 */
export interface BatcherOptions<T, R> {
  /** Writes one batch durably; returns one result per item, in order. */
  write: (items: T[]) => Promise<R[]>;
  /** Longest wait before a non-full batch is flushed (ms). Default 5. */
  maxDelayMs?: number;
  /** Flush as soon as this many items wait. Default 1000. */
  maxBatch?: number;
  /** Called after each batch (size, write duration ms, error if it failed). */
  onBatch?: (size: number, durationMs: number, error?: unknown) => void;
}

interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class BatcherClosedError extends Error {
  constructor() {
    super('batcher is closed');
    this.name = 'BatcherClosedError';
  }
}

export class GroupCommitBatcher<T, R> {
  private queue: Pending<T, R>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private closed = false;
  private readonly maxDelayMs: number;
  private readonly maxBatch: number;

  constructor(private readonly opts: BatcherOptions<T, R>) {
    this.maxDelayMs = opts.maxDelayMs ?? 5;
    this.maxBatch = opts.maxBatch ?? 1000;
  }

  /** Number of items waiting (not yet being written). */
  get pending(): number {
    return this.queue.length;
  }

  submit(item: T): Promise<R> {
    if (this.closed) return Promise.reject(new BatcherClosedError());
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.kick();
      else if (this.timer === null && this.writing === null) {
        this.timer = setTimeout(() => this.kick(), this.maxDelayMs);
      }
    });
  }

  /** Writes everything queued so far (and anything in flight); resolves when durable. */
  async flush(): Promise<void> {
    while (this.writing !== null || this.queue.length > 0) {
      if (this.writing === null) this.kick();
      if (this.writing !== null) await this.writing;
    }
  }

  /** Stops accepting items and flushes what is queued. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private kick(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.writing !== null || this.queue.length === 0) return;
    const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
    this.queue = batch === this.queue ? [] : this.queue.slice(this.maxBatch);
    this.writing = this.run(batch);
  }

  private async run(batch: Pending<T, R>[]): Promise<void> {
    // Never settle synchronously: kick() assigns `writing` after this returns.
    await undefined;
    const started = performance.now();
    let results: R[] | null = null;
    let error: unknown = null;
    try {
      results = await this.opts.write(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`write returned ${results.length} results for ${batch.length} items`);
    } catch (err) {
      results = null;
      error = err;
    }
    this.opts.onBatch?.(batch.length, performance.now() - started, results === null ? error : undefined);
    // This batch is durable (or failed). Items that arrived meanwhile already
    // waited: start writing them now, before this batch's callers are answered,
    // so answering overlaps the next commit.
    this.writing = null;
    this.kick();
    if (results === null) for (const p of batch) p.reject(error);
    else for (let i = 0; i < batch.length; i++) batch[i].resolve(results[i]);
  }
}
