/**
 * When snapshots are rebuilt: registry changes are coalesced. A change after a
 * quiet period (no flush in the last `coalesceMs`) is flushed at once (leading
 * edge); the ones that follow within the window run `coalesceMs` after the
 * last change and never later than `maxDelayMs` after the first one. An
 * isolated change (a node going unhealthy) reaches proxies without waiting
 * out the window; a burst costs at most one extra recomputation.
 *
 * The one timer lives here; a flush that throws is reported to `onError` and
 * retried later (never a busy loop), so a bad build can never be an uncaught
 * exception.
 */

export interface FlushSchedulerOptions {
  coalesceMs: number;
  maxDelayMs: number;
  /** The flush itself (synchronous). */
  run: () => void;
  /** A flush threw (after the error, everything is retried once later). */
  onError: (err: unknown) => void;
  now?: () => number;
}

export class FlushScheduler {
  private timer: NodeJS.Timeout | null = null;
  /** The pending timer is a flush at once (leading edge): later changes join it. */
  private timerAtOnce = false;
  private firstChangeAt = 0;
  private lastFlushAt = 0;
  private waiters: Array<() => void> = [];
  private readonly now: () => number;

  constructor(private readonly opts: FlushSchedulerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A flush is pending. */
  get pending(): boolean {
    return this.timer !== null;
  }

  /** Something changed: flush at once (`immediate`, or after a quiet period) or within the coalescing window. */
  schedule(immediate: boolean): void {
    if (this.timer && this.timerAtOnce) return;
    const now = this.now();
    const quiet = !this.timer && now - this.lastFlushAt >= this.opts.coalesceMs;
    if (!this.timer) this.firstChangeAt = now;
    const wait = immediate || quiet ? 0 : Math.max(0, Math.min(this.opts.coalesceMs, this.firstChangeAt + this.opts.maxDelayMs - now));
    this.arm(wait, wait === 0);
  }

  /** Work was held back until `at` (rate limit): flush then, unless a flush is pending anyway. */
  retryAt(at: number): void {
    if (this.timer) return;
    this.firstChangeAt = this.now();
    this.arm(Math.max(10, at - this.now()), false);
  }

  /** After a failed build: try again after maxDelayMs (at least 100 ms). */
  retryLater(): void {
    if (this.timer) return;
    this.firstChangeAt = this.now();
    this.arm(Math.max(100, this.opts.maxDelayMs), false);
  }

  /** Runs `fn` after the next flush has published its snapshots (or at once, if nothing is pending). */
  afterFlush(fn: () => void): void {
    if (!this.timer) {
      setImmediate(fn);
      return;
    }
    this.waiters.push(fn);
  }

  /** Flushes now (a pending timer is cancelled). Throws what the flush throws. */
  runNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAtOnce = false;
    try {
      this.opts.run();
    } finally {
      this.lastFlushAt = this.now();
      const waiters = this.waiters;
      this.waiters = [];
      for (const fn of waiters) fn();
    }
  }

  /** Flushes now; a throw goes to onError and everything is retried later, never to the caller. */
  runContained(): void {
    try {
      this.runNow();
    } catch (err) {
      this.opts.onError(err);
      this.retryLater();
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(wait: number, atOnce: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAtOnce = atOnce;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.runContained();
    }, wait);
  }
}

/**
 * The per-service rate limit of weight-only pushes (health and structure
 * changes are never held): a service's weights go out at most once per
 * `intervalMs`, to every view in the same flush.
 */
export class WeightPushLimiter {
  private readonly lastPush = new Map<string, number>();
  /** Services whose weights went out in the flush in progress. */
  private readonly pushing = new Set<string>();

  constructor(private readonly intervalMs: number) {}

  /** 0: push now; otherwise the time to retry at. */
  check(service: string, now: number): number {
    if (this.pushing.has(service)) return 0;
    const last = this.lastPush.get(service) ?? 0;
    if (now - last < this.intervalMs) return last + this.intervalMs;
    this.pushing.add(service);
    return 0;
  }

  /** The flush is over: what went out is remembered as pushed at `now`. */
  commit(now: number): void {
    for (const s of this.pushing) this.lastPush.set(s, now);
    this.pushing.clear();
  }
}
