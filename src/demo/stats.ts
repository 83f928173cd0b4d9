/** Counters and latency percentiles of the load generator. */

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i] * 1000) / 1000;
}

export interface TallySnapshot {
  ok: number;
  failed: number;
  counts: Record<string, number>;
  errors: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
  /** p50 latency per serving node. */
  p50ByNode: Record<string, number | null>;
}

/** Results over some period; latencies kept up to `maxSamples` (reservoir sampling beyond). */
export class Tally {
  ok = 0;
  failed = 0;
  readonly counts: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  /** First message seen per error code (to make failures visible). */
  readonly errorSamples: Record<string, string> = {};
  private lat: number[] = [];
  private seen = 0;
  private readonly byNode = new Map<string, number[]>();

  constructor(private readonly maxSamples = 100_000) {}

  success(nodeId: string, ms: number): void {
    this.ok++;
    this.counts[nodeId] = (this.counts[nodeId] ?? 0) + 1;
    this.sample(this.lat, ms);
    let l = this.byNode.get(nodeId);
    if (!l) this.byNode.set(nodeId, (l = []));
    if (l.length < this.maxSamples) l.push(ms);
  }

  failure(code: string, message: string): void {
    this.failed++;
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    this.errorSamples[code] ??= message.slice(0, 300);
  }

  snapshot(): TallySnapshot {
    const sorted = [...this.lat].sort((a, b) => a - b);
    const p50ByNode: Record<string, number | null> = {};
    for (const [n, l] of [...this.byNode.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))
      p50ByNode[n] = percentile(
        [...l].sort((a, b) => a - b),
        50,
      );
    return { ok: this.ok, failed: this.failed, counts: { ...this.counts }, errors: { ...this.errors }, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), p50ByNode };
  }

  /** The latency samples (ms, 0.01 ms resolution), at most `max` (evenly strided). */
  latencies(max = this.maxSamples): number[] {
    const step = Math.max(1, Math.ceil(this.lat.length / max));
    const out: number[] = [];
    for (let i = 0; i < this.lat.length; i += step) out.push(Math.round(this.lat[i] * 100) / 100);
    return out;
  }

  private sample(arr: number[], v: number): void {
    this.seen++;
    if (arr.length < this.maxSamples) arr.push(v);
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < this.maxSamples) arr[j] = v;
    }
  }
}
