/**
 * One fleet run: our server (or --target, or through relays), the fleet,
 * initial sync, convergence rounds, churn, cost, then the floor.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Fleet, nowMs, percentile, type FleetOptions } from './fleet';
import { captureFixture, startFloor } from './floor';
import { Heartbeater, heartbeat, getText, meshZones, metricSum, procSample, registerAll, serviceOf, noisyLoad, STEADY_LOAD, type MeshSpec } from './mesh';
import { relaysSupported, startServer, type BenchServer } from './server-proc';
import { REGIONS } from './mesh';
import type { MarkResult, VersionSeen } from './fleet-protocol';
import { mintNodeIdentities, type NodeIdentity } from './identities';

export interface FleetArgs {
  proxies: number;
  services: number;
  endpoints: number;
  mode: 'sotw' | 'delta';
  viaRelays: number;
  target: string | null;
  workers: number;
  channels: number;
  rounds: number;
  churnMs: number;
  observeMs: number;
  syncTimeoutMs: number;
  /** Heartbeats before the fleet connects. */
  settleMs: number;
  floor: boolean;
  nodeFlags: string[];
  /** Node flags for the fleet's worker processes. */
  workerFlags: string[];
  serverArgs: string[];
  /** Write the global server's output (logs) to this file. */
  serverLog: string | null;
  /**
   * Secure mode (#13): the server runs without --insecure (HTTPS REST with the admin token, mTLS xDS), and each
   * proxy opens its own TLS channel with its own node certificate (`channels` is then ignored). No floor, relays or --target.
   */
  secure: boolean;
  dir: string;
}

/** Secure runs: a CA to run the server with (--ca-cert/--ca-key) and certificates already minted from it, by proxy id. */
export interface FleetSecurity {
  ca: { certFile: string; keyFile: string };
  identities: Map<string, NodeIdentity>;
}

export interface Dist {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface FleetResult {
  args: Omit<FleetArgs, 'dir'>;
  errors: string[];
  sync: { ms: number; synced: number; perStream: Dist; heartbeatMs?: Dist; loopDelayMs?: { p99: number; max: number } };
  convergence: Dist & { affected: number; expected: number; bytesPerPush: Dist; otherResources: number; rounds: number };
  spread: Dist & { versions: number };
  churn: { minutes: number; heartbeatsPerMin: number; pushesPerMin: number; responsesPerMin: number; bytesPerMin: number; edsVersions: number } | null;
  cost: {
    cpuSeconds: number;
    cpuSecondsSync: number;
    /** Server CPU from the first change to the end of the last convergence round. */
    cpuSecondsConvergence?: number;
    /** The fleet workers' CPU from their first stream to the sync (the simulated proxies' side, TLS handshakes included; same cores). */
    fleetCpuSecondsSync?: number;
    peakRssBytes: number;
    rssPerProxyBytes: number;
    bytesPerProxy: number;
    globalStreams: number | null;
  } | null;
  /** Secure mode: HTTP/2 (TLS) connections the fleet opened, and authentication refusals the server counted (edge_xds_auth_denials_total). */
  security?: { connections: number; authDenials: number; mintMs: number };
  throughput: { responsesPerSec: number; bytesPerSec: number } | null;
  floor: { sync: { ms: number; synced: number }; convergence: Dist; cpuSeconds: number } | null;
}

export function dist(values: number[]): Dist {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.length ? s[s.length - 1] : NaN };
}

