/** Prometheus metrics of the registry (nodes by state, heartbeat group commit). */
import type { Metrics } from '../observability';
import type { NodeState, RegistryView } from '../domain';

const STATES: NodeState[] = ['healthy', 'suspect', 'unhealthy', 'draining'];

export interface HeartbeatBatchObserver {
  (size: number, durationMs: number, error?: unknown): void;
}

export function registryMetrics(metrics: Metrics, view: () => RegistryView | null): HeartbeatBatchObserver {
  const nodes = metrics.gauge('edge_xds_nodes', 'Registered nodes by state', ['state'] as const);
  // Computed on scrape from the in-memory view.
  const collect = (): void => {
    const counts: Record<string, number> = { healthy: 0, suspect: 0, unhealthy: 0, draining: 0 };
    const v = view();
    if (v) for (const n of v.nodes().values()) counts[n.state]++;
    for (const s of STATES) nodes.set({ state: s }, counts[s]);
  };
  (nodes as unknown as { collect?: () => void }).collect = collect;
  const heartbeats = metrics.counter('edge_xds_heartbeats_total', 'Heartbeats committed');
  const batches = metrics.histogram('edge_xds_heartbeat_batch_size', 'Heartbeats per group commit', [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500]);
  const commit = metrics.histogram('edge_xds_heartbeat_commit_seconds', 'Duration of one heartbeat group commit', [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25]);
  const failures = metrics.counter('edge_xds_heartbeat_batch_failures_total', 'Heartbeat group commits that failed');
  return (size, durationMs, error) => {
    if (error !== undefined) {
      failures.inc();
      return;
    }
    heartbeats.inc(size);
    batches.observe(size);
    commit.observe(durationMs / 1000);
  };
}
