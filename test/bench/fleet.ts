/**
 * The fleet controller: forks worker processes (fleet-worker), hands each a
 * share of the proxies, and gathers their per-stream figures. Used by the
 * bench (test/bench/fleet-bench.ts) and the correctness test (test/fleet/).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FleetNode } from './fleet-wire';
import type { FleetTls, FromWorker, MarkResult, StreamSummary, ToWorker, VersionSeen, WorkerStats } from './fleet-protocol';

export const nowMs = (): number => performance.timeOrigin + performance.now();

export interface Zone {
  region: string;
  zone: string;
}

export interface FleetOptions {
  /** host:port of the xDS server. */
  target: string;
  mode: 'sotw' | 'delta';
  proxies: number;
  /** Proxies are spread round-robin over these localities. */
  zones: Zone[];
  workers?: number;
  /** HTTP/2 connections (grpc.Client instances) per worker. */
  channelsPerWorker?: number;
  /** Check every distinct resource with Envoy's protos (no unknown fields). */
  strict?: boolean;
  idPrefix?: string;
  userAgent?: string;
  /** Streams opened per batch per worker, and the pause between batches. */
  batch?: number;
  batchDelayMs?: number;
  /** Extra node flags for the worker processes (--cpu-prof ...). */
  workerFlags?: string[];
  /**
   * mTLS (a secure-mode server): the CA bundle and each proxy's key and certificate chain by node id
   * (spiffe://<trust-domain>/node/<id>). Every proxy then has its own channel; channelsPerWorker is ignored.
   */
  tls?: { caPem: string; identities: Map<string, { keyPem: string; certPem: string }> };
}

