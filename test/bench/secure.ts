/**
 * `npm run bench -- secure`: the cost of secure mode (#13) against --insecure,
 * in one run on one machine.
 *
 * 1. REST heartbeats at saturation: N keep-alive connections, each one node's,
 *    sending POST /v1/nodes/{id}/heartbeat back to back (closed loop). Plain
 *    HTTP against --insecure; HTTPS against secure mode with the node's own
 *    credential: its client certificate (mTLS, no Authorization header), then
 *    its node token (HTTPS, `Authorization: Bearer`). The nodes are enrolled
 *    over REST (POST /v1/tokens + POST /v1/enroll), which returns both.
 * 2. Fleet: N proxies connect and sync (SotW; `--mode delta|both`), then
 *    `--rounds` one-endpoint changes spread to them (test/bench/fleet-bench.ts),
 *    against --insecure with the simulator's shared channels, --insecure with
 *    one connection per proxy (as real Envoys), and secure mode, where each
 *    proxy has its own TLS connection with its own node certificate (minted
 *    from the CA files of the first secure server; later secure servers run
 *    with that CA via --ca-cert/--ca-key).
 * 3. Ratios secure/insecure with a verdict against 1.3x.
 *
 * Options: --proxies 1000 --services 50 --endpoints 500 --mode sotw|delta|both --rounds 4 --settle 5s
 * --sync-timeout 90s --workers 2 --connections 200 --hb-duration 5s --hb-warmup 3s --hb-rounds 3 --hb-workers 1
 * --repeat 1 (fleet runs per variant, alternating; medians) --only heartbeats|fleet --node-flags "..." --server-args "..."
 * --out FILE --no-write (neither the JSON nor docs/BENCHMARKS.md, unless --out).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseDuration } from '../../src/config';
import { createCaPem, makeKeyAndCsr } from '../../src/security';
import { runFleet, writeJson, type FleetArgs, type FleetResult } from './fleet-bench';
import { mintNodeIdentities, type NodeIdentity } from './identities';
import { metricSum, getText, post, postJson, procSample } from './mesh';
import { BENCHMARKS_MD, machine } from './report';
import { startServer, type BenchServer } from './server-proc';
import type { ConnectionBinding, WorkerConfig, WorkerMessage } from './heartbeat-worker';

export const LIMIT = 1.3;

interface SecureArgs {
  proxies: number;
  services: number;
  endpoints: number;
  modes: Array<'sotw' | 'delta'>;
  rounds: number;
  settleMs: number;
  syncTimeoutMs: number;
  workers: number;
  connections: number;
  hbDurationMs: number;
  hbWarmupMs: number;
  hbWorkers: number;
  hbRounds: number;
  repeat: number;
  only: 'heartbeats' | 'fleet' | null;
  nodeFlags: string[];
  workerFlags: string[];
  serverArgs: string[];
  out: string | null;
  write: boolean;
}

function parseArgs(argv: string[]): SecureArgs {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (name: string, def: number, min = 1): number => {
    const v = flag(name);
    if (v === undefined) return def;
    const x = Number(v);
    if (!Number.isInteger(x) || x < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
    return x;
  };
  const dur = (name: string, def: string): number => parseDuration(flag(name) ?? def);
  const split = (s: string | undefined): string[] => (s ?? '').split(' ').filter((x) => x !== '');
  const mode = flag('mode') ?? 'sotw';
  if (mode !== 'sotw' && mode !== 'delta' && mode !== 'both') throw new Error(`--mode must be sotw, delta or both, got ${mode}`);
  const only = flag('only') ?? null;
  if (only !== null && only !== 'heartbeats' && only !== 'fleet') throw new Error(`--only must be heartbeats or fleet, got ${only}`);
  return {
    proxies: int('proxies', 1000),
    services: int('services', 50),
    endpoints: int('endpoints', 500),
    modes: mode === 'both' ? ['sotw', 'delta'] : [mode],
    rounds: int('rounds', 4),
    settleMs: dur('settle', '5s'),
    syncTimeoutMs: dur('sync-timeout', '90s'),
    workers: int('workers', 2),
    connections: int('connections', 200),
    hbDurationMs: dur('hb-duration', '5s'),
    hbWarmupMs: dur('hb-warmup', '3s'),
    hbWorkers: int('hb-workers', 1),
    hbRounds: int('hb-rounds', 3),
    repeat: int('repeat', 1),
    only,
    nodeFlags: split(flag('node-flags')),
    workerFlags: split(flag('worker-flags')),
    serverArgs: split(flag('server-args')),
    out: flag('out') ?? null,
    write: !argv.includes('--no-write'),
  };
}

const t0 = Date.now();
const log = (msg: string): void => console.log(`[secure +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// ---- heartbeats --------------------------------------------------------------------------------

type HbVariant = 'insecure' | 'secure-cert' | 'secure-token';

export interface HbSummary {
  variant: HbVariant;
  credential: string;
  connections: number;
  measuredSeconds: number;
  heartbeats: number;
  errors: number;
  statuses: Record<string, number>;
  firstError: string;
  heartbeatsPerSecond: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  maxMs: number;
  /** Server process CPU (all threads) over the measured part, % of one core. */
  serverCpuPct: number;
  heartbeatsPerCpuSecond: number;
  /** This process (the load generator threads) over the measured part, % of one core. */
  clientCpuPct: number;
  loadAvg: string;
}

