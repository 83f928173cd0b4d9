/**
 * Registry + model -> snapshots, with no timers and no caching of views: the
 * pure part of the mesh source, unit-testable on its own.
 *
 * - CDS/LDS/RDS depend only on the client kind: built once per kind and shared
 *   by every view of that kind (same EncodedResource objects).
 * - EDS depends on where the proxy is: computed per view with the edge-aware
 *   model, stabilized by hysteresis, encoded once per view and version.
 */
import type { EdgeNode, GeoLocation, RegistryView } from '../domain';
import {
  computeAssignment,
  resolveRequester,
  stabilize,
  structureChanged,
  loadsOf,
  networkFactor,
  networkStatsOf,
  type ClientKind,
  type EndpointAssignment,
  type Requester,
  type RequesterInput,
  type ServiceSpec,
  type WeightsConfig,
} from '../model';
import { buildCluster, buildClusterLoadAssignment, buildListeners, buildRouteConfigurations, encodeResource, type EgressListenerOptions } from './resources';
import { encodedResource, type EncodedResource } from './encoded-resource';
import { resourceSet, sameOrNew, snapshotProblems, type ResourceSet, type Snapshot } from './snapshot';
import { sameSpec, serviceIndex, type ServiceEndpoints } from './specs';
import type { WeightPushLimiter } from './flush-scheduler';
import type { ResourceKind } from './protos';

/** What the builder keeps per view between two builds (lives in the view cache with the view). */
export interface ViewBuildState {
  readonly clientKind: ClientKind;
  readonly requester: RequesterInput;
  /** True when the location is a centroid of the zone/region, which moves as nodes register. */
  readonly centroid: boolean;
  /** The location the view's assignments were last computed for (undefined: never computed). */
  location?: GeoLocation | null;
  assignments: Map<string, EndpointAssignment[]>;
  cla: Map<string, EncodedResource>;
}

export interface ViewBuild {
  /** The new snapshot, or the previous one (same object) when nothing changed. */
  snapshot: Snapshot;
  /** Services whose weight-only change the rate limit held back, with when to retry. */
  held: Map<string, number>;
  /** Weight-only changes held back (for the metric). */
  deferred: number;
}

/** CDS/LDS/RDS of one client kind: the same ResourceSet objects in every view of that kind. */
interface ClientKindResources {
  cluster: ResourceSet;
  listener: ResourceSet;
  route: ResourceSet;
}

export function sameLocation(a: GeoLocation | null | undefined, b: GeoLocation | null | undefined): boolean {
  if (a === undefined) return false;
  return a === b || (!!a && !!b && a.lat === b.lat && a.lon === b.lon);
}

export class SnapshotBuilder {
  private index = new Map<string, ServiceEndpoints>();
  /** The specs the current CDS/LDS/RDS were built from. */
  private specs = new Map<string, ServiceSpec>();
  private readonly byClientKind = new Map<ClientKind, ClientKindResources>();
  /** Per node: the weight factor and overload flag when its heartbeats last triggered a recomputation. */
  private readonly nodeFactors = new Map<string, { factor: number; overloaded: boolean }>();
  private readonly endpointMemo = new Map<string, { gen: number; endpoints: Array<{ node: EdgeNode; port: number }> }>();
  /** Bumped whenever the registry may have changed (each build round). */
  private gen = 0;

  constructor(
    private readonly registry: RegistryView,
    public weights: WeightsConfig,
    private readonly egress?: EgressListenerOptions,
  ) {}

  /** Starts a build round: node objects are re-read from the registry. */
  newRound(): void {
    this.gen++;
  }

  forgetFactors(nodeId?: string): void {
    if (nodeId === undefined) this.nodeFactors.clear();
    else this.nodeFactors.delete(nodeId);
  }

  hasService(name: string): boolean {
    return this.index.has(name);
  }

  serviceNames(): IterableIterator<string> {
    return this.index.keys();
  }

  newViewState(kind: ClientKind, requester: RequesterInput, location: GeoLocation | null): ViewBuildState {
    return { clientKind: kind, centroid: !location, requester: { ...requester, location }, assignments: new Map(), cla: new Map() };
  }

  resolve(requester: RequesterInput): Requester {
    return resolveRequester(requester, this.registry.nodes().values());
  }

