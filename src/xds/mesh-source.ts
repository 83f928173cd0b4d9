/**
 * MeshSource: registry + model -> one snapshot per view, kept current.
 *
 * - CDS/LDS/RDS depend only on the client kind: built once per kind and shared
 *   by every view of that kind (same EncodedResource objects).
 * - EDS depends on where the proxy is: computed per view with the edge-aware
 *   model, stabilized by hysteresis, encoded once per view and version.
 * - Registry changes are coalesced: a change after a quiet period (no flush
 *   in the last `coalesceMs`) is flushed at once, the ones that follow within
 *   the window run `coalesceMs` after the last change and never later than
 *   `maxDelayMs` after the first one. An isolated change (a node going
 *   unhealthy) reaches proxies without waiting out the window; a burst costs
 *   at most one extra recomputation.
 */
import type { EdgeNode, GeoLocation, RegistryChange, RegistryView } from '../registry/types';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import {
  computeAssignment, resolveRequester, stabilize, structureChanged, DEFAULT_WEIGHTS_CONFIG, loadsOf, networkFactor, networkStatsOf,
  type ClientKind, type EndpointAssignment, type Requester, type RequesterInput, type ServiceSpec, type WeightsConfig,
} from '../model';
import {
  buildCluster, buildClusterLoadAssignment, buildListeners, buildRouteConfigurations, encodeResource,
  type EgressListenerOptions,
} from './resources';
import { encodedResource, type EncodedResource } from './resource';
import { resourceSet, sameOrNew, type ResourceSet, type Snapshot } from './snapshot';
import { sameSpec, serviceIndex, type ServiceEndpoints } from './specs';
import type { ProxyIdentity, ViewKey } from './proxy';
import { locationFromMetadata, parseViewKey, viewKey, viewLocation } from './views';
import type { SnapshotSource } from './source';
import type { ResourceKind } from './protos';

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

interface ViewState {
  key: ViewKey;
  kind: ClientKind;
  requester: RequesterInput;
  /** True when the location is a centroid of the zone/region, which moves as nodes register. */
  centroid: boolean;
  /** The location the view's assignments were last computed for (undefined: never computed). */
  location?: GeoLocation | null;
  refs: number;
  idleSince: number;
  snapshot: Snapshot | null;
  assignments: Map<string, EndpointAssignment[]>;
  cla: Map<string, EncodedResource>;
  watchers: Set<(s: Snapshot) => void>;
}

/** CDS/LDS/RDS of one client kind: the same ResourceSet objects in every view of that kind. */
interface KindResources {
  cluster: ResourceSet;
  listener: ResourceSet;
  route: ResourceSet;
}

function sameLocation(a: GeoLocation | null | undefined, b: GeoLocation | null | undefined): boolean {
  if (a === undefined) return false;
  return a === b || (!!a && !!b && a.lat === b.lat && a.lon === b.lon);
}

export class MeshSource implements SnapshotSource {
  private readonly registry: RegistryView;
  private readonly log: Logger;
  private weights: WeightsConfig;
  private readonly coalesceMs: number;
  private readonly maxDelayMs: number;
  private readonly weightPushIntervalMs: number;
  private readonly viewIdleMs: number;
  private readonly views = new Map<ViewKey, ViewState>();
  private index = new Map<string, ServiceEndpoints>();
  /** The specs the current CDS/LDS/RDS were built from. */
  private specs = new Map<string, ServiceSpec>();
  private readonly kinds = new Map<ClientKind, KindResources>();
  private readonly dirty = new Set<string>();
  private topologyDirty = false;
  private allDirty = false;
  private firstChangeAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly lastWeightPush = new Map<string, number>();
  private flushWaiters: Array<() => void> = [];
  /** Per node: the weight factor and overload flag when its heartbeats last triggered a recomputation. */
  private readonly nodeFactors = new Map<string, { factor: number; overloaded: boolean }>();
  private readonly endpointMemo = new Map<string, { gen: number; endpoints: Array<{ node: EdgeNode; port: number }> }>();
  /** Bumped whenever the registry may have changed (each flush, each new view). */
  private flushGen = 0;
  private readonly unsubscribe: () => void;
  private readonly gcTimer: NodeJS.Timeout;
  private readonly computeSeconds;
  private readonly viewsGauge;
  private readonly deferred;