export function fleetNodes(opts: FleetOptions): FleetNode[] {
  const prefix = opts.idPrefix ?? 'proxy';
  return Array.from({ length: opts.proxies }, (_, i) => {
    const z = opts.zones[i % opts.zones.length];
    return { id: `${prefix}-${i}`, userAgent: opts.userAgent ?? 'envoy', region: z.region, zone: z.zone };
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export class Fleet {
  private readonly workers: ChildProcess[] = [];
  private reqSeq = 0;
  private readonly pending = new Map<string, (m: FromWorker) => void>();
  private opened = 0;
  openedAt = 0;
  /** When the first stream was opened (sync times count from here). */
  startedAt = Infinity;
  /** The workers' CPU (ms, summed) just before their first streams opened. */
  cpuAtStartMs = 0;

  private constructor(readonly opts: FleetOptions) {}

  static async start(opts: FleetOptions): Promise<Fleet> {
    const f = new Fleet(opts);
    await f.spawn();
    return f;
  }

  private async spawn(): Promise<void> {
    const n = Math.max(1, Math.min(this.opts.workers ?? 2, this.opts.proxies));
    const nodes = fleetNodes(this.opts);
    const allOpened = new Promise<void>((resolve, reject) => {
      for (let w = 0; w < n; w++) {
        const child = fork(path.join(__dirname, 'fleet-worker.js'), [], {
          execArgv: ['--max-old-space-size=2048', ...(this.opts.workerFlags ?? [])],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        this.workers.push(child);
        child.on('message', (m: FromWorker) => {
          if (m.type === 'opened') {
            this.opened++;
            this.openedAt = Math.max(this.openedAt, m.at);
            this.startedAt = Math.min(this.startedAt, m.firstAt);
            this.cpuAtStartMs += m.cpuAtFirstMs;
            if (this.opened === n) resolve();
            return;
          }
          const key = `${w}:${m.req}`;
          const fn = this.pending.get(key);
          this.pending.delete(key);
          fn?.(m);
        });
        child.on('exit', (code) => {
          if (this.opened < n) reject(new Error(`fleet worker ${w} exited (${code}) before opening its streams`));
        });
        const mine = nodes.filter((_, i) => i % n === w);
        let tls: FleetTls | undefined;
        if (this.opts.tls) {
          const ids = this.opts.tls.identities;
          tls = {
            caPem: this.opts.tls.caPem,
            identities: mine.map((node) => {
              const id = ids.get(node.id);
              if (!id) throw new Error(`fleet: no certificate for ${node.id}`);
              return id;
            }),
          };
        }
        this.send(child, {
          cmd: 'open',
          target: this.opts.target,
          mode: this.opts.mode,
          strict: this.opts.strict ?? false,
          channels: this.opts.channelsPerWorker ?? 8,
          batch: this.opts.batch ?? 100,
          batchDelayMs: this.opts.batchDelayMs ?? 5,
          nodes: mine,
          tls,
        });
      }
    });
    await allOpened;
  }

  private send(child: ChildProcess, m: ToWorker): void {
    child.send(m);
  }

  /** Asks every worker and returns their answers (bounded by timeoutMs). */
  private ask<T extends FromWorker>(make: (req: number) => ToWorker, timeoutMs = 30_000): Promise<T[]> {
    const req = ++this.reqSeq;
    return Promise.all(
      this.workers.map(
        (child, w) =>
          new Promise<T>((resolve, reject) => {
            const key = `${w}:${req}`;
            const timer = setTimeout(() => {
              this.pending.delete(key);
              reject(new Error(`fleet worker ${w} did not answer within ${timeoutMs} ms`));
            }, timeoutMs);
            this.pending.set(key, (m) => {
              clearTimeout(timer);
              resolve(m as T);
            });
            this.send(child, make(req));
          }),
      ),
    );
  }

  async stats(): Promise<WorkerStats> {
    const all = await this.ask<Extract<FromWorker, { type: 'stats' }>>((req) => ({ cmd: 'stats', req }));
    const out: WorkerStats = { streams: 0, synced: 0, lastSync: 0, responses: 0, bytes: 0, errors: 0, firstError: '', strictErrors: 0, firstStrictError: '', cpuMs: 0 };
    for (const s of all) {
      out.streams += s.streams;
      out.synced += s.synced;
      out.lastSync = Math.max(out.lastSync, s.lastSync);
      out.responses += s.responses;
      out.bytes += s.bytes;
      out.errors += s.errors;
      out.firstError ||= s.firstError;
      out.strictErrors += s.strictErrors;
      out.firstStrictError ||= s.firstStrictError;
      out.cpuMs += s.cpuMs;
    }
    return out;
  }

  /** Waits until every proxy has ACKed a complete config; returns the time from the fleet's start to the last sync. */
  async waitSynced(timeoutMs: number, progress?: (s: WorkerStats) => void): Promise<{ ms: number; synced: number; stats: WorkerStats }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.stats();
      progress?.(s);
      if (s.synced >= this.opts.proxies) return { ms: s.lastSync - this.startedAt, synced: s.synced, stats: s };
      if (Date.now() > deadline) return { ms: NaN, synced: s.synced, stats: s };
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Per-stream time from opening to complete config (ms; -1 when not synced). */
  async syncTimes(): Promise<number[]> {
    const all = await this.ask<Extract<FromWorker, { type: 'sync-times' }>>((req) => ({ cmd: 'sync-times', req }));
    return all.flatMap((a) => a.times);
  }

  /** Every stream remembers what it holds of `cluster`; the next changed EDS of it is timed. */
  async mark(id: number, cluster: string): Promise<void> {
    await this.ask((req) => ({ cmd: 'mark', req, id, cluster, at: nowMs() }));
  }

  async collect(): Promise<MarkResult> {
    const all = await this.ask<Extract<FromWorker, { type: 'collected' }>>((req) => ({ cmd: 'collect', req }));
    const out: MarkResult = { times: [], recv: [], bytes: [], others: 0, waiting: 0 };
    for (const a of all) {
      out.times.push(...a.result.times);
      out.recv.push(...a.result.recv);
      out.bytes.push(...a.result.bytes);
      out.others += a.result.others;
      out.waiting += a.result.waiting;
    }
    return out;
  }

  /**
   * Polls until `expected` streams have the change, or nothing new arrived for
   * quietMs after the first one, or timeoutMs passed.
   */
  async waitChanged(expected: number, quietMs: number, timeoutMs: number): Promise<MarkResult> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    let lastChangeAt = Date.now();
    for (;;) {
      const r = await this.collect();
      if (r.times.length >= expected) return r;
      if (r.times.length !== last) {
        last = r.times.length;
        lastChangeAt = Date.now();
      } else if (last > 0 && Date.now() - lastChangeAt > quietMs) return r;
      if (Date.now() > deadline) return r;
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  /** Every response version seen (kind|version), merged over workers. */
  async versions(clear: boolean): Promise<VersionSeen[]> {
    const all = await this.ask<Extract<FromWorker, { type: 'versions' }>>((req) => ({ cmd: 'versions', req, clear }));
    const merged = new Map<string, VersionSeen>();
    for (const a of all)
      for (const v of a.versions) {
        const m = merged.get(v.key);
        if (!m) merged.set(v.key, { ...v });
        else {
          m.first = Math.min(m.first, v.first);
          m.last = Math.max(m.last, v.last);
          m.acks += v.acks;
        }
      }
    return [...merged.values()];
  }

  async summary(cluster: string | null): Promise<StreamSummary[]> {
    const all = await this.ask<Extract<FromWorker, { type: 'summary' }>>((req) => ({ cmd: 'summary', req, cluster }), 60_000);
    return all.flatMap((a) => a.streams);
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid!).filter((p) => p !== undefined);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve();
            const timer = setTimeout(() => w.kill('SIGKILL'), 3000);
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            try {
              this.send(w, { cmd: 'close' });
            } catch {
              w.kill('SIGKILL');
            }
          }),
      ),
    );
  }
}
