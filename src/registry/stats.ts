/** EWMA smoothing of heartbeat reports. */
import type { HeartbeatInput, SmoothedStats } from '../domain';

export const DEFAULT_EWMA_ALPHA = 0.3;

/**
 * Folds one heartbeat into the smoothed stats: s' = alpha*x + (1-alpha)*s for
 * every field the heartbeat reports; unreported fields keep their value. The
 * first heartbeat seeds each field with its value (unreported fields start at 0).
 */
export function foldHeartbeat(prev: SmoothedStats | null, hb: HeartbeatInput, alpha: number): SmoothedStats {
  const l = hb.load ?? {};
  const n = hb.network ?? {};
  if (prev === null) {
    return {
      cpu: l.cpu ?? 0,
      memory: l.memory ?? 0,
      network: l.network ?? 0,
      latencyMs: n.latencyMs ?? 0,
      jitterMs: n.jitterMs ?? 0,
      packetLoss: n.packetLoss ?? 0,
      samples: 1,
    };
  }
  const f = (x: number | undefined, s: number): number => (x === undefined ? s : alpha * x + (1 - alpha) * s);
  return {
    cpu: f(l.cpu, prev.cpu),
    memory: f(l.memory, prev.memory),
    network: f(l.network, prev.network),
    latencyMs: f(n.latencyMs, prev.latencyMs),
    jitterMs: f(n.jitterMs, prev.jitterMs),
    packetLoss: f(n.packetLoss, prev.packetLoss),
    samples: prev.samples + 1,
  };
}
