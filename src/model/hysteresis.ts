/**
 * Hysteresis: do not re-push weights for small share changes.
 */
import type { WeightsConfig } from './config';
import type { EndpointAssignment } from './types';

const key = (a: EndpointAssignment): string => `${a.nodeId}\u0000${a.port}`;

/** True when the two assignments differ in anything but weights/shares/factors. */
export function structureChanged(previous: readonly EndpointAssignment[], next: readonly EndpointAssignment[]): boolean {
  if (previous.length !== next.length) return true;
  const prev = new Map(previous.map((a) => [key(a), a]));
  if (prev.size !== previous.length) return true;
  for (const n of next) {
    const p = prev.get(key(n));
    if (
      !p ||
      p.priority !== n.priority ||
      p.health !== n.health ||
      p.factors.overloaded !== n.factors.overloaded ||
      p.address !== n.address ||
      p.locality.region !== n.locality.region ||
      p.locality.zone !== n.locality.zone ||
      p.locality.subZone !== n.locality.subZone
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Returns `previous` itself (so `result === previous` means "nothing to
 * push") when membership, addresses, localities, priorities, health and
 * overload flags are unchanged and every endpoint's share moved by less than
 * hysteresisPct relative to its previous share, or by less than
 * hysteresisAbsPct percentage points. Otherwise returns `next`: health,
 * overload and membership changes are always taken at once. Pure.
 */
export function stabilize(
  previous: EndpointAssignment[] | undefined,
  next: EndpointAssignment[],
  config: Pick<WeightsConfig, 'hysteresisPct' | 'hysteresisAbsPct'>,
): EndpointAssignment[] {
  if (!previous || structureChanged(previous, next)) return next;
  const prev = new Map(previous.map((a) => [key(a), a]));
  const rel = config.hysteresisPct / 100;
  for (const n of next) {
    const p = prev.get(key(n)) as EndpointAssignment;
    const delta = Math.abs(n.sharePct - p.sharePct);
    if (delta === 0) continue;
    const small = (p.sharePct > 0 && delta < rel * p.sharePct) || delta < config.hysteresisAbsPct;
    if (!small) return next;
  }
  return previous;
}
