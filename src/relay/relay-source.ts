/**
 * What a relay serves its proxies: the global tier's snapshots, byte for byte,
 * while it is in touch; its own computation (the same model, over its replica
 * of the registry and the heartbeats it receives) while cut off.
 *
 * Per view:
 *  - 'upstream': the last snapshot received from the global tier (also after a
 *    restart, from disk);
 *  - 'local': once cut off and the local computation of the view changes (a
 *    node stopped heartbeating, a new node registered here...), the relay
 *    serves its own snapshot, so the region keeps routing around failures.
 * When the link is back and the global tier has applied everything the relay
 * forwarded (Applied >= the outbox high-water mark at reconnect), every view
 * returns to 'upstream' in one step.
 */
import type { Logger } from '../observability/logger';
import type { ViewProducer } from '../xds/source';
import type { ProxyIdentity, ViewKey } from '../xds/proxy';
import type { Snapshot } from '../xds/snapshot';
import type { SnapshotSource } from '../xds/source';
import { ViewCache, type CachedView } from '../xds/view-cache';
import { routesAlike } from './agreement';

type Mode = 'upstream' | 'local' | 'waiting';

/** The relay's own part of a view (the ViewCache keeps refs, watchers and what streams were last given). */
interface RelayViewData {
  mode: Mode;
  upstream: Snapshot | null;
  unwatchLocal: (() => void) | null;
  waitTimer: NodeJS.Timeout | null;
}
type RelayView = CachedView<RelayViewData>;
const newData =
  (mode: Mode, upstream: Snapshot | null = null): (() => RelayViewData) =>
  () => ({ mode, upstream, unwatchLocal: null, waitTimer: null });

export interface RelaySourceOptions {
  local: ViewProducer;
  logger: Logger;
  /** Called when a view is needed from the global tier (and when it no longer is). */
  onWatch: (view: ViewKey) => void;
  onUnwatch: (view: ViewKey) => void;
  /** How long a new view waits for the global tier before the relay computes it itself. */
  upstreamWaitMs?: number;
  /**
   * After a partition, how long a view served locally may wait for the global
   * tier to agree with it (same endpoints, priorities and health) before the
   * global tier's snapshot is taken anyway.
   */
  reconcileWaitMs?: number;
  /** A view no stream has used for this long is let go: unwatched upstream and released locally. Default 60 s. */
  viewIdleMs?: number;
  /** Called when a view is let go (the relay drops what it stored of it). */
  onDrop?: (view: ViewKey) => void;
}

export class RelaySource implements SnapshotSource {
  private readonly views = new ViewCache<RelayViewData>();
  /** True while the global tier is reachable and has caught up with what the relay forwarded. */
  private inSync = false;
  private readonly log: Logger;
  private readonly gcTimer: NodeJS.Timeout;
  private readonly viewIdleMs: number;

  constructor(private readonly opts: RelaySourceOptions) {
    this.log = opts.logger.child({ component: 'relay-source' });
    this.viewIdleMs = opts.viewIdleMs ?? 60_000;
    this.gcTimer = setInterval(() => this.collectIdleViews(), Math.max(10, Math.min(this.viewIdleMs / 2, 30_000)));
    this.gcTimer.unref();
  }

  close(): void {
    clearInterval(this.gcTimer);
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    for (const v of this.views.values()) if (v.data.waitTimer) clearTimeout(v.data.waitTimer);
  }

  /**
   * Lets go of views no stream used for viewIdleMs: the global tier stops
   * sending them (onUnwatch), the mesh source's reference is released, and
   * what was stored of them is dropped. A relay serving many short-lived
   * proxies from many places keeps only the views in use.
   */
  collectIdleViews(): number {
    const dropped = this.views.collectIdle(this.viewIdleMs, (v) => {
      if (v.data.waitTimer) clearTimeout(v.data.waitTimer);
      if (v.data.unwatchLocal) {
        v.data.unwatchLocal();
        this.opts.local.release(v.key);
      }
      this.opts.onUnwatch(v.key);
      this.opts.onDrop?.(v.key);
    });
    if (dropped > 0) this.log.debug({ dropped, views: this.views.size }, 'idle views let go');
    return dropped;
  }

  /** Snapshots persisted from an earlier run: served until something newer is known. */
  preload(stored: Map<ViewKey, Snapshot>): void {
    for (const [key, snap] of stored) {
      if (!this.opts.local.ensureView(key)) continue;
      this.views.ensure(key, newData('upstream', snap)).snapshot = snap;
    }
  }

  /** Views the relay holds (to re-watch after a reconnect). */
  viewKeys(): ViewKey[] {
    return this.views.keys();
  }

  upstreamSnapshot(view: ViewKey): Snapshot | null {
    return this.views.get(view)?.data.upstream ?? null;
  }

  modes(): Record<ViewKey, Mode> {
    return Object.fromEntries([...this.views.values()].map((v) => [v.key, v.data.mode]));
  }

