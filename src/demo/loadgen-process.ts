/**
 * Spawns loadgen-main as its own process (grpc-js-xds reads its bootstrap once
 * per process, so each client locality needs one) with the bootstrap in
 * GRPC_XDS_BOOTSTRAP_CONFIG, and parses its JSON records. stderr is captured
 * and included in every error.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { LoadgenRecord, PhaseRecord, SummaryRecord, WindowRecord } from './loadgen';

export const LOADGEN_MAIN = path.join(__dirname, 'loadgen-main.js');

export interface SpawnLoadgenOptions {
  /** grpc-js-xds bootstrap (e.g. renderGrpcBootstrap(...)); omitted for plain targets. */
  bootstrap?: object;
  target: string;
  rate: number;
  durationMs: number;
  authority?: string;
  deadlineMs?: number;
  /** Default 250 ms. */
  reportEveryMs?: number;
  warmupMs?: number;
  maxRequests?: number;
  env?: Record<string, string>;
  /** --client-locality REGION/ZONE (x-client-region / x-client-zone metadata on every RPC). */
  clientLocality?: { region: string; zone: string };
  /** Forwarded to the child's stderr as well as captured (debugging). */
  echoStderr?: boolean;
}

/** Totals of the windows received after mark() was called. */
export interface Mark {
  readonly since: number;
  ok: number;
  failed: number;
  counts: Record<string, number>;
  errors: Record<string, number>;
}

export interface LoadgenHandle {
  pid: number;
  process: ChildProcess;
  /** Emits 'record' (LoadgenRecord), 'window', 'summary', 'exit' ({code, signal}). */
  events: EventEmitter;
  /** Every record so far, in order. */
  records: LoadgenRecord[];
  windows(): WindowRecord[];
  /** Async iteration over records (those already received first) until the process exits. */
  lines(): AsyncIterable<LoadgenRecord>;
  /** Starts counting windows from now (windows already received are not counted). */
  mark(): Mark;
  /** Resolves with the first record matching `pred` (past or future). */
  waitFor<T extends LoadgenRecord = LoadgenRecord>(pred: (r: LoadgenRecord) => boolean, timeoutMs: number): Promise<T>;
  waitForSummary(timeoutMs?: number): Promise<SummaryRecord>;
  /** Sends {"cmd":"mark"} : the child emits the previous phase's totals. */
  phase(name: string): Promise<PhaseRecord>;
  /** {"cmd":"stop"} then the summary. */
  stop(timeoutMs?: number): Promise<SummaryRecord>;
  stderr(): string;
  /** SIGKILL (idempotent); resolves on exit. */
  kill(): Promise<void>;
}

export function spawnLoadgen(opts: SpawnLoadgenOptions): LoadgenHandle {
  const args = [LOADGEN_MAIN, '--target', opts.target, '--rate', String(opts.rate), '--duration', `${opts.durationMs}ms`, '--report-every', `${opts.reportEveryMs ?? 250}ms`];
  if (opts.authority) args.push('--authority', opts.authority);
  if (opts.deadlineMs !== undefined) args.push('--deadline', `${opts.deadlineMs}ms`);
  if (opts.warmupMs !== undefined) args.push('--warmup', `${opts.warmupMs}ms`);
  if (opts.maxRequests !== undefined) args.push('--max-requests', String(opts.maxRequests));
  if (opts.clientLocality) args.push('--client-locality', `${opts.clientLocality.region}/${opts.clientLocality.zone}`);
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  delete env.GRPC_XDS_BOOTSTRAP;
  if (opts.bootstrap) env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(opts.bootstrap);
  const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });

  const events = new EventEmitter();
  events.setMaxListeners(100);
  const records: LoadgenRecord[] = [];
  const marks: Mark[] = [];
  let err = '';
  let buf = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      events.emit('exit', exit);
      resolve();
    }),
  );

  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
    if (opts.echoStderr) process.stderr.write(d);
  });
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      let rec: LoadgenRecord;
      try {
        rec = JSON.parse(line) as LoadgenRecord;
      } catch {
        err += `[non-JSON stdout] ${line}\n`;
        continue;
      }
      records.push(rec);
      if (rec.type === 'window') {
        for (const m of marks) {
          m.ok += rec.ok;
          m.failed += rec.failed;
          for (const [k, v] of Object.entries(rec.counts)) m.counts[k] = (m.counts[k] ?? 0) + v;
          for (const [k, v] of Object.entries(rec.errors)) m.errors[k] = (m.errors[k] ?? 0) + v;
        }
      }
      events.emit('record', rec);
      events.emit(rec.type, rec);
    }
  });
  child.stdin.on('error', () => undefined);

  const describe = (): string => `loadgen pid ${child.pid} (${opts.target}) exit=${JSON.stringify(exit)}\nstderr:\n${err.slice(-4000)}`;

  const waitFor = <T extends LoadgenRecord>(pred: (r: LoadgenRecord) => boolean, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const found = records.find(pred);
      if (found) return resolve(found as T);
      const cleanup = (): void => {
        clearTimeout(timer);
        events.off('record', onRec);
        events.off('exit', onExit);
      };
      const onRec = (r: LoadgenRecord): void => {
        if (!pred(r)) return;
        cleanup();
        resolve(r as T);
      };
      const onExit = (): void => {
        cleanup();
        reject(new Error(`loadgen exited before the awaited record: ${describe()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`loadgen: awaited record not seen within ${timeoutMs} ms: ${describe()}`));
      }, timeoutMs);
      events.on('record', onRec);
      if (exit) onExit();
      else events.once('exit', onExit);
    });

  const send = (cmd: object): void => {
    if (!exit && child.stdin.writable) child.stdin.write(`${JSON.stringify(cmd)}\n`);
  };

  const waitForSummary = (timeoutMs = opts.durationMs + 30_000): Promise<SummaryRecord> => waitFor<SummaryRecord>((r) => r.type === 'summary', timeoutMs);

  return {
    pid: child.pid as number,
    process: child,
    events,
    records,
    windows: () => records.filter((r): r is WindowRecord => r.type === 'window'),
    lines: () => iterate(records, events, () => exit !== null),
    mark: () => {
      const m: Mark = { since: Date.now(), ok: 0, failed: 0, counts: {}, errors: {} };
      marks.push(m);
      return m;
    },
    waitFor,
    waitForSummary,
    phase: (name) => {
      const n = records.filter((r) => r.type === 'phase').length;
      send({ cmd: 'mark', name });
      return waitFor<PhaseRecord>((r) => r.type === 'phase' && records.filter((x) => x.type === 'phase').indexOf(r) >= n, 10_000);
    },
    stop: (timeoutMs = 15_000) => {
      send({ cmd: 'stop' });
      return waitForSummary(timeoutMs);
    },
    stderr: () => err,
    kill: async () => {
      if (!exit) child.kill('SIGKILL');
      await exited;
    },
  };
}

async function* iterate(records: LoadgenRecord[], events: EventEmitter, done: () => boolean): AsyncGenerator<LoadgenRecord> {
  let i = 0;
  for (;;) {
    while (i < records.length) yield records[i++];
    if (done()) return;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        events.off('record', wake);
        events.off('exit', wake);
        resolve();
      };
      events.on('record', wake);
      events.on('exit', wake);
    });
  }
}