const CREDENTIAL: Record<HbVariant, string> = {
  insecure: 'none (plain HTTP, --insecure)',
  'secure-cert': "the node's client certificate (HTTPS + mTLS, no Authorization header)",
  'secure-token': "the node's token from enrollment (HTTPS, Authorization: Bearer)",
};

const pct = (sorted: Float64Array, p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

async function registerHbNodes(base: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `hb-${i}`);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(16, n) }, async () => {
      while (next < ids.length) {
        const i = next++;
        const status = await post(base, '/v1/nodes', {
          id: ids[i],
          region: `region-${i % 4}`,
          zone: `zone-${i % 32}`,
          location: { lat: -60 + ((i * 7) % 120), lon: -170 + ((i * 13) % 340) },
          address: `10.200.${(i >> 8) & 255}.${i & 255 || 1}`,
          services: [{ name: `hb-svc-${i % 20}`, port: 8080, protocol: 'http' }],
          capacity: { cpu: 4, maxRps: 500 },
        });
        if (status !== 201 && status !== 200) throw new Error(`registering ${ids[i]}: HTTP ${status}`);
      }
    }),
  );
  return ids;
}

/** Enrolls each node over REST (one join token for the `hb-` prefix): its certificate chain and its node token. */
async function enrollHbNodes(base: string, ids: string[]): Promise<ConnectionBinding[]> {
  const jt = await postJson<{ token?: string }>(base, '/v1/tokens', { kind: 'node', prefix: 'hb-', uses: ids.length, ttl: '1h', description: 'secure bench' });
  if (jt.status !== 201 || !jt.json.token) throw new Error(`POST /v1/tokens: HTTP ${jt.status} ${JSON.stringify(jt.json)}`);
  const keys = await Promise.all(Array.from({ length: Math.min(8, ids.length) }, (_, k) => makeKeyAndCsr({ kind: 'node', id: `hb-key-${k}` })));
  const out: ConnectionBinding[] = [];
  for (let i = 0; i < ids.length; i++) {
    const key = keys[i % keys.length]!;
    const r = await postJson<{ chainPem?: string; nodeToken?: string }>(base, '/v1/enroll', { kind: 'node', id: ids[i], csr: key.csrPem, token: jt.json.token });
    if (r.status !== 201 || !r.json.chainPem || !r.json.nodeToken) throw new Error(`POST /v1/enroll ${ids[i]}: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
    out.push({ nodeId: ids[i]!, keyPem: key.keyPem, certPem: r.json.chainPem, token: r.json.nodeToken });
  }
  return out;
}

async function driveHeartbeats(server: BenchServer, variant: HbVariant, bindings: ConnectionBinding[], a: SecureArgs): Promise<HbSummary> {
  const workerFile = path.join(__dirname, 'heartbeat-worker.js');
  const nWorkers = Math.max(1, Math.min(a.hbWorkers, bindings.length));
  const loadBefore = os.loadavg()[0]!;
  const started = Date.now();
  // CPU is counted over the measured part only (after the warm-up, which holds the TLS handshakes).
  let cpuFrom: { at: number; server: number; client: NodeJS.CpuUsage } | null = null;
  const warm = setTimeout(() => (cpuFrom = { at: Date.now(), server: procSample(server.pid).cpuSeconds, client: process.cpuUsage() }), a.hbWarmupMs);
  const results: Array<Extract<WorkerMessage, { type: 'done' }>> = [];
  const progress = new Map<number, { done: number; errors: number }>();
  let lastTotal = 0;
  let lastAt = started;
  const workers = Array.from({ length: nWorkers }, (_, w) => {
    const mine = bindings.filter((_, i) => i % nWorkers === w);
    const cfg: WorkerConfig = {
      port: server.httpPort,
      nodeIds: mine.map((b) => b.nodeId),
      connections: mine.length,
      durationMs: a.hbWarmupMs + a.hbDurationMs,
      maxRequests: 2_000_000,
      measureFromMs: a.hbWarmupMs,
      client: 'raw',
      tls: server.security ? { caPem: server.security.caPem } : undefined,
      bindings: mine.map((b) =>
        variant === 'secure-cert'
          ? { nodeId: b.nodeId, keyPem: b.keyPem, certPem: b.certPem }
          : variant === 'secure-token'
            ? { nodeId: b.nodeId, token: b.token }
            : { nodeId: b.nodeId },
      ),
    };
    return new Worker(workerFile, { workerData: cfg, name: `secure-hb-${w}` });
  });
  const hardStop = a.hbWarmupMs + a.hbDurationMs + 30_000;
  await Promise.all(
    workers.map(
      (w, i) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            void w.terminate();
            reject(new Error(`heartbeat worker ${i} did not finish within ${hardStop} ms`));
          }, hardStop);
          w.on('message', (m: WorkerMessage) => {
            if (m.type === 'progress') {
              progress.set(i, { done: m.done, errors: m.errors });
              const now = Date.now();
              if (i === 0 && now - lastAt >= 2000) {
                const total = [...progress.values()].reduce((x, p) => x + p.done, 0);
                const errs = [...progress.values()].reduce((x, p) => x + p.errors, 0);
                log(`  ${variant}: t=${((now - started) / 1000).toFixed(0)}s sent ${total} (${(((total - lastTotal) * 1000) / (now - lastAt)).toFixed(0)}/s) errors ${errs}`);
                lastTotal = total;
                lastAt = now;
              }
            } else {
              clearTimeout(timer);
              results.push(m);
              resolve();
            }
          });
          w.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        }),
    ),
  );
  clearTimeout(warm);
  const from0 = cpuFrom as { at: number; server: number; client: NodeJS.CpuUsage } | null;
  const wallMs = from0 ? Date.now() - from0.at : NaN;
  const serverCpu = from0 ? ((procSample(server.pid).cpuSeconds - from0.server) / (wallMs / 1000)) * 100 : NaN;
  const client = process.cpuUsage(from0?.client);
  const measured = results.reduce((x, r) => x + r.measured, 0);
  const from = Math.min(...results.map((r) => r.firstMeasuredAt));
  const to = Math.max(...results.map((r) => r.lastDoneAt));
  const all = new Float64Array(measured);
  let off = 0;
  for (const r of results) {
    all.set(r.latencies, off);
    off += r.latencies.length;
  }
  all.sort();
  const statuses: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const rate = measured > 0 ? (measured * 1000) / (to - from) : 0;
  return {
    variant,
    credential: CREDENTIAL[variant],
    connections: bindings.length,
    measuredSeconds: +((to - from) / 1000).toFixed(1),
    heartbeats: measured,
    errors: results.reduce((x, r) => x + r.errors, 0),
    statuses,
    firstError: results.map((r) => r.firstError ?? '').find((e) => e !== '') ?? '',
    heartbeatsPerSecond: Math.round(rate),
    p50ms: +pct(all, 50).toFixed(2),
    p90ms: +pct(all, 90).toFixed(2),
    p99ms: +pct(all, 99).toFixed(2),
    maxMs: +(all[all.length - 1] ?? NaN).toFixed(2),
    serverCpuPct: Math.round(serverCpu),
    heartbeatsPerCpuSecond: Math.round(rate / (serverCpu / 100)),
    clientCpuPct: Math.round(((client.user + client.system) / 1000 / wallMs) * 100),
    loadAvg: `${loadBefore.toFixed(1)} -> ${os.loadavg()[0]!.toFixed(1)}`,
  };
}

function hbLine(s: HbSummary): string {
  return `${s.variant}: ${s.heartbeatsPerSecond} hb/s, p50 ${s.p50ms} ms, p99 ${s.p99ms} ms, server CPU ${s.serverCpuPct}% (${s.heartbeatsPerCpuSecond} hb per CPU-s), client CPU ${s.clientCpuPct}%, errors ${s.errors}${s.firstError ? ` (${s.firstError})` : ''}, load ${s.loadAvg}`;
}

/**
 * Both servers run side by side (an idle server costs next to nothing); the three variants are measured in
 * `hbRounds` rounds of short slices, the order rotating each round, so that a change in the machine's load
 * (other jobs) hits every variant alike. Each slice opens fresh connections (handshakes in its warm-up).
 */
async function heartbeatPhase(a: SecureArgs, root: string, caHome: { dir: string | null }): Promise<HbSummary[]> {
  const out: HbSummary[] = [];
  const hbArgs = ['--heartbeat-interval', '10s', ...a.serverArgs];
  const servers: BenchServer[] = [];
  try {
    log('heartbeats: starting edge-xds serve --insecure and edge-xds serve (secure mode)');
    const plain = await startServer({ dir: fs.mkdtempSync(path.join(root, 'hb-insecure-')), name: 'hb', args: hbArgs, nodeFlags: a.nodeFlags });
    servers.push(plain);
    const secureDir = fs.mkdtempSync(path.join(root, 'hb-secure-'));
    const secure = await startServer({ dir: secureDir, name: 'hb', args: hbArgs, nodeFlags: a.nodeFlags, secure: true });
    servers.push(secure);
    caHome.dir ??= secureDir;
    const ids = await registerHbNodes(plain.baseUrl, a.connections);
    await registerHbNodes(secure.baseUrl, a.connections);
    const e0 = Date.now();
    const bindings = await enrollHbNodes(secure.baseUrl, ids);
    log(
      `heartbeats: insecure pid ${plain.pid}, secure pid ${secure.pid}; ${ids.length} nodes registered on each, enrolled on the secure one over REST in ${((Date.now() - e0) / 1000).toFixed(1)} s (certificate + node token each)`,
    );
    const variants: HbVariant[] = ['insecure', 'secure-cert', 'secure-token'];
    for (let r = 0; r < a.hbRounds; r++) {
      for (let k = 0; k < variants.length; k++) {
        const v = variants[(k + r) % variants.length]!;
        log(`heartbeats round ${r + 1}/${a.hbRounds}: ${a.connections} ${v === 'insecure' ? 'plain HTTP' : 'HTTPS'} keep-alive connections, credential: ${CREDENTIAL[v]}`);
        const s = await driveHeartbeats(v === 'insecure' ? plain : secure, v, v === 'insecure' ? ids.map((nodeId) => ({ nodeId })) : bindings, a);
        log(hbLine(s));
        out.push(s);
      }
    }
    const denials = metricSum(await getText(secure.baseUrl, '/metrics'), 'edge_xds_auth_denials_total');
    if (denials > 0) log(`WARNING: the secure server counted ${denials} authentication refusals`);
  } finally {
    await Promise.all(servers.map((x) => x.stop()));
  }
  return out;
}

// ---- fleet -------------------------------------------------------------------------------------

type FleetVariant = 'insecure-shared' | 'insecure-per-proxy' | 'secure';

const FLEET_LABEL: Record<FleetVariant, string> = {
  'insecure-shared': '--insecure, shared channels (the simulator default)',
  'insecure-per-proxy': '--insecure, one connection per proxy',
  secure: 'secure, one mTLS connection per proxy',
};

function fleetArgsFor(a: SecureArgs, mode: 'sotw' | 'delta', variant: FleetVariant, dir: string): FleetArgs {
  const perProxy = Math.ceil(a.proxies / a.workers);
  return {
    proxies: a.proxies,
    services: a.services,
    endpoints: a.endpoints,
    mode,
    viaRelays: 0,
    target: null,
    workers: a.workers,
    channels: variant === 'insecure-shared' ? Math.max(1, Math.ceil(a.proxies / 2 / 250)) : perProxy,
    rounds: a.rounds,
    churnMs: 0,
    observeMs: 0,
    syncTimeoutMs: a.syncTimeoutMs,
    settleMs: a.settleMs,
    floor: false,
    nodeFlags: a.nodeFlags,
    workerFlags: a.workerFlags,
    serverArgs: a.serverArgs,
    serverLog: null,
    secure: variant === 'secure',
    dir,
  };
}

interface FleetRun {
  mode: 'sotw' | 'delta';
  variant: FleetVariant;
  connections: number;
  result: FleetResult;
}

async function fleetPhase(a: SecureArgs, root: string, caHome: { dir: string | null }): Promise<FleetRun[]> {
  if (caHome.dir === null) {
    // --only fleet: a CA made as the server makes its own at first start.
    const dir = fs.mkdtempSync(path.join(root, 'ca-'));
    fs.mkdirSync(path.join(dir, 'pki'));
    const { certPem, keyPem } = await createCaPem('edge-xds.local');
    fs.writeFileSync(path.join(dir, 'pki', 'ca.pem'), certPem);
    fs.writeFileSync(path.join(dir, 'pki', 'ca-key.pem'), keyPem, { mode: 0o600 });
    caHome.dir = dir;
  }
  const ca = { certFile: path.join(caHome.dir, 'pki', 'ca.pem'), keyFile: path.join(caHome.dir, 'pki', 'ca-key.pem') };
  const ids = Array.from({ length: a.proxies }, (_, i) => `proxy-r0-${i}`);
  log(`fleet: minting ${ids.length} node certificates from ${ca.certFile} (not measured)`);
  const m0 = Date.now();
  const identities: Map<string, NodeIdentity> = await mintNodeIdentities(ca, ids, { progress: (d, n) => log(`  minted ${d}/${n}`) });
  log(`fleet: minted ${identities.size} certificates in ${((Date.now() - m0) / 1000).toFixed(1)} s`);
  const runs: FleetRun[] = [];
  for (const mode of a.modes) {
    for (let r = 0; r < a.repeat; r++) {
      for (const variant of ['insecure-shared', 'insecure-per-proxy', 'secure'] as const) {
        const dir = fs.mkdtempSync(path.join(root, `fleet-${variant}-`));
        const fa = fleetArgsFor(a, mode, variant, dir);
        const connections = variant === 'secure' ? a.proxies : Math.min(a.proxies, fa.channels * a.workers);
        log(`fleet ${mode}${a.repeat > 1 ? ` (repeat ${r + 1}/${a.repeat})` : ''}: ${FLEET_LABEL[variant]}, ${a.proxies} proxies over ${connections} connections`);
        const result = await runFleet(fa, variant === 'secure' ? { ca, identities } : null);
        log(
          `fleet ${mode} ${variant}: sync ${fmtMs(result.sync.ms)} (${result.sync.synced}/${a.proxies}), convergence p50 ${fmtMs(result.convergence.p50)} p99 ${fmtMs(result.convergence.p99)}, server CPU until synced ${result.cost?.cpuSecondsSync.toFixed(1)} s${result.errors.length ? `; errors: ${result.errors.join('; ')}` : ''}`,
        );
        runs.push({ mode, variant, connections, result });
      }
    }
  }
  return runs;
}

// ---- summary, verdict, report ------------------------------------------------------------------

const fmtMs = (x: number): string => (Number.isFinite(x) ? (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x).toLocaleString('en-US')} ms`) : 'n/a');
const fmtX = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');
const num = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');

export interface Ratio {
  what: string;
  /** Secure cost over insecure cost: > 1 means secure mode is slower. */
  ratio: number;
  pass: boolean;
}

const ratio = (what: string, secureCost: number, insecureCost: number): Ratio => {
  const x = secureCost / insecureCost;
  return { what, ratio: +x.toFixed(3), pass: Number.isFinite(x) && x <= LIMIT };
};

interface HbMedians {
  variant: HbVariant;
  heartbeatsPerSecond: number;
  p50ms: number;
  p99ms: number;
  heartbeatsPerCpuSecond: number;
  serverCpuPct: number;
  clientCpuPct: number;
  errors: number;
  runs: number;
}

function hbMedians(runs: HbSummary[], v: HbVariant): HbMedians {
  const r = runs.filter((x) => x.variant === v);
  return {
    variant: v,
    heartbeatsPerSecond: median(r.map((x) => x.heartbeatsPerSecond)),
    p50ms: median(r.map((x) => x.p50ms)),
    p99ms: median(r.map((x) => x.p99ms)),
    heartbeatsPerCpuSecond: median(r.map((x) => x.heartbeatsPerCpuSecond)),
    serverCpuPct: median(r.map((x) => x.serverCpuPct)),
    clientCpuPct: median(r.map((x) => x.clientCpuPct)),
    errors: r.reduce((x, y) => x + y.errors, 0),
    runs: r.length,
  };
}

interface FleetMedians {
  variant: FleetVariant;
  connections: number;
  syncMs: number;
  synced: number;
  perStreamP50: number;
  perStreamP99: number;
  convP50: number;
  convP99: number;
  convMax: number;
  cpuSync: number;
  fleetCpuSync: number;
  cpuConvergence: number;
  peakRss: number;
  errors: string[];
  runs: number;
}

function fleetMedians(runs: FleetRun[], mode: 'sotw' | 'delta', v: FleetVariant): FleetMedians | null {
  const r = runs.filter((x) => x.mode === mode && x.variant === v);
  if (r.length === 0) return null;
  return {
    variant: v,
    connections: r[0]!.connections,
    syncMs: median(r.map((x) => x.result.sync.ms)),
    synced: Math.min(...r.map((x) => x.result.sync.synced)),
    perStreamP50: median(r.map((x) => x.result.sync.perStream.p50)),
    perStreamP99: median(r.map((x) => x.result.sync.perStream.p99)),
    convP50: median(r.map((x) => x.result.convergence.p50)),
    convP99: median(r.map((x) => x.result.convergence.p99)),
    convMax: median(r.map((x) => x.result.convergence.max)),
    cpuSync: median(r.map((x) => x.result.cost?.cpuSecondsSync ?? NaN)),
    fleetCpuSync: median(r.map((x) => x.result.cost?.fleetCpuSecondsSync ?? NaN)),
    cpuConvergence: median(r.map((x) => x.result.cost?.cpuSecondsConvergence ?? NaN)),
    peakRss: median(r.map((x) => x.result.cost?.peakRssBytes ?? NaN)),
    errors: r.flatMap((x) => x.result.errors),
    runs: r.length,
  };
}

interface Summary {
  heartbeats: { insecure: HbMedians; cert: HbMedians; token: HbMedians; ratios: Ratio[] } | null;
  fleet: Array<{ mode: 'sotw' | 'delta'; shared: FleetMedians; perProxy: FleetMedians; secure: FleetMedians; ratios: Ratio[]; ratiosVsShared: Ratio[] }>;
  /** Every verdict ratio (heartbeats; fleet against --insecure with one connection per proxy) within 1.3x. */
  pass: boolean;
}

function summarize(hb: HbSummary[], fleet: FleetRun[], a: SecureArgs): Summary {
  let heartbeats: Summary['heartbeats'] = null;
  if (hb.length) {
    const insecure = hbMedians(hb, 'insecure');
    const cert = hbMedians(hb, 'secure-cert');
    const token = hbMedians(hb, 'secure-token');
    heartbeats = {
      insecure,
      cert,
      token,
      // Throughput: insecure hb/s over secure hb/s (the cost of a heartbeat in wall time at saturation).
      ratios: [
        ratio('heartbeats/s, client certificate', insecure.heartbeatsPerSecond, cert.heartbeatsPerSecond),
        ratio('heartbeats/s, node token', insecure.heartbeatsPerSecond, token.heartbeatsPerSecond),
      ],
    };
  }
  const out: Summary['fleet'] = [];
  for (const mode of a.modes) {
    const shared = fleetMedians(fleet, mode, 'insecure-shared');
    const perProxy = fleetMedians(fleet, mode, 'insecure-per-proxy');
    const secure = fleetMedians(fleet, mode, 'secure');
    if (!shared || !perProxy || !secure) continue;
    const against = (base: FleetMedians): Ratio[] => [
      ratio(`${mode} connect + initial sync`, secure.syncMs, base.syncMs),
      ratio(`${mode} convergence p99`, secure.convP99, base.convP99),
    ];
    out.push({ mode, shared, perProxy, secure, ratios: against(perProxy), ratiosVsShared: against(shared) });
  }
  const all = [...(heartbeats?.ratios ?? []), ...out.flatMap((f) => f.ratios)];
  const complete = out.every((f) => f.secure.synced === a.proxies && f.perProxy.synced === a.proxies);
  return { heartbeats, fleet: out, pass: all.length > 0 && all.every((r) => r.pass) && complete };
}

/** Wraps a markdown paragraph at `width` columns (docs/BENCHMARKS.md's style); table rows are left alone. */
export function wrap(text: string, width = 118): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.join('\n');
}

