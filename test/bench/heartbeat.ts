/**
 * Heartbeat benchmark (`npm run bench:heartbeat`): starts the real server
 * process (the CLI, real SQLite file in a temp dir), registers N nodes, then
 * drives heartbeats from worker threads over keep-alive connections and
 * reports sustained heartbeats/s and latency percentiles.
 *
 * Options (flags or env): --nodes 10000, --duration 20s, --warmup 3s,
 * --connections 200, --workers 1, --client raw|http (raw: minimal keep-alive
 * HTTP/1.1 client on net.Socket, so the generator does not starve the server
 * on a small machine; http: node:http Agent) --max-requests 2000000, --server-args "..."
 * (extra serve flags), --write (update the "Heartbeats" section of
 * docs/BENCHMARKS.md). Profile the server with
 * EDGE_XDS_TEST_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (one
 * .cpuprofile).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseDuration } from '../../src/config';
import { startCliServer, request } from '../helpers';
import type { WorkerConfig, WorkerMessage } from './heartbeat-worker';

interface BenchArgs {
  nodes: number;
  durationMs: number;
  warmupMs: number;
  connections: number;
  workers: number;
  maxRequests: number;
  write: boolean;
  /** Extra `edge-xds serve` arguments, e.g. "--db-sync normal". */
  serverArgs: string[];
  client: 'raw' | 'http';
}

function parseArgs(argv: string[]): BenchArgs {
  const get = (name: string, env: string, def: string): string => {
    const i = argv.indexOf(`--${name}`);
    if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1];
    return process.env[env] ?? def;
  };
  return {
    nodes: Number(get('nodes', 'BENCH_NODES', '10000')),
    durationMs: parseDuration(get('duration', 'BENCH_DURATION', '20s')),
    warmupMs: parseDuration(get('warmup', 'BENCH_WARMUP', '3s')),
    connections: Number(get('connections', 'BENCH_CONNECTIONS', '200')),
    workers: Number(get('workers', 'BENCH_WORKERS', '1')),
    maxRequests: Number(get('max-requests', 'BENCH_MAX_REQUESTS', '2000000')),
    write: argv.includes('--write') || process.env.BENCH_WRITE === '1',
    client: get('client', 'BENCH_CLIENT', 'raw') === 'http' ? 'http' : 'raw',
    serverArgs: get('server-args', 'BENCH_SERVER_ARGS', '')
      .split(' ')
      .filter((x) => x !== ''),
  };
}

const pct = (sorted: Float64Array, p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);

