/**
 * computeAssignment: the endpoints one requester receives for one service,
 * with priorities (zone, region, failover regions) and weights
 * w_i = C_i / (L_i + eps) * exp(-lambda * d_i) * q_i.
 */
import type { EdgeNode, NodeState } from '../domain';
import type { WeightsConfig } from './config';
import { capacityOf, loadsOf, networkFactor, networkStatsOf } from './factors';
import { haversineKm } from './geo';
import { quantizeWeights } from './quantize';
import type { EndpointAssignment, EndpointHealth, Requester } from './types';

export interface AssignmentParams {
  service: string;
  requester: Requester;
  endpoints: ReadonlyArray<{ node: EdgeNode; port: number }>;
  config: WeightsConfig;
  /** Server clock (ms); only used to ignore stale latest heartbeats. Omit for fully input-determined output. */
  now?: number;
}

const HEALTH: Record<NodeState, EndpointHealth> = {
  healthy: 'HEALTHY',
  suspect: 'DEGRADED',
  unhealthy: 'UNHEALTHY',
  draining: 'DRAINING',
};

export function healthOf(state: NodeState): EndpointHealth {
  return HEALTH[state] ?? 'UNHEALTHY';
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Work {
  node: EdgeNode;
  port: number;
  subZone: string;
  health: EndpointHealth;
  distance: number; // 0 when the requester has no location
  level: number;
  a: EndpointAssignment;
}

/** Orders the regions other than the requester's: configured failover order first, then the rest. */
function regionLevels(requester: Requester, items: readonly Work[], config: WeightsConfig): Map<string, number> {
  const nearest = new Map<string, number>();
  for (const w of items) {
    if (w.node.region === requester.region) continue;
    const d = nearest.get(w.node.region);
    if (d === undefined || w.distance < d) nearest.set(w.node.region, w.distance);
  }
  // Own keys only: a region may be called `constructor` (a valid DNS label), which every object inherits.
  const order = Object.hasOwn(config.regionFailover, requester.region) ? config.regionFailover[requester.region] : [];
  const listed = order.filter((r) => nearest.has(r));
  const listedSet = new Set(listed);
  const rest = [...nearest.keys()].filter((r) => !listedSet.has(r)).sort((a, b) => (nearest.get(a) as number) - (nearest.get(b) as number) || cmp(a, b));
  const out = new Map<string, number>();
  listed.forEach((r, i) => out.set(r, i));
  rest.forEach((r, i) => out.set(r, listed.length + (config.groupUnlistedRegions ? 0 : i)));
  return out;
}

/**
 * The ClusterLoadAssignment content for one requester, sorted by (priority,
 * nodeId, port). Pure and deterministic: equal inputs give equal output.
 *
 * - Each endpoint is its own locality {region, zone, subZone: nodeId}
 *   (nodeId:port if a node serves the service on several ports).
 * - Endpoints sharing an address:port with a node of smaller id are dropped
 *   (clients reject a ClusterLoadAssignment with duplicate addresses).
 * - Non-HEALTHY endpoints are sent with their status and weight 1 (share 0),
 *   or left out when config.nonHealthyEndpoints = 'omit'.
 */
export function computeAssignment(params: AssignmentParams): EndpointAssignment[] {
  const { requester, config, now } = params;
  const sorted = [...params.endpoints].sort((x, y) => cmp(x.node.id, y.node.id) || x.port - y.port);
  const portsPerNode = new Map<string, number>();
  const seenKey = new Set<string>();
  const seenAddr = new Set<string>();
  const unique: Array<{ node: EdgeNode; port: number }> = [];
  for (const e of sorted) {
    const key = `${e.node.id}\u0000${e.port}`;
    const addr = `${e.node.address}\u0000${e.port}`;
    if (seenKey.has(key) || seenAddr.has(addr)) continue;
    seenKey.add(key);
    seenAddr.add(addr);
    unique.push(e);
    portsPerNode.set(e.node.id, (portsPerNode.get(e.node.id) ?? 0) + 1);
  }

  const items: Work[] = [];
  for (const { node, port } of unique) {
    const health = healthOf(node.state);
    if (health !== 'HEALTHY' && config.nonHealthyEndpoints === 'omit') continue;
    const subZone = (portsPerNode.get(node.id) ?? 0) > 1 ? `${node.id}:${port}` : node.id;
    const distanceKm = requester.location ? haversineKm(requester.location, node.location) : null;
    const { load, latestLoad } = loadsOf(node, config, now);
    const capacity = capacityOf(node);
    const network = networkFactor(networkStatsOf(node), config);
    const overloaded = latestLoad >= config.overload.threshold;
    const d = distanceKm ?? 0;
    const raw = (capacity / (load + config.epsilon)) * Math.exp(-config.lambdaPerKm * d) * network;
    items.push({
      node,
      port,
      subZone,
      health,
      distance: d,
      level: 0,
      a: {
        nodeId: node.id,
        address: node.address,
        port,
        locality: { region: node.region, zone: node.zone, subZone },
        priority: 0,
        weight: 1,
        health,
        sharePct: 0,
        factors: { distanceKm, load, latestLoad, capacity, network, overloaded, raw },
      },
    });
  }

  // Levels before renumbering: 0 sub-zone (optional), 1 zone, 2 region, 3.. other regions.
  // 'round-robin' (comparison baseline): one level, equal weights, health still applies.
  const roundRobin = config.strategy === 'round-robin';
  const regions = regionLevels(requester, items, config);
  for (const w of items) {
    const n = w.node;
    if (roundRobin) {
      w.level = 0;
    } else if (n.region === requester.region) {
      if (n.zone === requester.zone) w.level = config.preferSubZone && n.subZone === requester.subZone ? 0 : 1;
      else w.level = 2;
    } else {
      w.level = 3 + (regions.get(n.region) as number);
    }
  }
  const levels = [...new Set(items.map((w) => w.level))].sort((x, y) => x - y);
  const priorityOf = new Map(levels.map((l, i) => [l, i]));

  for (const level of levels) {
    const group = items.filter((w) => w.level === level);
    const priority = priorityOf.get(level) as number;
    for (const w of group) w.a.priority = priority;
    const healthy = group.filter((w) => w.health === 'HEALTHY');
    if (healthy.length === 0) continue;
    const allOverloaded = healthy.every((w) => w.a.factors.overloaded);
    // exp(-lambda * (d - dMin)): same shares as the formula, no underflow for the nearest.
    const dMin = Math.min(...healthy.map((w) => w.distance));
    const effective = healthy.map((w) => {
      if (allOverloaded || roundRobin) return 1;
      const f = w.a.factors;
      const v = (f.capacity / (f.load + config.epsilon)) * Math.exp(-config.lambdaPerKm * (w.distance - dMin)) * f.network;
      return f.overloaded ? v * config.overload.weightFactor : v;
    });
    const weights = quantizeWeights(effective, config.weightScale);
    const total = weights.reduce((x, y) => x + y, 0);
    healthy.forEach((w, i) => {
      w.a.weight = weights[i];
      w.a.sharePct = (weights[i] / total) * 100;
    });
  }

  return items.map((w) => w.a).sort((x, y) => x.priority - y.priority || cmp(x.nodeId, y.nodeId) || x.port - y.port);
}