const verdict = (r: Ratio): string => `${fmtX(r.ratio)} — ${r.pass ? 'within 1.3x' : '**over 1.3x**'}`;

function markdown(command: string, a: SecureArgs, s: Summary, startedAt: Date, elapsedMs: number, raw: string | null): string {
  const lines: string[] = [
    `Last run: ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, \`${command}\` (${(elapsedMs / 1000).toFixed(0)} s${a.repeat > 1 ? `, ${a.repeat} alternating repeats, medians` : ''}).`,
    '',
    `Machine: ${machine()}; 1-minute load average at the end ${os.loadavg()[0]!.toFixed(1)}.${raw ? ` Raw: \`${raw}\`.` : ''}`,
    '',
  ];
  if (s.heartbeats) {
    const h = s.heartbeats;
    const cols = [h.insecure, h.cert, h.token];
    lines.push(
      `**REST heartbeats at saturation**: ${a.connections} keep-alive connections from one load-generator thread, each one node's, closed loop; both servers (\`--db-sync normal\`) run side by side and the columns are measured in ${a.hbRounds} rotating rounds of ${a.hbWarmupMs / 1000} s warm-up (new connections, handshakes) + ${a.hbDurationMs / 1000} s measured; medians of the rounds. Secure nodes were enrolled over REST (\`POST /v1/tokens\` + \`POST /v1/enroll\`), which returns the certificate and the node token.`,
      '',
      '| | insecure (HTTP) | secure: client certificate (HTTPS, mTLS) | secure: node token (HTTPS, Bearer) |',
      '|---|---|---|---|',
      `| heartbeats/s | ${cols.map((c) => num(c.heartbeatsPerSecond)).join(' | ')} |`,
      `| latency p50 / p99 | ${cols.map((c) => `${c.p50ms} / ${c.p99ms} ms`).join(' | ')} |`,
      `| server CPU while measured (% of a core) | ${cols.map((c) => `${c.serverCpuPct}%`).join(' | ')} |`,
      `| heartbeats per server CPU-second | ${cols.map((c) => num(c.heartbeatsPerCpuSecond)).join(' | ')} |`,
      `| load generator CPU (same 2 cores) | ${cols.map((c) => `${c.clientCpuPct}%`).join(' | ')} |`,
      `| errors | ${cols.map((c) => String(c.errors)).join(' | ')} |`,
      `| insecure hb/s ÷ secure hb/s (limit 1.3x) | — | ${verdict(h.ratios[0]!)} | ${verdict(h.ratios[1]!)} |`,
      `| secure CPU per heartbeat ÷ insecure (information) | — | ${fmtX(h.insecure.heartbeatsPerCpuSecond / h.cert.heartbeatsPerCpuSecond)} | ${fmtX(h.insecure.heartbeatsPerCpuSecond / h.token.heartbeatsPerCpuSecond)} |`,
      '',
    );
  }
  for (const f of s.fleet) {
    const cols = [f.shared, f.perProxy, f.secure];
    lines.push(
      `**Fleet, ${f.mode}**: ${num(a.proxies)} proxies / ${a.services} services / ${num(a.endpoints)} endpoints, ${a.workers} fleet workers, ${a.rounds} one-endpoint changes, no churn, no floor. Sync runs from the first stream opened to the last proxy's complete config, TLS handshakes included. Secure proxies use certificates minted from the server's CA files (same as \`POST /v1/enroll\` issues); the endpoints' REST heartbeats use the admin token.`,
      '',
      `| | ${cols.map((c) => FLEET_LABEL[c.variant]).join(' | ')} |`,
      '|---|---|---|---|',
      `| connections to the xDS port | ${cols.map((c) => num(c.connections)).join(' | ')} |`,
      `| connect + initial sync | ${cols.map((c) => `${fmtMs(c.syncMs)} (${num(c.synced)} synced)`).join(' | ')} |`,
      `| per-stream sync p50 / p99 | ${cols.map((c) => `${fmtMs(c.perStreamP50)} / ${fmtMs(c.perStreamP99)}`).join(' | ')} |`,
      `| one endpoint change to every affected proxy: p50 / p99 / max | ${cols.map((c) => `${fmtMs(c.convP50)} / ${fmtMs(c.convP99)} / ${fmtMs(c.convMax)}`).join(' | ')} |`,
      `| server CPU until synced (from the fleet's start) | ${cols.map((c) => `${c.cpuSync.toFixed(1)} s`).join(' | ')} |`,
      `| fleet workers' CPU from the first stream to the sync (the proxies' side, same 2 cores) | ${cols.map((c) => `${c.fleetCpuSync.toFixed(1)} s`).join(' | ')} |`,
      `| server CPU during the ${a.rounds} changes | ${cols.map((c) => `${c.cpuConvergence.toFixed(2)} s`).join(' | ')} |`,
      `| server peak RSS | ${cols.map((c) => `${(c.peakRss / 2 ** 20).toFixed(0)} MiB`).join(' | ')} |`,
      `| errors | ${cols.map((c) => (c.errors.length ? c.errors.join('; ').replace(/\|/g, '\\|').slice(0, 200) : 'none')).join(' | ')} |`,
      `| secure ÷ this column: sync (limit 1.3x) | ${verdict(f.ratiosVsShared[0]!)} | ${verdict(f.ratios[0]!)} | — |`,
      `| secure ÷ this column: convergence p99 (limit 1.3x) | ${verdict(f.ratiosVsShared[1]!)} | ${verdict(f.ratios[1]!)} | — |`,
      `| secure ÷ this column: server CPU until synced (information) | ${fmtX(f.secure.cpuSync / f.shared.cpuSync)} | ${fmtX(f.secure.cpuSync / f.perProxy.cpuSync)} | — |`,
      '',
    );
  }
  lines.push(
    `Verdict (heartbeats/s with either node credential; fleet sync and convergence p99 against \`--insecure\` with one connection per proxy, as real proxies connect): **${s.pass ? 'secure mode is within 1.3x of --insecure' : 'secure mode is NOT within 1.3x of --insecure everywhere'}**.`,
  );
  return lines.map((l) => (l.startsWith('|') ? l : wrap(l))).join('\n');
}