async function registerAll(port: number, n: number): Promise<string[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const ids = Array.from({ length: n }, (_, i) => `bench-${i}`);
  let next = 0;
  let done = 0;
  const t0 = Date.now();
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const i = next++;
      const body = JSON.stringify({
        id: ids[i],
        region: `region-${i % 4}`,
        zone: `zone-${i % 32}`,
        location: { lat: -60 + ((i * 7) % 120), lon: -170 + ((i * 13) % 340) },
        address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255 || 1}`,
        services: [{ name: `svc-${i % 20}`, port: 8080, protocol: 'http' }],
        capacity: { cpu: 4, maxRps: 500 },
      });
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/nodes', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
      if (status !== 201 && status !== 200) throw new Error(`registration of ${ids[i]} answered ${status}`);
      if (++done % 2000 === 0) process.stdout.write(`  registered ${done}/${n} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  agent.destroy();
  return ids;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'} (nproc ${os.availableParallelism()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`;
  console.log(`heartbeat bench: ${JSON.stringify(args)}`);
  console.log(`machine: ${machine}; node ${process.version}`);
  const srv = await startCliServer({
    logLevel: 'warn',
    args: ['--heartbeat-interval', '10s', ...args.serverArgs],
  });
  console.log(`server pid ${srv.pid} http ${srv.httpPort} db ${srv.dbPath}`);
  try {
    const t0 = Date.now();
    const ids = await registerAll(srv.httpPort, args.nodes);
    console.log(`registered ${ids.length} nodes in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const loadBefore = os.loadavg()[0];
    const cpuBefore = readProcCpu(srv.pid);
    const clientCpuBefore = process.cpuUsage();
    const perWorker = Math.ceil(args.connections / args.workers);
    const workers = Array.from({ length: args.workers }, (_, w) => {
      const cfg: WorkerConfig = {
        port: srv.httpPort,
        nodeIds: ids,
        connections: perWorker,
        durationMs: args.durationMs + args.warmupMs,
        maxRequests: Math.ceil(args.maxRequests / args.workers),
        measureFromMs: args.warmupMs,
        client: args.client,
      };
      return new Worker(path.join(__dirname, 'heartbeat-worker.js'), { workerData: cfg, name: `hb-${w}` });
    });
    const progress = new Map<number, number>();
    const results: Array<Extract<WorkerMessage, { type: 'done' }>> = [];
    const started = Date.now();
    let lastTotal = 0;
    let lastAt = started;
    await Promise.all(
      workers.map(
        (w, i) =>
          new Promise<void>((resolve, reject) => {
            w.on('message', (m: WorkerMessage) => {
              if (m.type === 'progress') {
                progress.set(i, m.done);
                if (i === 0) {
                  const total = [...progress.values()].reduce((a, b) => a + b, 0);
                  const now = Date.now();
                  const rate = ((total - lastTotal) * 1000) / (now - lastAt);
                  process.stdout.write(`  t=${((now - started) / 1000).toFixed(0)}s sent ${total} (${rate.toFixed(0)}/s) errors ${m.errors}\n`);
                  lastTotal = total;
                  lastAt = now;
                }
              } else {
                results.push(m);
                resolve();
              }
            });
            w.on('error', reject);
          }),
      ),
    );
    const cpuAfter = readProcCpu(srv.pid);
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const wallMs = Date.now() - started;

    const measured = results.reduce((a, r) => a + r.measured, 0);
    const errors = results.reduce((a, r) => a + r.errors, 0);
    const from = Math.min(...results.map((r) => r.firstMeasuredAt));
    const to = Math.max(...results.map((r) => r.lastDoneAt));
    const all = new Float64Array(measured);
    let off = 0;
    for (const r of results) {
      all.set(r.latencies, off);
      off += r.latencies.length;
    }
    all.sort();
    const rate = (measured * 1000) / (to - from);
    const statuses: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    const metrics = (await request(srv.baseUrl, '/metrics')).text;
    const batchSum = Number(/edge_xds_heartbeat_batch_size_sum ([\d.e+]+)/.exec(metrics)?.[1] ?? NaN);
    const batchCount = Number(/edge_xds_heartbeat_batch_size_count ([\d.e+]+)/.exec(metrics)?.[1] ?? NaN);
    const commitSum = Number(/edge_xds_heartbeat_commit_seconds_sum ([\d.e+-]+)/.exec(metrics)?.[1] ?? NaN);
    const serverCpu = cpuBefore !== null && cpuAfter !== null ? ((cpuAfter - cpuBefore) / (wallMs / 1000)) * 100 : NaN;
    const summary = {
      nodes: args.nodes,
      client: args.client,
      connections: args.connections,
      workers: args.workers,
      measuredSeconds: +((to - from) / 1000).toFixed(1),
      heartbeats: measured,
      errors,
      statuses,
      heartbeatsPerSecond: Math.round(rate),
      p50ms: +pct(all, 50).toFixed(2),
      p90ms: +pct(all, 90).toFixed(2),
      p99ms: +pct(all, 99).toFixed(2),
      maxMs: +(all[all.length - 1] ?? NaN).toFixed(2),
      avgBatch: +(batchSum / batchCount).toFixed(1),
      avgCommitMs: +((commitSum * 1000) / batchCount).toFixed(2),
      serverCpuPct: Math.round(serverCpu),
      // Heartbeats per second of server CPU (all its threads): how much the server spends per heartbeat, less sensitive to other jobs than hb/s.
      heartbeatsPerCpuSecond: Math.round(rate / (serverCpu / 100)),
      // The load generator's own CPU (this process, its worker threads included), on the same 2 cores.
      clientCpuPct: Math.round(((clientCpu.user + clientCpu.system) / 1000 / wallMs) * 100),
      // 1-minute load average of the machine at the start and the end of the heartbeat phase (2 cores: above ~3 other jobs compete with the run).
      loadAvg: `${loadBefore.toFixed(1)} -> ${os.loadavg()[0].toFixed(1)}`,
    };
    console.log(JSON.stringify(summary, null, 2));
    const met = summary.heartbeatsPerSecond >= 10_000 && summary.p99ms < 50 && errors === 0;
    console.log(`target (>= 10000 hb/s, p99 < 50 ms, no errors): ${met ? 'MET' : 'NOT MET'}`);
    if (args.write) writeSection(summary, machine, met, process.argv.slice(2));
  } finally {
    const r = await srv.stop();
    console.log(`server stopped (exit ${r.code}) in ${r.ms} ms`);
  }
}

/** utime+stime of a process in seconds (Linux /proc), null elsewhere. */
function readProcCpu(pid: number): number | null {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

const START = '<!-- heartbeat-bench:start -->';
const END = '<!-- heartbeat-bench:end -->';

function writeSection(s: Record<string, unknown>, machine: string, met: boolean, argv: string[]): void {
  const file = path.resolve(__dirname, '../../../docs/BENCHMARKS.md');
  const cmd = `npm run bench:heartbeat${argv.length ? ' -- ' + argv.join(' ') : ''}`;
  const block = [
    START,
    `Last run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, \`${cmd}\``,
    '',
    `Machine: ${machine}; Node ${process.version}.`,
    '',
    '| metric | value |',
    '| --- | --- |',
    ...Object.entries(s).map(([k, v]) => `| ${k} | ${typeof v === 'object' ? JSON.stringify(v) : String(v)} |`),
    '',
    `Target (>= 10,000 heartbeats/s sustained, p99 < 50 ms, no errors): **${met ? 'met' : 'not met'}**.`,
    END,
  ].join('\n');
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  if (text.includes(START) && text.includes(END)) {
    text = text.slice(0, text.indexOf(START)) + block + text.slice(text.indexOf(END) + END.length);
  } else {
    text = `${text.trimEnd()}\n\n## Heartbeats\n\n${block}\n`;
  }
  fs.writeFileSync(file, text);
  console.log(`wrote ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
