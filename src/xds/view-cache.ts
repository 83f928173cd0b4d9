/**
 * The one owner of views: which views exist, their current snapshot, who uses
 * them (reference counts), who watches them, and when an unused one is let go.
 * Producers (the mesh builder, a relay taking the global tier's snapshots)
 * publish into it; streams read from it. Like go-control-plane's
 * `pkg/cache`, it knows nothing of how a snapshot is made.
 *
 * Each view carries producer data `T` (the mesh builder's assignments, a
 * relay's mode...), created with the view and dropped with it.
 */
import type { Snapshot } from './snapshot';
import type { ViewKey } from './proxy';

export interface CachedView<T> {
  readonly key: ViewKey;
  /** The last good snapshot (null: none built yet). */
  snapshot: Snapshot | null;
  refs: number;
  /** When refs last dropped to 0. */
  idleSince: number;
  readonly watchers: Set<(s: Snapshot) => void>;
  readonly data: T;
}

export class ViewCache<T> {
  private readonly views = new Map<ViewKey, CachedView<T>>();

  constructor(private readonly now: () => number = Date.now) {}

  get(key: ViewKey): CachedView<T> | undefined {
    return this.views.get(key);
  }

  has(key: ViewKey): boolean {
    return this.views.has(key);
  }

  /** The view, created with `data()` if absent. */
  ensure(key: ViewKey, data: () => T): CachedView<T> {
    let v = this.views.get(key);
    if (!v) {
      v = { key, snapshot: null, refs: 0, idleSince: this.now(), watchers: new Set(), data: data() };
      this.views.set(key, v);
    }
    return v;
  }

  /** Counts one more user of the view (which must exist). */
  acquire(key: ViewKey): CachedView<T> {
    const v = this.views.get(key);
    if (!v) throw new Error(`unknown view ${key}`);
    v.refs++;
    return v;
  }

  /** One user fewer; returns true when the view is now unused. */
  release(key: ViewKey): boolean {
    const v = this.views.get(key);
    if (!v) return false;
    v.refs = Math.max(0, v.refs - 1);
    if (v.refs === 0) v.idleSince = this.now();
    return v.refs === 0;
  }

  watch(key: ViewKey, fn: (s: Snapshot) => void): () => void {
    const v = this.views.get(key);
    if (!v) throw new Error(`unknown view ${key}`);
    v.watchers.add(fn);
    return () => v.watchers.delete(fn);
  }

  /** Makes `s` the view's snapshot and hands it to every watcher (nothing when it is the same object). */
  publish(v: CachedView<T>, s: Snapshot): void {
    if (v.snapshot === s) return;
    v.snapshot = s;
    for (const w of v.watchers) w(s);
  }

  /**
   * Drops views nobody used or watched for `idleMs`; `onDrop` runs for each
   * (release what the producer holds for it). Returns how many went.
   */
  collectIdle(idleMs: number, onDrop?: (v: CachedView<T>) => void): number {
    const now = this.now();
    let dropped = 0;
    for (const [key, v] of this.views) {
      if (v.refs > 0 || v.watchers.size > 0 || now - v.idleSince < idleMs) continue;
      this.views.delete(key);
      onDrop?.(v);
      dropped++;
    }
    return dropped;
  }

  values(): IterableIterator<CachedView<T>> {
    return this.views.values();
  }

  keys(): ViewKey[] {
    return [...this.views.keys()];
  }

  get size(): number {
    return this.views.size;
  }

  /** Views with a snapshot. */
  computedCount(): number {
    let n = 0;
    for (const v of this.views.values()) if (v.snapshot) n++;
    return n;
  }
}
