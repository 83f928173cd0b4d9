/**
 * MeshSource: the global tier's producer. It listens to the registry, decides
 * what is dirty, and at each flush (FlushScheduler: coalescing, leading edge)
 * has the SnapshotBuilder rebuild what changed and publishes the results into
 * the ViewCache, which streams (and relays) read. A build that throws is
 * contained: logged with its view, counted in /metrics, and the view keeps
 * serving its last good snapshot.
 */
import type { RegistryChange, RegistryView } from '../domain';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { DEFAULT_WEIGHTS_CONFIG, type ClientKind, type EndpointAssignment, type Requester, type RequesterInput, type WeightsConfig } from '../model';
import type { EgressListenerOptions } from './resources';
import type { Snapshot } from './snapshot';
import type { ProxyIdentity, ViewKey } from './proxy';
import { locationFromMetadata, parseViewKey, viewKey, viewLocation } from './views';
import type { SnapshotSource, ViewProducer } from './source';
import { ViewCache, type CachedView } from './view-cache';
import { FlushScheduler, WeightPushLimiter } from './flush-scheduler';
import { SnapshotBuilder, sameLocation, type ViewBuildState } from './snapshot-builder';

export interface MeshSourceOptions {
  registry: RegistryView;
  logger: Logger;
  metrics: Metrics;
  weights?: WeightsConfig;
  coalesceMs?: number;
  maxDelayMs?: number;
  /** Minimum time between two weight-only pushes of one service (health changes are never delayed). */
  weightPushIntervalMs?: number;
  /** Unused views are dropped after this long. */
  viewIdleMs?: number;
  egress?: EgressListenerOptions;
}

type View = CachedView<ViewBuildState>;

export class MeshSource implements SnapshotSource, ViewProducer {
  private readonly registry: RegistryView;
  private readonly log: Logger;
  private readonly builder: SnapshotBuilder;
  private readonly cache = new ViewCache<ViewBuildState>();
  private readonly scheduler: FlushScheduler;
  private readonly limiter: WeightPushLimiter;
  private readonly viewIdleMs: number;
  private readonly dirty = new Set<string>();
  private topologyDirty = false;
  private allDirty = false;
  private readonly unsubscribe: () => void;
  private readonly gcTimer: NodeJS.Timeout;
  private readonly computeSeconds;
  private readonly viewsGauge;
  private readonly deferred;
  private readonly buildErrors;

