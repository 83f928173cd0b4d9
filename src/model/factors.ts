/**
 * The per-endpoint factors of the weight formula: capacity C_i, load L_i
 * (smoothed and latest), network quality q_i.
 */
import type { EdgeNode, LoadReport, NetworkReport } from '../domain';
import type { WeightsConfig } from './config';

function clamp01(v: number | undefined): number | undefined {
  if (v === undefined || !Number.isFinite(v)) return undefined;
  return Math.min(1, Math.max(0, v));
}

function nonNeg(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : 0;
}

/** Upper bound of C_i, so that C / (L + eps) stays finite. */
export const MAX_CAPACITY = 1e12;

/** Declared capacity C_i: maxRps, else cpu cores, else 1 (non-positive values count as undeclared; capped at 1e12). */
export function capacityOf(node: Pick<EdgeNode, 'capacity'>): number {
  const c = node.capacity ?? {};
  if (c.maxRps !== undefined && c.maxRps > 0) return Math.min(c.maxRps, MAX_CAPACITY);
  if (c.cpu !== undefined && c.cpu > 0) return Math.min(c.cpu, MAX_CAPACITY);
  return 1;
}

/** Combines utilisations in [0,1] into one load in [0,1] (max or weighted mean over the weighted resources). */
export function combineLoad(l: LoadReport, cfg: WeightsConfig['load']): number {
  const parts: Array<[number, number]> = [
    [l.cpu, cfg.cpuWeight],
    [l.memory, cfg.memoryWeight],
    [l.network, cfg.networkWeight],
  ];
  if (cfg.combine === 'max') {
    let m = 0;
    for (const [v, w] of parts) if (w > 0 && v > m) m = v;
    return m;
  }
  let num = 0;
  let den = 0;
  for (const [v, w] of parts) {
    num += v * w;
    den += w;
  }
  return den > 0 ? num / den : 0;
}

export interface NodeLoads {
  /** L_i: smoothed (EWMA) load, else the latest heartbeat's, else 0. */
  load: number;
  /** Latest reported load; fields the last heartbeat did not carry come from the EWMA. */
  latestLoad: number;
}

/**
 * Loads of a node. `now` (when given) with overload.maxHeartbeatAgeMs > 0
 * ignores a latest heartbeat older than that (latestLoad then = load).
 */
export function loadsOf(node: Pick<EdgeNode, 'stats' | 'lastHeartbeat'>, cfg: WeightsConfig, now?: number): NodeLoads {
  const s = node.stats;
  const hb = node.lastHeartbeat;
  const fresh = hb !== null && (now === undefined || cfg.overload.maxHeartbeatAgeMs === 0 || now - hb.at <= cfg.overload.maxHeartbeatAgeMs);
  const pick = (f: keyof LoadReport, first: 'stats' | 'latest'): number => {
    const fromStats = s ? clamp01(s[f]) : undefined;
    const fromLatest = hb ? clamp01(hb.load?.[f]) : undefined;
    return (first === 'stats' ? (fromStats ?? fromLatest) : (fromLatest ?? fromStats)) ?? 0;
  };
  const smoothed: LoadReport = { cpu: pick('cpu', 'stats'), memory: pick('memory', 'stats'), network: pick('network', 'stats') };
  const load = combineLoad(smoothed, cfg.load);
  if (!fresh) return { load, latestLoad: load };
  const latest: LoadReport = { cpu: pick('cpu', 'latest'), memory: pick('memory', 'latest'), network: pick('network', 'latest') };
  return { load, latestLoad: combineLoad(latest, cfg.load) };
}

/**
 * Network quality q in [minFactor, 1]:
 * exp(-(a*latency/latRef + b*jitter/jitRef + c*loss/lossRef)). Missing or
 * invalid measurements count as 0 (no information is no penalty).
 */
export function networkFactor(stats: Partial<NetworkReport> | null | undefined, config: Pick<WeightsConfig, 'network'>): number {
  const n = config.network;
  if (!stats) return 1;
  const x =
    (n.latencyWeight * nonNeg(stats.latencyMs)) / n.latencyRefMs +
    (n.jitterWeight * nonNeg(stats.jitterMs)) / n.jitterRefMs +
    (n.lossWeight * Math.min(1, nonNeg(stats.packetLoss))) / n.lossRef;
  return Math.min(1, Math.max(n.minFactor, Math.exp(-x)));
}

/** The network stats a node's q_i is computed from: EWMA, else the latest heartbeat's. */
export function networkStatsOf(node: Pick<EdgeNode, 'stats' | 'lastHeartbeat'>): Partial<NetworkReport> | null {
  if (node.stats) return node.stats;
  return node.lastHeartbeat?.network ?? null;
}
