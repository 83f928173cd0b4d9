/**
 * A server-wide bound on response bytes written and not yet taken by HTTP/2.
 *
 * Each stream holds at most one response in flight; with thousands of streams
 * and large SotW sets that alone could still buffer streams x response size
 * when proxies read more slowly than the server writes (an initial sync of a
 * whole fleet). Streams therefore ask the budget before writing: while the
 * bytes in flight are over the limit, a stream waits its turn (FIFO) and then
 * sends its newest state, so memory stays bounded whatever the number of
 * proxies, and waiting streams coalesce snapshots instead of queueing them.
 *
 * A proxy that never reads must not hold the budget forever: a reservation
 * older than `stuckMs` stops counting (its one response stays buffered for
 * that stream only, as before).
 */
export interface BudgetTicket {
  readonly bytes: number;
  readonly at: number;
  released: boolean;
}

const NOOP = (): void => {};

export class SendBudget {
  private inFlight = 0;
  /** FIFO of waiting streams: an array with a moving head (thousands wait during a fleet's sync). */
  private waiting: Array<() => void> = [];
  private head = 0;
  private readonly tickets = new Set<BudgetTicket>();
  private sweeper: NodeJS.Timeout | null = null;
  private waking = false;

  /** limitBytes 0 = no bound. */
  constructor(readonly limitBytes: number, private readonly stuckMs = 5_000) {}

  get bytesInFlight(): number {
    return this.inFlight;
  }

  get waitingStreams(): number {
    return this.waiting.length - this.head;
  }

  /**
   * True when a stream may write now. Otherwise `resume` is called once there
   * is room, and the stream writes from it synchronously (so the next waiter
   * is judged with those bytes counted); the caller must not ask again until
   * then.
   */
  admit(resume: () => void): boolean {
    if (this.limitBytes <= 0 || (this.inFlight < this.limitBytes && this.waitingStreams === 0)) return true;
    this.waiting.push(resume);
    return false;
  }

  /** Counts a written response until release(). */
  take(bytes: number): BudgetTicket {
    const t: BudgetTicket = { bytes, at: Date.now(), released: false };
    if (this.limitBytes <= 0) {
      t.released = true;
      return t;
    }
    this.inFlight += bytes;
    this.tickets.add(t);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(100, Math.floor(this.stuckMs / 2)));
      this.sweeper.unref();
    }
    return t;
  }

  release(t: BudgetTicket): void {
    if (t.released) return;
    t.released = true;
    this.tickets.delete(t);
    this.inFlight -= t.bytes;
    this.wake();
  }

  private wake(): void {
    if (this.waking) return;
    this.waking = true;
    try {
      while (this.head < this.waiting.length && this.inFlight < this.limitBytes) {
        const next = this.waiting[this.head]!;
        this.waiting[this.head++] = NOOP;
        next();
      }
    } finally {
      this.waking = false;
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
    }
    if (this.tickets.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private sweep(): void {
    const old = Date.now() - this.stuckMs;
    for (const t of this.tickets) if (t.at < old) this.release(t);
    this.wake();
  }
}

/** Unbounded: every stream writes at once (one response in flight per stream). */
export const NO_BUDGET = new SendBudget(0);