  constructor(opts: MeshSourceOptions) {
    this.registry = opts.registry;
    this.log = opts.logger.child({ component: 'mesh-source' });
    this.builder = new SnapshotBuilder(opts.registry, opts.weights ?? DEFAULT_WEIGHTS_CONFIG, opts.egress);
    this.limiter = new WeightPushLimiter(opts.weightPushIntervalMs ?? 1000);
    this.viewIdleMs = opts.viewIdleMs ?? 60_000;
    this.scheduler = new FlushScheduler({
      coalesceMs: opts.coalesceMs ?? 100,
      maxDelayMs: opts.maxDelayMs ?? 1000,
      run: () => this.flush(),
      onError: (err) => {
        // flush() contains its own failures; this is the last line of defence for the process.
        this.buildErrors.inc({ stage: 'flush' });
        this.log.error({ err }, 'snapshot flush failed: serving the last good snapshots');
        this.allDirty = true;
      },
    });
    this.computeSeconds = opts.metrics.histogram(
      'edge_xds_snapshot_compute_seconds',
      'Time to recompute snapshots after registry changes',
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    );
    this.viewsGauge = opts.metrics.gauge('edge_xds_views', 'Views (requesting locality x client kind) with a computed snapshot');
    this.deferred = opts.metrics.counter('edge_xds_weight_pushes_deferred_total', 'Weight-only EDS changes held back by the per-service push rate limit');
    this.buildErrors = opts.metrics.counter('edge_xds_snapshot_build_errors_total', 'Snapshot builds that failed (the last good snapshot kept being served)', ['stage']);
    this.builder.rebuildTopology();
    this.unsubscribe = this.registry.onChange((c) => this.onChange(c));
    this.gcTimer = setInterval(() => this.collectIdleViews(), Math.min(this.viewIdleMs, 30_000));
    this.gcTimer.unref();
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.gcTimer);
    this.scheduler.close();
  }

  get weightsConfig(): WeightsConfig {
    return this.builder.weights;
  }

  /** New coefficients apply to every view at the next flush (and are pushed, hysteresis aside). */
  setWeights(config: WeightsConfig): void {
    this.builder.weights = config;
    this.log.info('weights configuration changed: recomputing every view');
    this.builder.forgetFactors();
    this.allDirty = true;
    for (const v of this.cache.values()) v.data.assignments.clear();
    this.scheduler.schedule(true);
  }

  // ---- SnapshotSource -------------------------------------------------------

  viewFor(proxy: ProxyIdentity): ViewKey {
    const registered = this.registry.getNode(proxy.id);
    const requester: RequesterInput = registered
      ? { region: registered.region, zone: registered.zone, subZone: registered.subZone, location: registered.location }
      : { region: proxy.locality.region, zone: proxy.locality.zone, subZone: proxy.locality.subZone, location: locationFromMetadata(proxy.metadata) };
    return this.viewKeyFor(proxy.kind, requester);
  }

  /** The view a requester at this place and of this kind gets (created lazily). */
  viewKeyFor(kind: ClientKind, requester: RequesterInput): ViewKey {
    const key = viewKey(kind, requester);
    this.cache.ensure(key, () => this.builder.newViewState(kind, requester, viewLocation(requester.location)));
    return key;
  }

  /**
   * Makes sure a view exists for a key made by viewKeyFor (here or on another
   * tier: relays ask the global tier for views by key). Returns false for a
   * malformed key.
   */
  ensureView(key: ViewKey): boolean {
    if (this.cache.has(key)) return true;
    const spec = parseViewKey(key);
    if (!spec) return false;
    return this.viewKeyFor(spec.clientKind, spec.requester) === key;
  }

  /** Runs `fn` after the next flush has published its snapshots (or now, if nothing is pending). */
  afterFlush(fn: () => void): void {
    this.scheduler.afterFlush(fn);
  }

  acquire(key: ViewKey): Snapshot | null {
    const v = this.cache.acquire(key);
    if (!v.snapshot && this.scheduler.pending && (this.topologyDirty || this.allDirty)) {
      // Never compute a new view from a topology we know is stale.
      this.scheduler.runContained();
    }
    if (!v.snapshot) {
      this.builder.newRound();
      const t0 = process.hrtime.bigint();
      if (!this.buildInto(v, null, Date.now())) {
        // Nothing good to serve yet: the stream waits (watch) and a later flush tries again.
        this.allDirty = true;
        this.scheduler.retryLater();
        return null;
      }
      this.computeSeconds.observe(Number(process.hrtime.bigint() - t0) / 1e9);
      this.viewsGauge.set(this.cache.computedCount());
    }
    return v.snapshot;
  }

  release(key: ViewKey): void {
    this.cache.release(key);
  }

  watch(key: ViewKey, fn: (s: Snapshot) => void): () => void {
    return this.cache.watch(key, fn);
  }

  /** The current snapshot of a view without holding it (dumps, relays). */
  peek(key: ViewKey): Snapshot | null {
    return this.cache.get(key)?.snapshot ?? null;
  }

  /** What a requester there receives for a service, without hysteresis (explain / debugging). */
  explain(service: string, _kind: ClientKind, requester: RequesterInput): EndpointAssignment[] | null {
    return this.builder.explain(service, requester, this.topologyDirty || this.allDirty);
  }

  viewKeys(): ViewKey[] {
    return this.cache.keys();
  }

  /** Recomputes what changed and hands new snapshots to the watchers of each affected view. */
  flushNow(): void {
    this.scheduler.runNow();
  }

  // ---- change handling --------------------------------------------------------

  private onChange(c: RegistryChange): void {
    if (c.what === 'heartbeat' && !this.builder.movesWeights(c.nodeId)) return;
    for (const s of c.services) this.dirty.add(s);
    if (c.what === 'node') {
      this.topologyDirty = true;
      this.builder.forgetFactors(c.nodeId);
    }
    this.scheduler.schedule(false);
  }

  /** Builds one view and publishes the result; false (logged, counted, last good snapshot kept) when the build fails. */
  private buildInto(v: View, services: Set<string> | null, now: number, resolved?: Requester, limiter?: WeightPushLimiter): Map<string, number> | null {
    try {
      const r = this.builder.buildView(v.data, v.snapshot, services, now, limiter, resolved);
      if (r.deferred > 0) this.deferred.inc(r.deferred);
      this.cache.publish(v, r.snapshot);
      return r.held;
    } catch (err) {
      this.buildErrors.inc({ stage: 'view' });
      this.log.error({ err, view: v.key }, 'building the snapshot of a view failed: its last good snapshot is kept');
      // Its assignments may be half updated: recompute the whole view next time.
      v.data.assignments.clear();
      return null;
    }
  }

  /** One flush: the topology if it changed, then every view with what is dirty for it. Never throws for a build. */
  private flush(): void {
    this.builder.newRound();
    const t0 = process.hrtime.bigint();
    const now = Date.now();
    const topology = this.topologyDirty;
    const all = this.allDirty;
    this.topologyDirty = false;
    this.allDirty = false;
    const dirty = all ? null : new Set(this.dirty);
    this.dirty.clear();
    if (topology || all) {
      try {
        this.builder.rebuildTopology();
      } catch (err) {
        this.buildErrors.inc({ stage: 'topology' });
        this.log.error({ err }, 'rebuilding clusters, listeners and routes failed: serving the last good snapshots');
        this.topologyDirty = true;
        this.allDirty ||= all;
        if (dirty) for (const d of dirty) this.dirty.add(d);
        this.scheduler.retryLater();
        return;
      }
    }
    let retryAt = Infinity;
    let failed = false;
    for (const v of this.cache.values()) {
      // A view whose first build failed is built whole as soon as a stream waits for it.
      if (!v.snapshot && v.refs === 0 && v.watchers.size === 0) continue;
      // A centroid view is recomputed whole when its centroid moved (nodes registered or left
      // there), not on every topology change (a health change elsewhere moves nothing).
      const requester = this.builder.resolve(v.data.requester);
      const moved = topology && v.data.centroid && !sameLocation(v.data.location, requester.location);
      const services = dirty === null || moved || !v.snapshot ? null : dirty;
      const held = this.buildInto(v, services, now, requester, this.limiter);
      if (held === null) {
        failed = true;
        continue;
      }
      for (const [service, at] of held) {
        this.dirty.add(service);
        retryAt = Math.min(retryAt, at);
      }
    }
    this.limiter.commit(now);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    this.computeSeconds.observe(seconds);
    this.viewsGauge.set(this.cache.computedCount());
    this.log.debug({ ms: Math.round(seconds * 1000), topology, services: dirty === null ? 'all' : dirty.size, heldBack: this.dirty.size }, 'snapshots recomputed');
    if (failed) {
      this.allDirty = true;
      this.scheduler.retryLater();
    } else if (retryAt !== Infinity) {
      this.scheduler.retryAt(retryAt);
    }
  }

  private collectIdleViews(): void {
    this.cache.collectIdle(this.viewIdleMs);
    this.viewsGauge.set(this.cache.computedCount());
  }
}
