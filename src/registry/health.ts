/** The timer-driven part of the node health state machine. */
import type { EdgeNode, NodeState } from '../domain';

/** Missed intervals after which a node becomes suspect / unhealthy. */
export const SUSPECT_AFTER_INTERVALS = 2;
export const UNHEALTHY_AFTER_INTERVALS = 3;

/**
 * When the node last showed signs of life: its latest heartbeat or
 * (re-)registration, but never earlier than `floor` (the server start, so a
 * restart does not mark every node suspect before it had a chance to report).
 */
export function lastSeenAt(node: EdgeNode, floor: number): number {
  return Math.max(node.lastHeartbeat?.at ?? 0, node.updatedAt, floor);
}

/**
 * The state a sweep moves a node to, or null when it stays. Sweeps only
 * degrade (healthy -> suspect -> unhealthy); a heartbeat brings a node back to
 * healthy; draining nodes are left to the drain deadline.
 */
export function sweepState(node: EdgeNode, now: number, intervalMs: number, floor: number): NodeState | null {
  if (node.state === 'draining') return null;
  const silent = now - lastSeenAt(node, floor);
  let target: NodeState = node.state;
  if (silent > UNHEALTHY_AFTER_INTERVALS * intervalMs) target = 'unhealthy';
  else if (silent > SUSPECT_AFTER_INTERVALS * intervalMs && node.state === 'healthy') target = 'suspect';
  return target === node.state ? null : target;
}

/** How often the sweep runs for a given heartbeat interval. */
export function sweepPeriodMs(intervalMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(intervalMs / 4)));
}
