/**
 * Open-loop load generator for the Echo service: sends RPCs at a steady rate
 * (bounded by count and duration, each with a deadline) and reports which node
 * served them and the latency, as records:
 *   {type:'ready'|'start', ...}
 *   {type:'window', t, seq, ok, failed, counts:{nodeId:n}, errors:{CODE:n}, p50Ms, p99Ms, p50ByNode}   (this interval only)
 *   {type:'phase', name, t, ...}   (everything since the previous mark/reset, emitted by mark())
 *   {type:'summary', total, ok, failed, byNode, errorsByCode, errorSamples, p50Ms, p99Ms, p50ByNode, durationMs}
 * The target is any grpc-js target: `xds:///echo` (grpc-js-xds must be
 * registered by the caller), or a plain one such as `dns:///envoy:15001` with
 * `authority: 'echo'` so Envoy's egress listener routes by :authority.
 */
import * as grpc from '@grpc/grpc-js';
import { EchoClient, loadEcho } from './proto';
import { Tally, TallySnapshot } from './stats';

export interface LoadgenOptions {
  target: string;
  /** :authority of the RPCs (channel option grpc.default_authority). */
  authority?: string;
  /** Requests per second. */
  rate: number;
  durationMs: number;
  /** Stop after this many requests (default rate * duration). */
  maxRequests?: number;
  /** Per-RPC deadline (default 1000 ms). */
  deadlineMs?: number;
  /** Window record interval (default 1000 ms). */
  reportEveryMs?: number;
  /** Before the clock starts, wait up to this long for a first successful RPC (default 10000; 0 = no wait). */
  warmupMs?: number;
  /** Where this client is, sent with every RPC as x-client-region / x-client-zone (demo backends model distance with it). */
  clientLocality?: { region: string; zone: string };
  onRecord: (record: LoadgenRecord) => void;
}

export type WindowRecord = { type: 'window'; t: number; seq: number } & TallySnapshot;
/** `latencies`: the phase's successful RPC latencies (ms; a uniform sample beyond 20,000) so callers can merge percentiles. */
export type PhaseRecord = { type: 'phase'; name: string; t: number; durationMs: number; latencies?: number[] } & TallySnapshot;
export interface SummaryRecord {
  type: 'summary';
  target: string;
  total: number;
  ok: number;
  failed: number;
  byNode: Record<string, number>;
  errorsByCode: Record<string, number>;
  errorSamples: Record<string, string>;
  p50Ms: number | null;
  p99Ms: number | null;
  p50ByNode: Record<string, number | null>;
  durationMs: number;
}
export interface ReadyRecord {
  type: 'ready';
  ok: boolean;
  waitedMs: number;
  error?: string;
}
export interface StartRecord {
  type: 'start';
  target: string;
  authority: string | null;
  rate: number;
  durationMs: number;
  maxRequests: number;
}
export type LoadgenRecord = ReadyRecord | StartRecord | WindowRecord | PhaseRecord | SummaryRecord;

const TICK_MS = 5;

export class Loadgen {
  private readonly client: EchoClient;
  private readonly total = new Tally();
  private window = new Tally(10_000);
  private phase = new Tally();
  private phaseName = 'initial';
  private phaseStart = 0;
  private sent = 0;
  private inflight = 0;
  private seq = 0;
  private t0 = 0;
  private stopped = false;
  private tick: NodeJS.Timeout | null = null;
  private report: NodeJS.Timeout | null = null;
  private wakeDone: (() => void) | null = null;
  private readonly maxRequests: number;

  constructor(private readonly opts: LoadgenOptions) {
    if (!(opts.rate > 0)) throw new Error(`rate: must be > 0, got ${opts.rate}`);
    if (!(opts.durationMs > 0)) throw new Error(`durationMs: must be > 0, got ${opts.durationMs}`);
    this.maxRequests = opts.maxRequests ?? Math.ceil((opts.rate * opts.durationMs) / 1000);
    const { Client } = loadEcho();
    const channelOptions: grpc.ChannelOptions = {};
    if (opts.authority) channelOptions['grpc.default_authority'] = opts.authority;
    this.client = new Client(opts.target, grpc.credentials.createInsecure(), channelOptions);
  }

  /** Waits for readiness, runs until duration/count/stop(), resolves with the summary (also emitted). */
  async run(): Promise<SummaryRecord> {
    await this.warmup();
    const o = this.opts;
    this.opts.onRecord({ type: 'start', target: o.target, authority: o.authority ?? null, rate: o.rate, durationMs: o.durationMs, maxRequests: this.maxRequests });
    this.t0 = performance.now();
    this.phaseStart = this.t0;
    const done = new Promise<void>((resolve) => (this.wakeDone = resolve));
    this.tick = setInterval(() => this.onTick(), TICK_MS);
    this.report = setInterval(() => this.emitWindow(), o.reportEveryMs ?? 1000);
    await done;
    return this.finish();
  }

  /** Starts a new phase: emits the previous phase's totals as a 'phase' record. */
  mark(name: string): void {
    const now = performance.now();
    this.opts.onRecord({
      type: 'phase',
      name: this.phaseName,
      t: Math.round(now - this.t0),
      durationMs: Math.round(now - this.phaseStart),
      ...this.phase.snapshot(),
      latencies: this.phase.latencies(20_000),
    });
    this.phase = new Tally();
    this.phaseName = name;
    this.phaseStart = now;
    this.window = new Tally(10_000);
  }

