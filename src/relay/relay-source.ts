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
import type { MeshSource } from '../xds/mesh-source';
import type { ProxyIdentity, ViewKey } from '../xds/proxy';
import type { Snapshot } from '../xds/snapshot';
import type { SnapshotSource } from '../xds/source';
import { routesAlike } from './agreement';

type Mode = 'upstream' | 'local' | 'waiting';

interface RelayView {
  refs: number;
  mode: Mode;
  upstream: Snapshot | null;
  /** What the view's streams were last given. */
  served: Snapshot | null;
  watchers: Set<(s: Snapshot) => void>;
  unwatchLocal: (() => void) | null;
  waitTimer: NodeJS.Timeout | null;
}

export interface RelaySourceOptions {
  local: MeshSource;
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
}

export class RelaySource implements SnapshotSource {
  private readonly views = new Map<ViewKey, RelayView>();
  /** True while the global tier is reachable and has caught up with what the relay forwarded. */
  private inSync = false;
  private readonly log: Logger;

  constructor(private readonly opts: RelaySourceOptions) {
    this.log = opts.logger.child({ component: 'relay-source' });
  }

  /** Snapshots persisted from an earlier run: served until something newer is known. */
  preload(stored: Map<ViewKey, Snapshot>): void {
    for (const [key, snap] of stored) {
      if (!this.opts.local.ensureView(key)) continue;
      this.views.set(key, { refs: 0, mode: 'upstream', upstream: snap, served: snap, watchers: new Set(), unwatchLocal: null, waitTimer: null });
    }
  }

  /** Views the relay holds (to re-watch after a reconnect). */
  viewKeys(): ViewKey[] {
    return [...this.views.keys()];
  }

  upstreamSnapshot(view: ViewKey): Snapshot | null {
    return this.views.get(view)?.upstream ?? null;
  }

  modes(): Record<ViewKey, Mode> {
    return Object.fromEntries([...this.views].map(([k, v]) => [k, v.mode]));
  }

  get synced(): boolean {
    return this.inSync;
  }

  viewFor(proxy: ProxyIdentity): ViewKey {
    // Same placement rules as the global tier, over the replicated registry.
    return this.opts.local.viewFor(proxy);
  }

  acquire(key: ViewKey): Snapshot | null {
    let v = this.views.get(key);
    if (!v) {
      v = { refs: 0, mode: 'waiting', upstream: null, served: null, watchers: new Set(), unwatchLocal: null, waitTimer: null };
      this.views.set(key, v);
    }
    v.refs++;
    if (!v.unwatchLocal) this.attachLocal(key, v);
    if (v.refs === 1) this.opts.onWatch(key);
    if (v.mode === 'upstream' && v.upstream) return (v.served ??= v.upstream);
    if (v.mode === 'local') return (v.served = this.opts.local.peek(key) ?? this.opts.local.acquire(key));
    // Waiting for the global tier; if it does not answer in time (or is unreachable), compute here.
    if (!this.inSync) return this.goLocal(key, v, false);
    v.waitTimer ??= setTimeout(() => {
      v!.waitTimer = null;
      if (v!.mode === 'waiting') this.goLocal(key, v!, true);
    }, this.opts.upstreamWaitMs ?? 2000);
    return null;
  }

  release(key: ViewKey): void {
    const v = this.views.get(key);
    if (!v) return;
    v.refs = Math.max(0, v.refs - 1);
  }

  watch(key: ViewKey, fn: (s: Snapshot) => void): () => void {
    const v = this.views.get(key);
    if (!v) throw new Error(`unknown view ${key}`);
    v.watchers.add(fn);
    return () => v.watchers.delete(fn);
  }

  private attachLocal(key: ViewKey, v: RelayView): void {
    this.opts.local.ensureView(key);
    this.opts.local.acquire(key);
    v.unwatchLocal = this.opts.local.watch(key, (s) => {
      // Cut off: the relay's own view of the region is what counts now.
      if (this.inSync) return;
      if (v.mode !== 'local') this.log.info({ view: key }, 'serving locally computed config (global tier unreachable)');
      v.mode = 'local';
      this.publish(v, s);
    });
  }

  private goLocal(key: ViewKey, v: RelayView, notify: boolean): Snapshot {
    if (v.waitTimer) clearTimeout(v.waitTimer);
    v.waitTimer = null;
    v.mode = 'local';
    const s = this.opts.local.peek(key) ?? this.opts.local.acquire(key);
    if (notify) this.publish(v, s);
    else v.served = s;
    return s;
  }

  private publish(v: RelayView, s: Snapshot): void {
    if (v.served === s) return;
    v.served = s;
    for (const w of v.watchers) w(s);
  }

  /**
   * A snapshot of a view as the global tier has it now. Served at once when in
   * sync (or when nothing else is served yet); while reconciling after a
   * partition it is kept until setInSync(), so proxies never see the global
   * tier's view from before it caught up.
   */
  setUpstream(key: ViewKey, s: Snapshot): void {
    let v = this.views.get(key);
    if (!v) {
      v = { refs: 0, mode: 'upstream', upstream: null, served: null, watchers: new Set(), unwatchLocal: null, waitTimer: null };
      this.views.set(key, v);
    }
    v.upstream = s;
    if (this.inSync && v.mode === 'local') {
      this.reconcile();
      return;
    }
    if (this.inSync || v.mode === 'waiting' || v.served === null) {
      if (v.waitTimer) clearTimeout(v.waitTimer);
      v.waitTimer = null;
      v.mode = 'upstream';
      this.publish(v, s);
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
    for (const [key, v] of this.views) {
      if (!v.upstream || v.served === v.upstream) continue;
      if (v.mode === 'local' && !force && v.served && !routesAlike(v.served, v.upstream)) {
        waiting++;
        continue;
      }
      if (v.mode === 'local') this.log.info({ view: key, forced: force }, 'view back on the global tier\'s snapshot');
      v.mode = 'upstream';
      this.publish(v, v.upstream);
    }
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.reconcileTimer = null;
    if (waiting > 0) {
      this.reconcileTimer = setTimeout(() => this.reconcile(), Math.min(250, Math.max(10, this.reconcileDeadline - Date.now())));
      this.reconcileTimer.unref();
    }
  }
}