  constructor(private readonly opts: MeshSourceOptions) {
    this.registry = opts.registry;
    this.log = opts.logger.child({ component: 'mesh-source' });
    this.weights = opts.weights ?? DEFAULT_WEIGHTS_CONFIG;
    this.coalesceMs = opts.coalesceMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? 1000;
    this.weightPushIntervalMs = opts.weightPushIntervalMs ?? 1000;
    this.viewIdleMs = opts.viewIdleMs ?? 60_000;
    this.computeSeconds = opts.metrics.histogram('edge_xds_snapshot_compute_seconds', 'Time to recompute snapshots after registry changes', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
    this.viewsGauge = opts.metrics.gauge('edge_xds_views', 'Views (requesting locality x client kind) with a computed snapshot');
    this.deferred = opts.metrics.counter('edge_xds_weight_pushes_deferred_total', 'Weight-only EDS changes held back by the per-service push rate limit');
    this.rebuildTopology();
    this.unsubscribe = this.registry.onChange((c) => this.onChange(c));
    this.gcTimer = setInterval(() => this.collectIdleViews(), Math.min(this.viewIdleMs, 30_000));
    this.gcTimer.unref();
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.gcTimer);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get weightsConfig(): WeightsConfig {
    return this.weights;
  }

  /** New coefficients apply to every view at the next flush (and are pushed, hysteresis aside). */
  setWeights(config: WeightsConfig): void {
    this.weights = config;
    this.log.info('weights configuration changed: recomputing every view');
    this.nodeFactors.clear();
    this.allDirty = true;
    for (const v of this.views.values()) v.assignments.clear();
    this.schedule(true);
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
    if (!this.views.has(key)) {
      const location = viewLocation(requester.location);
      this.views.set(key, {
        key, kind, centroid: !location, refs: 0, idleSince: Date.now(), snapshot: null,
        requester: { ...requester, location },
        assignments: new Map(), cla: new Map(), watchers: new Set(),
      });
    }
    return key;
  }

  /**
   * Makes sure a view exists for a key made by viewKeyFor (here or on another
   * tier: relays ask the global tier for views by key). Returns false for a
   * malformed key.
   */
  ensureView(key: ViewKey): boolean {
    if (this.views.has(key)) return true;
    const spec = parseViewKey(key);
    if (!spec) return false;
    return this.viewKeyFor(spec.kind, spec.requester) === key;
  }

  /** Runs `fn` after the next flush has published its snapshots (or now, if nothing is pending). */
  afterFlush(fn: () => void): void {
    if (!this.timer) {
      setImmediate(fn);
      return;
    }
    this.flushWaiters.push(fn);
  }

  acquire(key: ViewKey): Snapshot {
    const v = this.views.get(key);
    if (!v) throw new Error(`unknown view ${key}`);
    v.refs++;
    if (!v.snapshot && this.timer && (this.topologyDirty || this.allDirty)) {
      // Never compute a new view from a topology we know is stale.
      clearTimeout(this.timer);
      this.timer = null;
      this.flush();
    }
    if (!v.snapshot) {
      this.flushGen++;
      const t0 = process.hrtime.bigint();
      this.computeView(v, null, Date.now());
      this.computeSeconds.observe(Number(process.hrtime.bigint() - t0) / 1e9);
      this.viewsGauge.set(this.countComputed());
    }
    return v.snapshot!;
  }

  release(key: ViewKey): void {
    const v = this.views.get(key);
    if (!v) return;
    v.refs = Math.max(0, v.refs - 1);
    if (v.refs === 0) v.idleSince = Date.now();
  }

  watch(key: ViewKey, fn: (s: Snapshot) => void): () => void {
    const v = this.views.get(key);
    if (!v) throw new Error(`unknown view ${key}`);
    v.watchers.add(fn);
    return () => v.watchers.delete(fn);
  }

  /** The current snapshot of a view without holding it (dumps, relays). */
  peek(key: ViewKey): Snapshot | null {
    return this.views.get(key)?.snapshot ?? null;
  }

  /** What a requester there receives for a service, without hysteresis (explain / debugging). */
  explain(service: string, kind: ClientKind, requester: RequesterInput): EndpointAssignment[] | null {
    // Read the registry as it is now: the index is rebuilt only at the next
    // flush, so a node (or service) registered in the coalescing window would
    // be missing from the table.
    const index = this.topologyDirty || this.allDirty ? serviceIndex(this.registry.nodes().values()) : this.index;
    const entry = index.get(service);
    if (!entry) return null;
    this.flushGen++;
    const resolved = resolveRequester(requester, this.registry.nodes().values());
    return computeAssignment({ service, requester: resolved, endpoints: this.currentEndpoints(service, entry), config: this.weights, now: Date.now() });
  }

  viewKeys(): ViewKey[] {
    return [...this.views.keys()];
  }

  // ---- change handling --------------------------------------------------------

  private onChange(c: RegistryChange): void {
    if (c.kind === 'heartbeat' && !this.movesWeights(c.nodeId)) return;
    for (const s of c.services) this.dirty.add(s);
    if (c.kind === 'node') {
      this.topologyDirty = true;
      this.nodeFactors.delete(c.nodeId);
    }
    this.schedule(false);
  }

  /**
   * Whether a heartbeat can change what proxies get: the node's own weight
   * factor (q / (L + eps)) moved by at least half the hysteresis threshold
   * since the last time it did, or its overload flag flipped. Noisy
   * heartbeats then cost a few arithmetic operations instead of recomputing
   * every view of the node's services only for hysteresis to discard it.
   */
  private movesWeights(nodeId: string): boolean {
    const node = this.registry.getNode(nodeId);
    if (!node) return true;
    const w = this.weights;
    const { load, latestLoad } = loadsOf(node, w);
    const factor = networkFactor(networkStatsOf(node), w) / (load + w.epsilon);
    const overloaded = latestLoad >= w.overload.threshold;
    const prev = this.nodeFactors.get(nodeId);
    const threshold = w.hysteresisPct / 200;
    if (prev && prev.overloaded === overloaded && Math.abs(factor - prev.factor) <= threshold * prev.factor) return false;
    this.nodeFactors.set(nodeId, { factor, overloaded });
    return true;
  }

  private lastFlushAt = 0;
  /** The pending timer is a flush at once (leading edge): later changes join it. */
  private timerAtOnce = false;

  private schedule(immediate: boolean): void {
    if (this.timer && this.timerAtOnce) return;
    const now = Date.now();
    // Leading edge: the first change after a quiet period goes out at once (with whatever joins it before the timer runs).
    const quiet = !this.timer && now - this.lastFlushAt >= this.coalesceMs;
    if (!this.timer) this.firstChangeAt = now;
    const wait = immediate || quiet ? 0 : Math.max(0, Math.min(this.coalesceMs, this.firstChangeAt + this.maxDelayMs - now));
    this.arm(wait, wait === 0);
  }

  /** (Re)sets the one flush timer. */
  private arm(wait: number, atOnce: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAtOnce = atOnce;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAtOnce = false;
      this.flush();
    }, wait);
  }

  /** Recomputes what changed and hands new snapshots to the watchers of each affected view. */
  flush(): void {
    this.flushGen++;
    const t0 = process.hrtime.bigint();
    const now = Date.now();
    const topology = this.topologyDirty;
    const all = this.allDirty;
    this.topologyDirty = false;
    this.allDirty = false;
    const dirty = all ? null : new Set(this.dirty);
    this.dirty.clear();
    if (topology || all) this.rebuildTopology();
    let retryAt = Infinity;
    const pushedWeights = new Set<string>();
    for (const v of this.views.values()) {
      if (!v.snapshot) continue;
      // A centroid view is recomputed whole when its centroid moved (nodes registered or left
      // there), not on every topology change (a health change elsewhere moves nothing).
      const requester = resolveRequester(v.requester, this.registry.nodes().values());
      const moved = topology && v.centroid && !sameLocation(v.location, requester.location);
      const services = dirty === null || moved ? null : dirty;
      const held = this.computeView(v, services, now, pushedWeights, requester);
      for (const [service, at] of held) {
        this.dirty.add(service);
        retryAt = Math.min(retryAt, at);
      }
    }
    for (const s of pushedWeights) this.lastWeightPush.set(s, now);
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const fn of waiters) fn();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    this.lastFlushAt = Date.now();
    this.computeSeconds.observe(seconds);
    this.viewsGauge.set(this.countComputed());
    this.log.debug({ ms: Math.round(seconds * 1000), topology, services: dirty === null ? 'all' : dirty.size, heldBack: this.dirty.size }, 'snapshots recomputed');
    if (retryAt !== Infinity && !this.timer) {
      this.firstChangeAt = Date.now();
      this.arm(Math.max(10, retryAt - Date.now()), false);
    }
  }

  /**
   * The service's endpoints with the registry's current node objects: the
   * index keeps who serves what (it changes with topology), while heartbeats
   * replace node objects (stats, load) all the time. Memoized per registry
   * state within one flush.
   */
  private currentEndpoints(service: string, entry: ServiceEndpoints): Array<{ node: EdgeNode; port: number }> {
    const memo = this.endpointMemo.get(service);
    if (memo && memo.gen === this.flushGen) return memo.endpoints;
    const endpoints = entry.endpoints.map((e) => ({ node: this.registry.getNode(e.node.id) ?? e.node, port: e.port }));
    this.endpointMemo.set(service, { gen: this.flushGen, endpoints });
    return endpoints;
  }

  private countComputed(): number {
    let n = 0;
    for (const v of this.views.values()) if (v.snapshot) n++;
    return n;
  }

  private rebuildTopology(): void {
    this.index = serviceIndex(this.registry.nodes().values());
    const specs = [...this.index.values()].map((e) => e.spec);
    // Clusters depend only on their service's spec, listeners and routes only on the specs: a
    // topology change that leaves a spec as it was (a health change, a node joining with the
    // same port and protocol...) reuses what was encoded for it.
    const prevSpecs = this.specs;
    const unchanged = (spec: ServiceSpec): boolean => sameSpec(prevSpecs.get(spec.name), spec);
    const allUnchanged = prevSpecs.size === specs.length && specs.every(unchanged);
    for (const kind of ['envoy', 'grpc'] as ClientKind[]) {
      const prev = this.kinds.get(kind);
      const intern = (k: ResourceKind, name: string, msg: object): EncodedResource => {
        const r = encodedResource(k, name, encodeResource(k, msg));
        const o = prev?.[k as 'cluster' | 'listener' | 'route'].resources.get(name);
        return o && o.version === r.version ? o : r;
      };
      const clusterOf = (spec: ServiceSpec): EncodedResource => {
        const o = unchanged(spec) ? prev?.cluster.resources.get(spec.name) : undefined;
        return o ?? intern('cluster', spec.name, buildCluster(spec, kind));
      };
      const cluster = sameOrNew(prev?.cluster, resourceSet('cluster', specs.map(clusterOf)));
      const listener = prev && allUnchanged ? prev.listener : sameOrNew(prev?.listener, resourceSet('listener', buildListeners(specs, kind, this.opts.egress).map((l) => intern('listener', l.name!, l))));
      const route = prev && allUnchanged ? prev.route : sameOrNew(prev?.route, resourceSet('route', buildRouteConfigurations(specs, kind).map((r) => intern('route', r.name!, r))));
      this.kinds.set(kind, { cluster, listener, route });
    }
    this.specs = new Map(specs.map((spec) => [spec.name, spec]));
  }

  /**
   * Recomputes EDS of `services` (null = all) for one view and publishes a new
   * snapshot if anything changed. Returns services whose weight-only change
   * was held back by the rate limit, with when to retry.
   */
  private computeView(v: ViewState, services: Set<string> | null, now: number, pushedWeights?: Set<string>, resolved?: Requester): Map<string, number> {
    const held = new Map<string, number>();
    const requester = resolved ?? resolveRequester(v.requester, this.registry.nodes().values());
    if (services === null) v.location = requester.location;
    const names = services ?? this.index.keys();
    let claChanged = false;
    for (const name of [...v.cla.keys()]) {
      if (!this.index.has(name)) {
        v.cla.delete(name);
        v.assignments.delete(name);
        claChanged = true;
      }
    }
    for (const name of names) {
      const entry = this.index.get(name);
      if (!entry) continue;
      const next = computeAssignment({ service: name, requester, endpoints: this.currentEndpoints(name, entry), config: this.weights, now });
      const prev = v.assignments.get(name);
      const chosen = stabilize(prev, next, this.weights);
      if (chosen === prev && v.cla.has(name)) continue;
      if (prev && v.snapshot && !structureChanged(prev, chosen)) {
        // Weight-only change: rate-limited per service.
        const last = this.lastWeightPush.get(name) ?? 0;
        if (now - last < this.weightPushIntervalMs && !pushedWeights?.has(name)) {
          held.set(name, last + this.weightPushIntervalMs);
          this.deferred.inc();
          continue;
        }
        pushedWeights?.add(name);
      }
      v.assignments.set(name, chosen);
      const cla = buildClusterLoadAssignment(name, chosen, { overprovisioningFactor: this.weights.overprovisioningFactor });
      const r = encodedResource('endpoint', name, encodeResource('endpoint', cla));
      const old = v.cla.get(name);
      if (old && old.version === r.version) continue;
      v.cla.set(name, r);
      claChanged = true;
    }
    const kindRes = this.kinds.get(v.kind)!;
    const prev = v.snapshot;
    const endpointsChanged = !prev || claChanged || prev.endpoint.resources.size !== v.cla.size;
    const next: Snapshot = {
      cluster: kindRes.cluster,
      endpoint: endpointsChanged ? sameOrNew(prev?.endpoint, resourceSet('endpoint', v.cla.values())) : prev.endpoint,
      listener: kindRes.listener,
      route: kindRes.route,
    };
    const changed = !prev || (['cluster', 'endpoint', 'listener', 'route'] as const).some((k) => prev[k] !== next[k]);
    if (changed) {
      v.snapshot = next;
      if (prev) for (const w of v.watchers) w(next);
    }
    return held;
  }

  private collectIdleViews(): void {
    const now = Date.now();
    for (const [key, v] of this.views) {
      if (v.refs === 0 && v.watchers.size === 0 && now - v.idleSince > this.viewIdleMs) this.views.delete(key);
    }
  }
}