  get synced(): boolean {
    return this.inSync;
  }

  viewFor(proxy: ProxyIdentity): ViewKey {
    // Same placement rules as the global tier, over the replicated registry.
    return this.opts.local.viewFor(proxy);
  }

  acquire(key: ViewKey): Snapshot | null {
    this.views.ensure(key, newData('waiting'));
    const v = this.views.acquire(key);
    const d = v.data;
    if (!d.unwatchLocal) this.attachLocal(v);
    if (v.refs === 1) this.opts.onWatch(key);
    if (d.mode === 'upstream' && d.upstream) return (v.snapshot ??= d.upstream);
    if (d.mode === 'local') return (v.snapshot = this.opts.local.peek(key) ?? v.snapshot);
    // Waiting for the global tier; if it does not answer in time (or is unreachable), compute here.
    if (!this.inSync) return this.goLocal(v, false);
    d.waitTimer ??= setTimeout(() => {
      d.waitTimer = null;
      if (d.mode === 'waiting') this.goLocal(v, true);
    }, this.opts.upstreamWaitMs ?? 2000);
    return null;
  }

  release(key: ViewKey): void {
    this.views.release(key);
  }

  watch(key: ViewKey, fn: (s: Snapshot) => void): () => void {
    return this.views.watch(key, fn);
  }

  private attachLocal(v: RelayView): void {
    this.opts.local.ensureView(v.key);
    // One reference on the local view per relay view, released when the view is let go.
    this.opts.local.acquire(v.key);
    v.data.unwatchLocal = this.opts.local.watch(v.key, (s) => {
      // Cut off: the relay's own view of the region is what counts now.
      if (this.inSync) return;
      if (v.data.mode !== 'local') this.log.info({ view: v.key }, 'serving locally computed config (global tier unreachable)');
      v.data.mode = 'local';
      this.views.publish(v, s);
    });
  }

  private goLocal(v: RelayView, notify: boolean): Snapshot | null {
    if (v.data.waitTimer) clearTimeout(v.data.waitTimer);
    v.data.waitTimer = null;
    v.data.mode = 'local';
    // peek: attachLocal already holds the local view's one reference.
    const s = this.opts.local.peek(v.key);
    if (!s) return null; // its build failed: it comes through the local watch once one succeeds
    if (notify) this.views.publish(v, s);
    else v.snapshot = s;
    return s;
  }

  /**
   * A snapshot of a view as the global tier has it now. Served at once when in
   * sync (or when nothing else is served yet); while reconciling after a
   * partition it is kept until setInSync(), so proxies never see the global
   * tier's view from before it caught up.
   */
  setUpstream(key: ViewKey, s: Snapshot): void {
    const v = this.views.ensure(key, newData('upstream'));
    const d = v.data;
    d.upstream = s;
    if (this.inSync && d.mode === 'local') {
      this.reconcile();
      return;
    }
    if (this.inSync || d.mode === 'waiting' || v.snapshot === null) {
      if (d.waitTimer) clearTimeout(d.waitTimer);
      d.waitTimer = null;
      d.mode = 'upstream';
      this.views.publish(v, s);
    }
  }

  /** The link went down: views stay as they are until the local computation changes them. */
  setDisconnected(): void {
    if (this.inSync) this.log.warn('global tier unreachable: the relay now acts on its own view of the region when it changes');
    this.inSync = false;
  }

  /**
   * The global tier applied everything forwarded: return every view to its
   * snapshots. A view served locally switches as soon as the global tier
   * routes it the same way (it may still be catching up on health, e.g. after
   * its own restart), and at the latest after reconcileWaitMs.
   */
  setInSync(): void {
    if (!this.inSync) this.log.info('in sync with the global tier: returning to its snapshots');
    this.inSync = true;
    this.reconcileDeadline = Date.now() + (this.opts.reconcileWaitMs ?? 5000);
    this.reconcile();
  }

  private reconcileDeadline = 0;
  private reconcileTimer: NodeJS.Timeout | null = null;

  private reconcile(): void {
    if (!this.inSync) return;
    const force = Date.now() >= this.reconcileDeadline;
    let waiting = 0;
    for (const v of this.views.values()) {
      const d = v.data;
      if (!d.upstream || v.snapshot === d.upstream) continue;
      if (d.mode === 'local' && !force && v.snapshot && !routesAlike(v.snapshot, d.upstream)) {
        waiting++;
        continue;
      }
      if (d.mode === 'local') this.log.info({ view: v.key, forced: force }, "view back on the global tier's snapshot");
      d.mode = 'upstream';
      this.views.publish(v, d.upstream);
    }
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.reconcileTimer = null;
    if (waiting > 0) {
      this.reconcileTimer = setTimeout(() => this.reconcile(), Math.min(250, Math.max(10, this.reconcileDeadline - Date.now())));
      this.reconcileTimer.unref();
    }
  }
}