const log = (msg: string, t0: number): void => console.log(`[fleet +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Operations over several fleets (one per relay, or one). */
class Fleets {
  constructor(readonly all: Fleet[]) {}
  async stats() {
    const s = await Promise.all(this.all.map((f) => f.stats()));
    return s.reduce((a, b) => ({
      ...a,
      streams: a.streams + b.streams,
      synced: a.synced + b.synced,
      lastSync: Math.max(a.lastSync, b.lastSync),
      responses: a.responses + b.responses,
      bytes: a.bytes + b.bytes,
      errors: a.errors + b.errors,
      firstError: a.firstError || b.firstError,
      strictErrors: a.strictErrors + b.strictErrors,
      firstStrictError: a.firstStrictError || b.firstStrictError,
      cpuMs: a.cpuMs + b.cpuMs,
    }));
  }
  /** The fleet workers' CPU (s) since their first streams opened. */
  async cpuSinceStart(): Promise<number> {
    const s = await this.stats();
    return (s.cpuMs - this.all.reduce((x, f) => x + f.cpuAtStartMs, 0)) / 1000;
  }
  async waitSynced(total: number, timeoutMs: number, t0: number): Promise<{ ms: number; synced: number }> {
    const startedAt = Math.min(...this.all.map((f) => f.startedAt));
    const deadline = Date.now() + timeoutMs;
    let lastLog = 0;
    for (;;) {
      const s = await this.stats();
      if (Date.now() - lastLog > 2000) {
        log(
          `sync: ${s.synced}/${total} proxies complete, ${s.responses} responses, ${(s.bytes / 1e6).toFixed(1)} MB${s.errors ? `, ${s.errors} stream errors (${s.firstError})` : ''}`,
          t0,
        );
        lastLog = Date.now();
      }
      if (s.synced >= total) return { ms: s.lastSync - startedAt, synced: s.synced };
      if (Date.now() > deadline) return { ms: NaN, synced: s.synced };
      await sleep(250);
    }
  }
  async mark(id: number, cluster: string) {
    await Promise.all(this.all.map((f) => f.mark(id, cluster)));
  }
  async waitChanged(expected: number, quietMs: number, timeoutMs: number): Promise<MarkResult> {
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    let lastChangeAt = Date.now();
    for (;;) {
      const parts = await Promise.all(this.all.map((f) => f.collect()));
      const r: MarkResult = {
        times: parts.flatMap((p) => p.times),
        recv: parts.flatMap((p) => p.recv),
        bytes: parts.flatMap((p) => p.bytes),
        others: parts.reduce((a, p) => a + p.others, 0),
        waiting: parts.reduce((a, p) => a + p.waiting, 0),
      };
      if (r.times.length >= expected) return r;
      if (r.times.length !== last) {
        last = r.times.length;
        lastChangeAt = Date.now();
      } else if (last > 0 && Date.now() - lastChangeAt > quietMs) return r;
      if (Date.now() > deadline) return r;
      await sleep(100);
    }
  }
  async versions(clear: boolean): Promise<VersionSeen[]> {
    return (await Promise.all(this.all.map((f) => f.versions(clear)))).flat();
  }
  async syncTimes(): Promise<number[]> {
    return (await Promise.all(this.all.map((f) => f.syncTimes()))).flat().filter((t) => t >= 0);
  }
  close() {
    return Promise.all(this.all.map((f) => f.close()));
  }
}

function spreadOf(versions: VersionSeen[], kindPrefix: string, minAcks: number): Dist & { versions: number } {
  const v = versions.filter((x) => x.key.startsWith(kindPrefix) && x.acks >= minAcks);
  return { ...dist(v.map((x) => x.last - x.first)), versions: v.length };
}

export async function runFleet(a: FleetArgs, sec: FleetSecurity | null = null): Promise<FleetResult> {
  const t0 = Date.now();
  const spec: MeshSpec = { services: a.services, endpoints: a.endpoints, zones: meshZones() };
  const errors: string[] = [];
  const { dir: _dir, ...argsOut } = a;
  const result: FleetResult = {
    args: argsOut,
    errors,
    sync: { ms: NaN, synced: 0, perStream: dist([]) },
    convergence: { ...dist([]), affected: 0, expected: a.proxies, bytesPerPush: dist([]), otherResources: 0, rounds: 0 },
    spread: { ...dist([]), versions: 0 },
    churn: null,
    cost: null,
    throughput: null,
    floor: null,
  };
  const fleetOpts = (target: string, proxies: number, idPrefix: string): FleetOptions => ({
    target,
    mode: a.mode,
    proxies,
    zones: spec.zones,
    workers: a.workers,
    channelsPerWorker: a.channels,
    idPrefix,
    workerFlags: a.workerFlags,
  });

  if (a.secure && (a.target || a.viaRelays > 0)) throw new Error('--secure runs against our own global server only (no --target, no --via-relays)');
  if (a.target) return runAgainstTarget(a, result, fleetOpts(a.target, a.proxies, 'proxy'), t0);
  if (a.viaRelays > 0 && !relaysSupported()) throw new Error('relays not available in this build (edge-xds serve has no --role regional)');

  const servers: BenchServer[] = [];
  let fleets: Fleets | null = null;
  let hb: Heartbeater | null = null;
  try {
    log(`starting edge-xds serve${a.secure ? ' (secure mode)' : ' --insecure'}${a.nodeFlags.length ? ` with node ${a.nodeFlags.join(' ')}` : ''}`, t0);
    const server = await startServer({
      dir: a.dir,
      name: 'global',
      nodeFlags: a.nodeFlags,
      args: ['--heartbeat-interval', '10s', ...a.serverArgs],
      logFile: a.serverLog ?? undefined,
      secure: a.secure,
      ca: a.secure && sec ? sec.ca : undefined,
    });
    servers.push(server);
    log(`pid ${server.pid}; registering ${a.endpoints} endpoints over ${a.services} services in ${spec.zones.length} zones${a.secure ? ' (HTTPS, admin token)' : ''}`, t0);
    await registerAll(server.baseUrl, spec);
    let tls: FleetOptions['tls'];
    let mintMs = 0;
    if (a.secure) {
      const m0 = Date.now();
      let identities = sec?.identities;
      if (!identities) {
        const ids = Array.from({ length: a.proxies }, (_, i) => `proxy-r0-${i}`);
        log(`minting ${ids.length} node certificates from the server's CA files (${server.security!.caCertFile})`, t0);
        identities = await mintNodeIdentities({ certFile: server.security!.caCertFile, keyFile: server.security!.caKeyFile }, ids, {
          progress: (d, n) => log(`  minted ${d}/${n}`, t0),
        });
      }
      mintMs = Date.now() - m0;
      tls = { caPem: server.security!.caPem, identities };
    }
    hb = new Heartbeater(server.baseUrl, a.endpoints, 10_000);
    hb.start();
    // A steady mesh before the fleet connects: every endpoint has reported once and the
    // first-load weight changes (rate-limited per service) are out.
    log(`heartbeating every endpoint every 10 s; waiting ${a.settleMs / 1000} s for the mesh to settle`, t0);
    await sleep(a.settleMs);
    const targets: string[] = [];
    if (a.viaRelays > 0) {
      for (let r = 0; r < a.viaRelays; r++) {
        const region = REGIONS[r % REGIONS.length]!;
        const relay = await startServer({
          dir: a.dir,
          name: `relay-${r}`,
          args: [
            '--role',
            'regional',
            '--region',
            region.region,
            '--upstream',
            `127.0.0.1:${server.xdsPort}`,
            '--location',
            `${region.lat},${region.lon}`,
            '--relay-id',
            `bench-relay-${r}`,
            '--heartbeat-interval',
            '10s',
          ],
        });
        servers.push(relay);
        targets.push(`127.0.0.1:${relay.xdsPort}`);
      }
      log(`${a.viaRelays} relays started`, t0);
    } else targets.push(`127.0.0.1:${server.xdsPort}`);
    const before = procSample(server.pid);
    log(
      `opening ${a.proxies} ${a.mode} ADS streams from ${a.workers} workers per target x ${a.secure ? `one mTLS channel per proxy (${a.proxies} TLS connections)` : `${a.channels} channels`}`,
      t0,
    );
    hb.takeLatencies();
    const per = Math.ceil(a.proxies / targets.length);
    fleets = new Fleets(await Promise.all(targets.map((t, i) => Fleet.start({ ...fleetOpts(t, Math.min(per, a.proxies - i * per), `proxy-r${i}`), tls }))));
    // While the fleet syncs: how late the server's event loop runs (prom-client's monitorEventLoopDelay, reset per scrape).
    const lag = { p99: [] as number[], max: 0 };
    let probing = true;
    const probe = (async () => {
      await getText(server.baseUrl, '/metrics').catch(() => ''); // reset the histogram
      while (probing) {
        await sleep(2000);
        const text = await getText(server.baseUrl, '/metrics').catch(() => '');
        if (!text) continue;
        const p99 = metricSum(text, 'nodejs_eventloop_lag_p99_seconds') * 1000;
        const max = metricSum(text, 'nodejs_eventloop_lag_max_seconds') * 1000;
        lag.p99.push(p99);
        lag.max = Math.max(lag.max, max);
        if (probing) log(`server event loop delay over the last scrape: p99 ${p99.toFixed(0)} ms, max ${max.toFixed(0)} ms`, t0);
      }
    })();
    const sync = await fleets.waitSynced(a.proxies, a.syncTimeoutMs, t0);
    const afterSync = procSample(server.pid);
    const fleetCpuSync = await fleets.cpuSinceStart();
    probing = false;
    await probe;
    result.sync = { ...sync, perStream: dist(await fleets.syncTimes()), heartbeatMs: dist(hb.takeLatencies()), loopDelayMs: { p99: dist(lag.p99).max, max: lag.max } };
    log(`initial sync: ${sync.synced}/${a.proxies} in ${(sync.ms / 1000).toFixed(2)} s`, t0);
    if (sync.synced < a.proxies) errors.push(`only ${sync.synced}/${a.proxies} proxies synced within ${a.syncTimeoutMs} ms`);
    const metricsSync = await getText(server.baseUrl, '/metrics');
    let globalStreams: number | null = null;
    if (a.viaRelays > 0) {
      // Streams the global tier holds: the relays' sync streams plus any xDS stream opened to it directly.
      const conns = JSON.parse(await getText(server.baseUrl, '/v1/xds/connections?limit=1')) as { connections: unknown[]; total: number };
      const tier = JSON.parse(await getText(server.baseUrl, '/v1/tier')) as { relaysConnected?: string[] };
      globalStreams = conns.total + (tier.relaysConnected?.length ?? 0);
    }
    await sleep(1000);

    // Convergence: an endpoint's load jumps to 0.95 (overloaded: immediate structural EDS change), then back.
    const conv: number[] = [];
    const bytes: number[] = [];
    let others = 0;
    let affected = 0;
    await fleets.versions(true);
    const beforeConv = procSample(server.pid);
    for (let round = 0; round < a.rounds; round++) {
      const ep = ((round >> 1) * 7) % a.endpoints;
      const cluster = serviceOf(ep, spec);
      await fleets.mark(round + 1, cluster);
      hb.silenced.add(ep);
      const before = await getText(server.baseUrl, '/metrics'); // also resets the event-loop delay histogram
      const at = nowMs();
      const status = await heartbeat(server.baseUrl, ep, round % 2 === 0 ? { cpu: 0.95, memory: 0.9, network: 0.9 } : STEADY_LOAD);
      if (status !== 204) errors.push(`trigger heartbeat: HTTP ${status}`);
      const r = await fleets.waitChanged(a.proxies, 3000, 30_000);
      if (round % 2 === 1) hb.silenced.delete(ep);
      conv.push(...r.times.map((t) => t - at));
      bytes.push(...r.bytes);
      others += r.others;
      affected += r.times.length;
      const d = dist(r.times.map((t) => t - at));
      const after = await getText(server.baseUrl, '/metrics');
      const sent = (type: string): number => metricSum(after, 'edge_xds_responses_total', `type="${type}"`) - metricSum(before, 'edge_xds_responses_total', `type="${type}"`);
      log(
        `convergence round ${round + 1}/${a.rounds} (${round % 2 === 0 ? 'overload' : 'recover'} ep-${ep} of ${cluster}): ${r.times.length}/${a.proxies} proxies, p50 ${d.p50.toFixed(0)} ms, p99 ${d.p99.toFixed(0)} ms, max ${d.max.toFixed(0)} ms (received: p50 ${dist(r.recv.map((t) => t - at)).p50.toFixed(0)} ms); server: ${sent('endpoint')} EDS + ${sent('cluster')} CDS responses, event loop delay max ${(metricSum(after, 'nodejs_eventloop_lag_max_seconds') * 1000).toFixed(0)} ms`,
        t0,
      );
      await sleep(1500);
    }
    result.convergence = {
      ...dist(conv),
      affected: Math.round(affected / Math.max(1, a.rounds)),
      expected: a.proxies,
      bytesPerPush: dist(bytes),
      otherResources: others,
      rounds: a.rounds,
    };
    result.spread = spreadOf(await fleets.versions(true), 'endpoint|', 1);
    const afterConv = procSample(server.pid);

    // Churn: every endpoint heartbeats every 10 s with noisy load.
    if (a.churnMs > 0) {
      log(`churn: noisy heartbeats for ${(a.churnMs / 1000).toFixed(0)} s`, t0);
      const m0 = await getText(server.baseUrl, '/metrics');
      const s0 = await fleets.stats();
      const hb0 = hb.sent;
      hb.loadOf = noisyLoad;
      await sleep(a.churnMs);
      hb.loadOf = () => STEADY_LOAD;
      const m1 = await getText(server.baseUrl, '/metrics');
      const s1 = await fleets.stats();
      const minutes = a.churnMs / 60_000;
      const vs = (await fleets.versions(true)).filter((v) => v.key.startsWith('endpoint|'));
      const responses = metricSum(m1, 'edge_xds_responses_total') - metricSum(m0, 'edge_xds_responses_total');
      result.churn = {
        minutes,
        heartbeatsPerMin: (hb.sent - hb0) / minutes,
        pushesPerMin: vs.length / minutes,
        responsesPerMin: responses / minutes,
        bytesPerMin: (metricSum(m1, 'edge_xds_response_bytes_total') - metricSum(m0, 'edge_xds_response_bytes_total')) / minutes,
        edsVersions: vs.length,
      };
      result.throughput = { responsesPerSec: (s1.responses - s0.responses) / (a.churnMs / 1000), bytesPerSec: (s1.bytes - s0.bytes) / (a.churnMs / 1000) };
      log(
        `churn: ${result.churn.heartbeatsPerMin.toFixed(0)} heartbeats/min, ${result.churn.pushesPerMin.toFixed(1)} EDS pushes/min, ${result.churn.responsesPerMin.toFixed(0)} responses/min`,
        t0,
      );
    }
    const end = procSample(server.pid);
    const metricsEnd = await getText(server.baseUrl, '/metrics');
    result.cost = {
      cpuSeconds: end.cpuSeconds - before.cpuSeconds,
      cpuSecondsSync: afterSync.cpuSeconds - before.cpuSeconds,
      cpuSecondsConvergence: afterConv.cpuSeconds - beforeConv.cpuSeconds,
      fleetCpuSecondsSync: fleetCpuSync,
      peakRssBytes: end.hwmBytes,
      rssPerProxyBytes: (afterSync.rssBytes - before.rssBytes) / a.proxies,
      bytesPerProxy: metricSum(metricsSync, 'edge_xds_response_bytes_total') / a.proxies,
      globalStreams,
    };
    if (a.secure) {
      const authDenials = metricSum(metricsEnd, 'edge_xds_auth_denials_total');
      result.security = { connections: a.proxies, authDenials, mintMs };
      if (authDenials > 0) errors.push(`${authDenials} authentication refusals counted by the server (edge_xds_auth_denials_total)`);
    }
    const st = await fleets.stats();
    if (st.errors) errors.push(`${st.errors} stream errors (${st.firstError})`);
    if (hb.failed || hb.skipped)
      errors.push(`simulated endpoints: ${hb.failed} heartbeats failed, ${hb.skipped} not sent (too many awaiting an answer), of ${hb.sent + hb.failed + hb.skipped}`);
    await fleets.close();
    fleets = null;

    if (a.floor && a.viaRelays === 0 && !a.secure) {
      const z = spec.zones[0];
      const fixture = await captureFixture(`127.0.0.1:${server.xdsPort}`, { id: 'floor-capture', userAgent: 'envoy', region: z.region, zone: z.zone }, serviceOf(0, spec));
      hb.stop();
      await Promise.all(servers.map((s) => s.stop()));
      servers.length = 0;
      result.floor = await runFloor(a, fixture, fleetOpts, t0);
      if (!result.floor) errors.push('floor: the fleet did not sync against the floor server (no floor figures)');
    }
  } finally {
    hb?.stop();
    if (fleets) await fleets.close();
    for (const s of servers) {
      if (a.nodeFlags.length === 0 && s.process.exitCode !== null && s.process.exitCode !== 0) errors.push(`server exited ${s.process.exitCode}: ${s.output().slice(-2000)}`);
      await s.stop();
    }
  }
  log('done', t0);
  return result;
}