  /**
   * Whether a heartbeat can change what proxies get: the node's own weight
   * factor (q / (L + eps)) moved by at least half the hysteresis threshold
   * since the last time it did, or its overload flag flipped. Noisy
   * heartbeats then cost a few arithmetic operations instead of recomputing
   * every view of the node's services only for hysteresis to discard it.
   */
  movesWeights(nodeId: string): boolean {
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

  /** What a requester there receives for a service, without hysteresis (explain / debugging). */
  explain(service: string, requester: RequesterInput, fresh: boolean): EndpointAssignment[] | null {
    // `fresh`: read the registry as it is now (the index is rebuilt only at the next flush).
    const index = fresh ? serviceIndex(this.registry.nodes().values()) : this.index;
    const entry = index.get(service);
    if (!entry) return null;
    this.gen++;
    return computeAssignment({ service, requester: this.resolve(requester), endpoints: this.currentEndpoints(service, entry), config: this.weights, now: Date.now() });
  }

  /**
   * The service's endpoints with the registry's current node objects: the
   * index keeps who serves what (it changes with topology), while heartbeats
   * replace node objects (stats, load) all the time. Memoized per round.
   */
  private currentEndpoints(service: string, entry: ServiceEndpoints): Array<{ node: EdgeNode; port: number }> {
    const memo = this.endpointMemo.get(service);
    if (memo && memo.gen === this.gen) return memo.endpoints;
    const endpoints = entry.endpoints.map((e) => ({ node: this.registry.getNode(e.node.id) ?? e.node, port: e.port }));
    this.endpointMemo.set(service, { gen: this.gen, endpoints });
    return endpoints;
  }

  /** Rebuilds the service index and CDS/LDS/RDS of each client kind (reusing what did not change). */
  rebuildTopology(): void {
    const index = serviceIndex(this.registry.nodes().values());
    const specs = [...index.values()].map((e) => e.spec);
    // Clusters depend only on their service's spec, listeners and routes only on the specs: a
    // topology change that leaves a spec as it was (a health change, a node joining with the
    // same port and protocol...) reuses what was encoded for it.
    const prevSpecs = this.specs;
    const unchanged = (spec: ServiceSpec): boolean => sameSpec(prevSpecs.get(spec.name), spec);
    const allUnchanged = prevSpecs.size === specs.length && specs.every(unchanged);
    const built = new Map<ClientKind, ClientKindResources>();
    for (const kind of ['envoy', 'grpc'] as ClientKind[]) {
      const prev = this.byClientKind.get(kind);
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
      const listener =
        prev && allUnchanged
          ? prev.listener
          : sameOrNew(
              prev?.listener,
              resourceSet(
                'listener',
                buildListeners(specs, kind, this.egress).map((l) => intern('listener', l.name!, l)),
              ),
            );
      const route =
        prev && allUnchanged
          ? prev.route
          : sameOrNew(
              prev?.route,
              resourceSet(
                'route',
                buildRouteConfigurations(specs, kind).map((r) => intern('route', r.name!, r)),
              ),
            );
      built.set(kind, { cluster, listener, route });
    }
    // Committed only once everything was built: a throw leaves the previous topology whole.
    this.index = index;
    for (const [k, r] of built) this.byClientKind.set(k, r);
    this.specs = new Map(specs.map((spec) => [spec.name, spec]));
  }

  /**
   * Recomputes EDS of `services` (null = all) for one view. Returns the view's
   * next snapshot (`prev` itself when nothing changed). Throws when the build
   * fails or the snapshot would be inconsistent; the caller keeps `prev`.
   */
  buildView(v: ViewBuildState, prev: Snapshot | null, services: Set<string> | null, now: number, limiter?: WeightPushLimiter, resolved?: Requester): ViewBuild {
    const held = new Map<string, number>();
    let deferred = 0;
    const requester = resolved ?? this.resolve(v.requester);
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
      const before = v.assignments.get(name);
      const chosen = stabilize(before, next, this.weights);
      if (chosen === before && v.cla.has(name)) continue;
      if (before && prev && !structureChanged(before, chosen) && limiter) {
        // Weight-only change: rate-limited per service.
        const retryAt = limiter.check(name, now);
        if (retryAt !== 0) {
          held.set(name, retryAt);
          deferred++;
          continue;
        }
      }
      v.assignments.set(name, chosen);
      const cla = buildClusterLoadAssignment(name, chosen, { overprovisioningFactor: this.weights.overprovisioningFactor });
      const r = encodedResource('endpoint', name, encodeResource('endpoint', cla));
      const old = v.cla.get(name);
      if (old && old.version === r.version) continue;
      v.cla.set(name, r);
      claChanged = true;
    }
    const shared = this.byClientKind.get(v.clientKind)!;
    const endpointsChanged = !prev || claChanged || prev.endpoint.resources.size !== v.cla.size;
    const next: Snapshot = {
      cluster: shared.cluster,
      endpoint: endpointsChanged ? sameOrNew(prev?.endpoint, resourceSet('endpoint', v.cla.values())) : prev.endpoint,
      listener: shared.listener,
      route: shared.route,
    };
    const changed = !prev || (['cluster', 'endpoint', 'listener', 'route'] as const).some((k) => prev[k] !== next[k]);
    if (!changed) return { snapshot: prev, held, deferred };
    // go-control-plane's Consistent(): never publish a snapshot that points at nothing.
    const problems = snapshotProblems(next);
    if (problems.length > 0) throw new Error(`inconsistent snapshot: ${problems.slice(0, 3).join('; ')}`);
    return { snapshot: next, held, deferred };
  }
}