  /** Stops sending; run() resolves once in-flight RPCs are done. */
  stop(): void {
    this.stopped = true;
    this.maybeDone();
  }

  close(): void {
    this.client.close();
  }

  private async warmup(): Promise<void> {
    const budget = this.opts.warmupMs ?? 10_000;
    if (budget <= 0) return;
    const start = performance.now();
    let lastError = '';
    while (performance.now() - start < budget && !this.stopped) {
      const left = Math.max(50, budget - (performance.now() - start));
      const err = await new Promise<grpc.ServiceError | null>((resolve) => {
        const md = new grpc.Metadata();
        this.client.Echo({ message: 'warmup' }, md, { deadline: Date.now() + Math.min(left, 1000), waitForReady: true } as Partial<grpc.CallOptions>, (e) => resolve(e));
      });
      if (!err) {
        this.opts.onRecord({ type: 'ready', ok: true, waitedMs: Math.round(performance.now() - start) });
        return;
      }
      lastError = `${grpc.status[err.code] ?? err.code}: ${err.details}`;
      await new Promise((r) => setTimeout(r, 100));
    }
    this.opts.onRecord({ type: 'ready', ok: false, waitedMs: Math.round(performance.now() - start), error: lastError });
  }

  private onTick(): void {
    if (this.stopped) return;
    const elapsed = performance.now() - this.t0;
    if (elapsed >= this.opts.durationMs || this.sent >= this.maxRequests) {
      this.stop();
      return;
    }
    const due = Math.min(this.maxRequests, Math.floor((elapsed * this.opts.rate) / 1000) + 1);
    while (this.sent < due) this.sendOne();
  }

  private sendOne(): void {
    this.sent++;
    this.inflight++;
    const t = performance.now();
    const deadline = Date.now() + (this.opts.deadlineMs ?? 1000);
    const md = new grpc.Metadata();
    if (this.opts.clientLocality) {
      md.set('x-client-region', this.opts.clientLocality.region);
      md.set('x-client-zone', this.opts.clientLocality.zone);
    }
    this.client.Echo({ message: String(this.sent), sentAtMs: Date.now() }, md, { deadline }, (err, reply) => {
      const ms = performance.now() - t;
      this.inflight--;
      for (const tally of [this.total, this.window, this.phase]) {
        if (err) tally.failure(grpc.status[err.code] ?? String(err.code), err.details || err.message);
        else tally.success(reply?.nodeId || 'unknown', ms);
      }
      this.maybeDone();
    });
  }

  private emitWindow(): void {
    const w = this.window.snapshot();
    this.window = new Tally(10_000);
    this.opts.onRecord({ type: 'window', t: Math.round(performance.now() - this.t0), seq: ++this.seq, ...w });
  }

  private maybeDone(): void {
    if (this.stopped && this.inflight === 0 && this.wakeDone) {
      const w = this.wakeDone;
      this.wakeDone = null;
      w();
    }
  }

  private finish(): SummaryRecord {
    if (this.tick) clearInterval(this.tick);
    if (this.report) clearInterval(this.report);
    this.emitWindow();
    const s = this.total.snapshot();
    const summary: SummaryRecord = {
      type: 'summary',
      target: this.opts.target,
      total: s.ok + s.failed,
      ok: s.ok,
      failed: s.failed,
      byNode: s.counts,
      errorsByCode: s.errors,
      errorSamples: { ...this.total.errorSamples },
      p50Ms: s.p50Ms,
      p99Ms: s.p99Ms,
      p50ByNode: s.p50ByNode,
      durationMs: Math.round(performance.now() - this.t0),
    };
    this.opts.onRecord(summary);
    return summary;
  }
}

/** One human line per record (`--format text`). */
export function formatRecord(r: LoadgenRecord): string {
  switch (r.type) {
    case 'ready':
      return r.ok ? `ready after ${r.waitedMs} ms` : `not ready after ${r.waitedMs} ms (${r.error ?? ''}); starting anyway`;
    case 'start':
      return `sending ${r.rate}/s to ${r.target}${r.authority ? ` (authority ${r.authority})` : ''} for ${r.durationMs} ms`;
    case 'window':
    case 'phase': {
      const total = r.ok + r.failed || 1;
      const sites = Object.entries(r.counts)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([n, c]) => `${n} ${Math.round((100 * c) / total)}% p50=${r.p50ByNode[n] ?? '-'}ms`)
        .join(' | ');
      const errs = Object.entries(r.errors)
        .map(([c, n]) => `${c}=${n}`)
        .join(' ');
      const head = r.type === 'phase' ? `phase ${r.name}` : `t=${(r.t / 1000).toFixed(1)}s`;
      return `${head} ok=${r.ok} failed=${r.failed} p50=${r.p50Ms ?? '-'}ms p99=${r.p99Ms ?? '-'}ms | ${sites}${errs ? ` | errors ${errs}` : ''}`;
    }
    case 'summary':
      return `summary: ${r.ok}/${r.total} ok, p50=${r.p50Ms ?? '-'}ms p99=${r.p99Ms ?? '-'}ms, by node ${JSON.stringify(r.byNode)}, errors ${JSON.stringify(r.errorsByCode)} ${JSON.stringify(r.errorSamples)}`;
  }
}
