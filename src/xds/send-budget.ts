/**
 * Pacing of the server's xDS send work, and a server-wide bound on response
 * bytes written and not yet taken by HTTP/2.
 *
 * Pacing: streams do not flush from their own setImmediate (10,000 streams
 * would then run back to back in one turn of the event loop, copying
 * gigabytes while no HTTP request is read). They queue a task; the tasks run
 * in slices of `sliceMs`, and between slices the event loop reads I/O: the
 * REST API (heartbeats) and the proxies' ACKs are answered during a fleet's
 * initial sync instead of after it. Streams the budget wakes are run the
 * same way.
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

type Task = () => void;
const NOOP: Task = () => {};

/** A FIFO of callbacks with O(1) shift (thousands of streams queue at once during a fleet's sync). */
class TaskQueue {
  private items: Task[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(t: Task): void {
    this.items.push(t);
  }

  /** The oldest task, removed; undefined when empty. */
  shift(): Task | undefined {
    if (this.head >= this.items.length) return undefined;
    const t = this.items[this.head]!;
    this.items[this.head++] = NOOP; // let it be collected
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return t;
  }
}

export class SendBudget {
  private inFlight = 0;
  /** Tasks waiting for a slice (stream flushes and budget turns). */
  private readonly tasks = new TaskQueue();
  private sliceScheduled = false;
  /** Streams waiting for room in the budget, in order. */
  private readonly waiting = new TaskQueue();
  private readonly tickets = new Set<BudgetTicket>();
  private sweeper: NodeJS.Timeout | null = null;
  private waking = false;

  /** limitBytes 0 = no bound. */
  constructor(
    readonly limitBytes: number,
    private readonly stuckMs = 5_000,
    private readonly sliceMs = 5,
  ) {}

  /** Runs `task` in the next slice of send work (after pending I/O has been read). */
  schedule(task: () => void): void {
    this.tasks.push(task);
    if (!this.sliceScheduled) {
      this.sliceScheduled = true;
      setImmediate(this.runSlice);
    }
  }

  get queuedTasks(): number {
    return this.tasks.size;
  }

  private readonly runSlice = (): void => {
    this.sliceScheduled = false;
    const end = performance.now() + this.sliceMs;
    // At least one task per slice, so work always progresses.
    do {
      const task = this.tasks.shift();
      if (!task) break;
      task();
    } while (performance.now() < end);
    if (this.tasks.size > 0) {
      this.sliceScheduled = true;
      setImmediate(this.runSlice);
    }
  };

  get bytesInFlight(): number {
    return this.inFlight;
  }

  get waitingStreams(): number {
    return this.waiting.size;
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

  /**
   * Room was made: waiting streams get their turns in the send slices, one at
   * a time, each judged with the bytes of the ones before it counted.
   */
  private wake(): void {
    if (!this.waking && this.waitingStreams > 0 && this.inFlight < this.limitBytes) {
      this.waking = true;
      this.schedule(this.serveWaiters);
    }
    if (this.tickets.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private readonly serveWaiters = (): void => {
    this.waking = false;
    if (this.inFlight < this.limitBytes) this.waiting.shift()?.();
    this.wake(); // the next waiter, in this slice if time remains
  };

  private sweep(): void {
    const old = Date.now() - this.stuckMs;
    for (const t of this.tickets) if (t.at < old) this.release(t);
    this.wake();
  }
}

/** Unbounded: every stream writes at once (one response in flight per stream). */
export const NO_BUDGET = new SendBudget(0);