const START = '<!-- secure-bench:start -->';
const END = '<!-- secure-bench:end -->';
const SECTION = '## Secure mode (#13)';

/** Replaces the generated block of the "Secure mode (#13)" section (created at the end of the file when missing). */
export function writeSecureSection(block: string, file = BENCHMARKS_MD): void {
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const marked = `${START}\n${block}\n${END}`;
  if (text.includes(START) && text.includes(END)) text = text.slice(0, text.indexOf(START)) + marked + text.slice(text.indexOf(END) + END.length);
  else if (text.includes(`\n${SECTION}\n`)) {
    const at = text.indexOf(`\n${SECTION}\n`) + SECTION.length + 2;
    text = `${text.slice(0, at)}\n${marked}\n${text.slice(at)}`;
  } else text = `${text.trimEnd()}\n\n${SECTION}\n\n${marked}\n`;
  fs.writeFileSync(file, text);
}

export async function runSecure(argv: string[], command: string): Promise<boolean> {
  const a = parseArgs(argv);
  const startedAt = new Date();
  log(`secure vs --insecure: ${JSON.stringify({ ...a, nodeFlags: a.nodeFlags.join(' ') || undefined })}`);
  log(`machine: ${machine()}; load average ${os.loadavg()[0]!.toFixed(1)}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-xds-secure-'));
  const caHome: { dir: string | null } = { dir: null };
  try {
    const hb = a.only === 'fleet' ? [] : await heartbeatPhase(a, root, caHome);
    const fleet = a.only === 'heartbeats' ? [] : await fleetPhase(a, root, caHome);
    const s = summarize(hb, fleet, a);
    const elapsedMs = Date.now() - t0;
    const out = a.out ? path.resolve(a.out) : a.write ? path.resolve(__dirname, `../../../docs/bench-results/secure-${startedAt.toISOString().slice(0, 10)}.json`) : null;
    const md = markdown(command, a, s, startedAt, elapsedMs, out ? path.relative(path.resolve(__dirname, '../../..'), out) : null);
    console.log(`\n${md}\n`);
    const json = {
      command,
      date: startedAt.toISOString(),
      elapsedSeconds: Math.round(elapsedMs / 1000),
      machine: machine(),
      args: a,
      limit: LIMIT,
      summary: s,
      heartbeatRuns: hb,
      fleetRuns: fleet.map((f) => ({ mode: f.mode, variant: f.variant, connections: f.connections, ...f.result })),
    };
    if (out) {
      writeJson(out, json);
      log(`results written to ${out}`);
    }
    if (a.write) {
      writeSecureSection(md);
      log(`table written to docs/BENCHMARKS.md ("${SECTION}")`);
    }
    log(`done in ${(elapsedMs / 1000).toFixed(0)} s: ${s.pass ? 'PASS' : 'FAIL'} (limit ${LIMIT}x)`);
    return s.pass;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