async function runFloor(
  a: FleetArgs,
  fixture: Awaited<ReturnType<typeof captureFixture>>,
  fleetOpts: (t: string, n: number, p: string) => FleetOptions,
  t0: number,
): Promise<FleetResult['floor']> {
  const floor = await startFloor(fixture, path.join(a.dir, 'floor-fixture.json'));
  const fleets = new Fleets([]);
  try {
    const cpu0 = procSample(floor.pid).cpuSeconds;
    log(`floor: ${a.proxies} ${a.mode} streams against the minimal grpc-js server`, t0);
    fleets.all.push(await Fleet.start(fleetOpts(`127.0.0.1:${floor.port}`, a.proxies, 'floor')));
    const sync = await fleets.waitSynced(a.proxies, a.syncTimeoutMs, t0);
    if (sync.synced < a.proxies) {
      // A floor that did not sync measures nothing: say so instead of reporting a convergence of a broken fleet.
      log(`floor: only ${sync.synced}/${a.proxies} streams synced; no floor figures`, t0);
      return null;
    }
    // One push: the pre-encoded change of one ClusterLoadAssignment to every stream.
    await sleep(1000);
    await fleets.mark(1, fixture.changed[0]);
    const at = nowMs();
    await floor.push();
    const r = await fleets.waitChanged(a.proxies, 3000, 30_000);
    const conv = r.times.map((t) => t - at);
    const d = dist(conv);
    log(
      `floor convergence: ${r.times.length}/${a.proxies}, p50 ${d.p50.toFixed(0)} ms, p99 ${d.p99.toFixed(0)} ms, max ${d.max.toFixed(0)} ms (received: p50 ${dist(r.recv.map((t) => t - at)).p50.toFixed(0)} ms)`,
      t0,
    );
    return { sync, convergence: dist(conv), cpuSeconds: procSample(floor.pid).cpuSeconds - cpu0 };
  } finally {
    await fleets.close();
    await floor.stop();
  }
}

async function runAgainstTarget(a: FleetArgs, result: FleetResult, opts: FleetOptions, t0: number): Promise<FleetResult> {
  const fleets = new Fleets([]);
  try {
    log(`opening ${a.proxies} ${a.mode} streams against ${a.target}`, t0);
    fleets.all.push(await Fleet.start(opts));
    const sync = await fleets.waitSynced(a.proxies, a.syncTimeoutMs, t0);
    result.sync = { ...sync, perStream: dist(await fleets.syncTimes()) };
    await fleets.versions(true);
    const s0 = await fleets.stats();
    log(`observing new versions for ${(a.observeMs / 1000).toFixed(0)} s`, t0);
    await sleep(a.observeMs);
    const s1 = await fleets.stats();
    result.spread = spreadOf(await fleets.versions(true), '', 1);
    result.throughput = { responsesPerSec: (s1.responses - s0.responses) / (a.observeMs / 1000), bytesPerSec: (s1.bytes - s0.bytes) / (a.observeMs / 1000) };
    if (s1.errors) result.errors.push(`${s1.errors} stream errors (${s1.firstError})`);
  } finally {
    await fleets.close();
  }
  return result;
}

export function writeJson(file: string, r: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
}
