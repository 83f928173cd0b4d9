/**
 * `npm run demo`: the issue-6 topology as local processes (global tier,
 * relays, edge sites with echo backends, grpc-js-xds load generators per
 * client locality), the scenarios run by themselves (steady, overload a site,
 * kill a site, cut the regions off from the global tier, kill a relay), once
 * with edge-aware routing and once with round robin on the same topology,
 * then a comparison (terminal, demo-report.md, demo-report.svg).
 * Every process started is tracked and stopped at the end, on error or abort.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NODE_CREDENTIAL_METADATA_KEY, renderGrpcBootstrap } from '../bootstrap';
import type { PhaseRecord, WindowRecord } from './loadgen';
import { spawnLoadgen, type LoadgenHandle } from './loadgen-process';
import { BackendProc, ProcessSet, ServerProc, http, startBackendProc, startServerProc, type HttpAuth } from './procs';
import { makeKeyAndCsr } from '../security';
import { ClientResult, ScenarioResult, StrategyName, STRATEGIES, markdownReport, mergeClients, summaryRows, svgChart, textTable } from './report';
import { LATENCY_MATRIX, OVERLOAD_EXTRA_MS, SiteSpec, Topology, clientLocation, demoTopology, relaysNearest } from './topology';
import { LiveView } from './view';
import { createServer } from 'node:net';

/** A free TCP port on `host` (bound and released). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface DemoOptions {
  quick: boolean;
  /** Folder for demo-report.md and demo-report.svg. */
  outDir: string;
  tty: boolean;
  write?: (s: string) => void;
  signal?: AbortSignal;
  /** Phase length override (ms). */
  phaseMs?: number;
  /** Open mode (every server with --insecure); default: secure (TLS, enrollment, node credentials). */
  insecure?: boolean;
}

export interface DemoResult {
  reportPath: string;
  svgPath: string;
  results: ScenarioResult[];
  pids: number[];
  tmpDir: string;
}

const HB = '1s';
/** What every site reports in its heartbeats outside the overload scenario. */
const NORMAL_LOAD = { cpu: 0.3, memory: 0.3, network: 0.1 };
const COMMON = ['--heartbeat-interval', HB, '--coalesce', '20ms', '--weight-push-interval', '0ms'];

interface Scenario {
  name: string;
  text: string;
  ms: number;
  start(d: Demo): Promise<void>;
  end?(d: Demo): Promise<void>;
}

function scenarioList(t: Topology, quick: boolean, phaseMs?: number): Scenario[] {
  const ms = (full: number, q: number): number => phaseMs ?? (quick ? q : full);
  const all: Scenario[] = [
    { name: 'steady', text: 'every site up, normal load', ms: ms(6000, 2000), start: async () => undefined },
    {
      name: 'overload',
      text: `${t.targets.overload} reports load 0.95 in its heartbeats and serves ${OVERLOAD_EXTRA_MS} ms slower`,
      ms: ms(7000, 2500),
      start: async (d) => d.overload(t.targets.overload, true),
      end: async (d) => d.overload(t.targets.overload, false),
    },
    { name: 'kill-site', text: `${t.targets.kill}'s backend is killed (SIGKILL)`, ms: ms(7000, 2500), start: async (d) => d.killSite(t.targets.kill) },
    {
      name: 'partition',
      text: 'the global tier is killed: the regions run on their relays; then it restarts on the same database and ports',
      ms: ms(7000, 4000),
      start: async (d) => d.killGlobal(),
      end: async (d) => d.restartGlobal(),
    },
    {
      name: 'kill-relay',
      text: `${t.targets.relay} (the nearest relay of the cn-east clients) is killed (SIGKILL)`,
      ms: ms(6000, 3000),
      start: async (d) => d.killRelay(t.targets.relay),
    },
  ];
  return quick ? all.filter((s) => ['steady', 'overload', 'kill-site'].includes(s.name)) : all;
}

class Demo {
  readonly set = new ProcessSet();
  readonly t: Topology;
  readonly tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-xds-demo-'));
  global!: ServerProc;
  readonly relays = new Map<string, ServerProc>();
  readonly backends = new Map<string, BackendProc>();
  readonly ports = new Map<string, { http: number; xds: number; plain: number }>();
  /** Secure mode: the CA and admin token of the global tier (created at its first start). */
  auth: HttpAuth | undefined;
  /** Secure mode: each node's token (sites, clients) from its enrollment. */
  private readonly nodeTokens = new Map<string, string>();
  readonly view: LiveView;

  constructor(
    readonly o: DemoOptions,
    t0: number,
  ) {
    this.t = demoTopology(o.quick);
    this.view = new LiveView(
      this.t.sites.map((s) => s.id),
      this.t.clients.map((c) => c.id),
      o.tty,
      o.write ?? ((s) => process.stdout.write(s)),
      t0,
    );
  }

  log(text: string): void {
    this.view.event(text);
  }

  async sleep(ms: number): Promise<void> {
    const sig = this.o.signal;
    if (sig?.aborted) throw new Error('aborted');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        sig?.removeEventListener('abort', onAbort);
        resolve();
      }
      function onAbort(): void {
        clearTimeout(timer);
        reject(new Error('aborted'));
      }
      sig?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async waitUntil(what: string, pred: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await pred().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await this.sleep(200);
    }
  }

  /**
   * Ports of every server, picked up front (free ephemeral ports on each
   * server's own address) so the tiers and sites can all start at once and
   * restarts keep their ports.
   */
  async pickPorts(): Promise<void> {
    const hosts: Array<[string, string]> = [['global', this.t.globalHost], ...this.t.relays.map((r): [string, string] => [r.id, r.host])];
    for (const [name, host] of hosts) this.ports.set(name, { http: await freePort(host), xds: await freePort(host), plain: await freePort(host) });
  }

  get secure(): boolean {
    return !this.o.insecure;
  }

  private url(name: string, host: string): string {
    return `${this.secure ? 'https' : 'http'}://${host}:${this.ports.get(name)!.http}`;
  }

  /** Secure mode: a plaintext xDS listener on the server's own address for the proxyless clients; open mode: --insecure. */
  private modeArgs(name: string, host: string): string[] {
    return this.secure ? ['--xds-plaintext-port', String(this.ports.get(name)!.plain), '--xds-plaintext-host', host] : ['--insecure'];
  }

  /** REST calls to the tiers (with the CA and admin token in secure mode). */
  api(method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    return http(method, url, body, 3000, this.auth);
  }

  async startGlobal(): Promise<void> {
    const dir = path.join(this.tmp, 'global');
    const args = [...COMMON, ...this.modeArgs('global', this.t.globalHost)];
    this.global = await startServerProc(this.set, { name: 'global', host: this.t.globalHost, dir, args, ports: this.ports.get('global') });
    if (this.secure && !this.auth) {
      this.auth = { ca: fs.readFileSync(path.join(dir, 'pki', 'ca.pem'), 'utf8'), token: fs.readFileSync(path.join(dir, 'admin-token'), 'utf8').trim() };
      this.log('secure mode: the global tier created its CA and admin token; relays, sites and clients enroll with join tokens');
    }
  }

  /**
   * Secure mode: what `edge-xds token create` + `edge-xds enroll` do, in
   * process: a join token from the admin, a key made here, the CSR sent to
   * POST /v1/enroll. Relays get their address in their certificate.
   */
  async enroll(kind: 'node' | 'relay', id: string, sans?: string[]): Promise<{ keyPem: string; chainPem: string; nodeToken: string | null }> {
    const base = this.global.baseUrl;
    const t = await this.api('POST', `${base}/v1/tokens`, { kind, node: id, ...(sans ? { sans } : {}), description: 'demo' });
    if (t.status !== 201) throw new Error(`POST /v1/tokens for ${kind} ${id}: HTTP ${t.status} ${JSON.stringify(t.json)}`);
    const { keyPem, csrPem } = await makeKeyAndCsr({ kind, id });
    const e = await this.api('POST', `${base}/v1/enroll`, { kind, id, csr: csrPem, token: (t.json as { token: string }).token });
    if (e.status !== 201) throw new Error(`POST /v1/enroll for ${kind} ${id}: HTTP ${e.status} ${JSON.stringify(e.json)}`);
    const out = e.json as { chainPem: string; nodeToken?: string };
    return { keyPem, chainPem: out.chainPem, nodeToken: out.nodeToken ?? null };
  }

  /** Secure mode: a node's token, enrolled once. */
  async nodeToken(id: string): Promise<string> {
    let t = this.nodeTokens.get(id);
    if (!t) {
      t = (await this.enroll('node', id)).nodeToken!;
      this.nodeTokens.set(id, t);
    }
    return t;
  }

  /** Secure mode: the relay's --tls-dir (enrolled once; kept across restarts like a real relay's files). */
  private async relayTlsDir(id: string, host: string): Promise<string> {
    const dir = path.join(this.tmp, `${id}-tls`);
    if (fs.existsSync(path.join(dir, 'cert.pem'))) return dir;
    const e = await this.enroll('relay', id, [host]);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'key.pem'), e.keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'cert.pem'), e.chainPem);
    fs.writeFileSync(path.join(dir, 'ca.pem'), this.auth!.ca);
    return dir;
  }

  async startRelay(id: string): Promise<void> {
    const r = this.t.relays.find((x) => x.id === id)!;
    const args = [
      ...COMMON,
      '--role',
      'regional',
      '--region',
      r.region,
      '--upstream',
      `${this.t.globalHost}:${this.ports.get('global')!.xds}`,
      '--advertise-address',
      r.host,
      '--location',
      `${r.location.lat},${r.location.lon}`,
      '--relay-id',
      r.id,
      ...this.modeArgs(id, r.host),
      ...(this.secure ? ['--tls-dir', await this.relayTlsDir(r.id, r.host)] : []),
    ];
    this.relays.set(id, await startServerProc(this.set, { name: id, host: r.host, dir: path.join(this.tmp, id), args, ports: this.ports.get(id) }));
  }

  async startSite(s: SiteSpec): Promise<void> {
    const urls = [...relaysNearest(this.t, s.region, s.location).map((r) => this.url(r.id, r.host)), this.url('global', this.t.globalHost)];
    const m = LATENCY_MATRIX;
    const args = [
      '--host',
      s.host,
      '--port',
      '0',
      '--node-id',
      s.id,
      '--region',
      s.region,
      '--zone',
      s.zone,
      '--lat',
      String(s.location.lat),
      '--lon',
      String(s.location.lon),
      '--latency-matrix',
      `${m.zone},${m.region},${m.remote}`,
      '--advertise-address',
      s.host,
      '--admin-host',
      s.host,
      '--admin-port',
      '0',
      '--heartbeat-interval',
      HB,
      '--max-rps',
      '500',
      '--log-level',
      'warn',
      ...urls.flatMap((u) => ['--registry-url', u]),
    ];
    if (this.secure) {
      // The site's own credential (a real node keeps it in the folder `edge-xds enroll --out` wrote).
      const dir = path.join(this.tmp, `${s.id}-node`);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(dir, 'node-token'), await this.nodeToken(s.id), { mode: 0o600 });
      fs.writeFileSync(path.join(dir, 'ca.pem'), this.auth!.ca);
      args.push('--token-file', path.join(dir, 'node-token'), '--cacert', path.join(dir, 'ca.pem'));
    }
    const b = await startBackendProc(this.set, s.id, args);
    // A steady reported load (not the process's own noisy CPU share) so that runs compare.
    await http('POST', `${b.adminUrl}/load`, NORMAL_LOAD);
    this.backends.set(s.id, b);
  }

  async edgeNodes(): Promise<Array<{ id: string; role: string; state: string }>> {
    const r = await this.api('GET', `${this.global.baseUrl}/v1/nodes`);
    const b = r.json as { nodes?: Array<{ id: string; role: string; state: string }> } | Array<{ id: string; role: string; state: string }>;
    return Array.isArray(b) ? b : (b.nodes ?? []);
  }

  async waitAllHealthy(): Promise<void> {
    const want = new Set([...this.t.sites.map((s) => s.id), ...this.t.relays.map((r) => r.id)]);
    await this.waitUntil(
      'every site and relay healthy at the global tier',
      async () => {
        const nodes = await this.edgeNodes();
        return [...want].every((id) => nodes.some((n) => n.id === id && n.state === 'healthy'));
      },
      60_000,
    );
  }

  async setStrategy(s: StrategyName): Promise<void> {
    const r = await this.api('PUT', `${this.global.baseUrl}/v1/config/weights`, { strategy: s });
    if (r.status !== 200) throw new Error(`PUT /v1/config/weights at the global tier: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    // Relays compute the region's EDS themselves while cut off: same strategy there.
    for (const relay of this.relays.values()) await this.api('PUT', `${relay.baseUrl}/v1/config/weights`, { strategy: s }).catch(() => undefined);
  }

  async overload(site: string, on: boolean): Promise<void> {
    const b = this.backends.get(site)!;
    await http('POST', `${b.adminUrl}/load`, on ? { cpu: 0.95, memory: 0.5, network: 0.3 } : NORMAL_LOAD);
    await http('POST', `${b.adminUrl}/latency`, { ms: on ? OVERLOAD_EXTRA_MS : 0 });
    this.log(on ? `${site}: heartbeats report load 0.95, serving +${OVERLOAD_EXTRA_MS} ms` : `${site}: load and latency back to normal`);
  }

  async killSite(site: string): Promise<void> {
    await this.backends.get(site)!.stop('SIGKILL');
    this.log(`${site}: backend killed (SIGKILL)`);
  }

  async killGlobal(): Promise<void> {
    await this.global.stop('SIGKILL');
    this.log('global tier killed (SIGKILL): regions cut off, relays serve on their own');
  }

  async restartGlobal(): Promise<void> {
    await this.startGlobal();
    this.log('global tier restarted (same database and ports); waiting for the relays to reconcile');
    await this.waitUntil(
      'relays in sync with the global tier',
      async () => {
        for (const r of this.relays.values()) {
          const s = (await this.api('GET', `${r.baseUrl}/v1/tier`)).json as { inSync?: boolean; outboxPending?: number };
          if (!s.inSync || (s.outboxPending ?? 0) > 0) return false;
        }
        return true;
      },
      20_000,
    );
    this.log('relays in sync again');
  }

  async killRelay(id: string): Promise<void> {
    await this.relays.get(id)!.stop('SIGKILL');
    this.log(`${id} killed (SIGKILL): its clients and sites move to the next relay`);
  }

  /** Brings back what the scenarios broke (between the two passes). */
  async restore(): Promise<void> {
    if (!this.global.alive()) await this.startGlobal();
    await Promise.all([...this.relays].filter(([, r]) => !r.alive()).map(([id]) => this.startRelay(id)));
    await Promise.all(this.t.sites.filter((s) => !this.backends.get(s.id)?.alive()).map((s) => this.startSite(s)));
    await this.waitAllHealthy();
  }

  /** Secure mode: every client's node token (enrolled before the clients start). */
  async enrollClients(): Promise<void> {
    if (this.secure) for (const c of this.t.clients) await this.nodeToken(c.id);
  }

  startClients(rate: number, durationMs: number): Map<string, LoadgenHandle> {
    const out = new Map<string, LoadgenHandle>();
    // Secure mode: proxyless gRPC clients use the plaintext listeners with their node credential.
    const port = (name: string): number => (this.secure ? this.ports.get(name)!.plain : this.ports.get(name)!.xds);
    for (const c of this.t.clients) {
      const relays = relaysNearest(this.t, c.region, clientLocation(this.t, c));
      const token = this.nodeTokens.get(c.id);
      const bootstrap = renderGrpcBootstrap({
        nodeId: c.id,
        locality: { region: c.region, zone: c.zone, subZone: '' },
        xdsServers: [...relays.map((r) => ({ host: r.host, port: port(r.id) })), { host: this.t.globalHost, port: port('global') }],
        ...(this.secure && token ? { metadata: { [NODE_CREDENTIAL_METADATA_KEY]: token } } : {}),
      });
      const lg = spawnLoadgen({
        bootstrap,
        target: 'xds:///echo',
        rate,
        durationMs,
        deadlineMs: 1000,
        reportEveryMs: 500,
        warmupMs: 20_000,
        clientLocality: { region: c.region, zone: c.zone },
      });
      this.set.adopt(`loadgen ${c.id}`, lg.process);
      lg.events.on('window', (w: WindowRecord) => this.view.window(c.id, w));
      out.set(c.id, lg);
    }
    return out;
  }

  /** Starts the clients and waits for their first answered RPC. */
  async readyClients(durationMs: number): Promise<Map<string, LoadgenHandle>> {
    await this.enrollClients();
    this.log(`starting ${this.t.clients.length} grpc-js-xds clients${this.secure ? ' (plaintext xDS listeners, each with its node credential)' : ''}`);
    const clients = this.startClients(this.o.quick ? 30 : 40, durationMs);
    const t0 = Date.now();
    await Promise.all(
      [...clients].map(async ([id, lg]) => {
        const r = await lg.waitFor((x) => x.type === 'ready', 40_000);
        this.log(`${id}: first RPC answered ${((Date.now() - t0) / 1000).toFixed(1)} s after start (xDS wait ${(r as { waitedMs: number }).waitedMs} ms)`);
        await lg.waitFor((x) => x.type === 'start', 5000);
      }),
    );
    return clients;
  }

  /**
   * One pass of every scenario with `strategy`. Fresh clients per pass (full
   * run: each pass starts from clients on their nearest relay), or `shared`
   * clients kept across passes (quick run).
   */
  async pass(strategy: StrategyName, index: number, results: ScenarioResult[], shared?: Map<string, LoadgenHandle>): Promise<void> {
    const list = scenarioList(this.t, this.o.quick, this.o.phaseMs);
    await this.setStrategy(strategy);
    this.log(`pass ${index + 1}/2: strategy ${strategy} (PUT /v1/config/weights)`);
    const clients = shared ?? (await this.readyClients(list.reduce((s, x) => s + x.ms, 0) + 90_000));
    try {
      // Warm-up / settle time, not measured: JIT of fresh clients, the strategy switch reaching them.
      await this.sleep(this.o.quick ? 1000 : 2500);
      const markAll = async (name: string): Promise<Map<string, PhaseRecord>> => {
        const recs = await Promise.all([...clients].map(async ([id, lg]) => [id, await lg.phase(name)] as const));
        return new Map(recs);
      };
      await markAll(list[0].name);
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        const t0 = Date.now();
        this.view.phase(`pass ${index + 1}/2 ${strategy} | phase ${i + 1}/${list.length} ${s.name}: ${s.text}`);
        await s.start(this);
        await this.sleep(s.ms);
        if (s.end) await s.end(this);
        const recs = await markAll(list[i + 1]?.name ?? 'end');
        const cl: Record<string, ClientResult> = {};
        const samples: number[] = [];
        for (const [id, r] of recs) {
          cl[id] = { ok: r.ok, failed: r.failed, counts: r.counts, errors: r.errors, p50Ms: r.p50Ms, p99Ms: r.p99Ms };
          samples.push(...(r.latencies ?? []));
        }
        results.push({ strategy, scenario: s.name, description: s.text, durationMs: Date.now() - t0, clients: cl, all: mergeClients(cl, samples) });
      }
    } finally {
      if (!shared) await Promise.all([...clients.values()].map((lg) => lg.kill()));
    }
  }
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const startedAt = new Date();
  const d = new Demo(o, startedAt.getTime());
  const write = o.write ?? ((s: string) => process.stdout.write(s));
  const results: ScenarioResult[] = [];
  try {
    d.log(`edge-xds demo (${o.quick ? 'quick' : 'full'}): temp dir ${d.tmp}`);
    await d.pickPorts();
    d.log(
      `starting the global tier (${d.t.globalHost}), relays (${d.t.relays.map((r) => `${r.id}@${r.host}`).join(', ')}) and sites (${d.t.sites.map((s) => `${s.id}@${s.host}`).join(', ')})`,
    );
    // The global tier first, then relays and sites at once (sites retry registration until their relays answer).
    // Quick, open mode: the clients start with the servers (their start-up overlaps); secure mode: once they enrolled.
    let clientsReady = o.quick && !d.secure ? d.readyClients(180_000) : undefined;
    clientsReady?.catch(() => undefined);
    await d.startGlobal();
    if (o.quick && d.secure) {
      await d.enrollClients();
      clientsReady = d.readyClients(180_000);
      clientsReady.catch(() => undefined);
    }
    await Promise.all([...d.t.relays.map((r) => d.startRelay(r.id)), ...d.t.sites.map((s) => d.startSite(s))]);
    d.log('servers up; waiting for every site and relay to be healthy at the global tier');
    await d.waitAllHealthy();
    d.view.start();
    const shared = await clientsReady;
    for (let i = 0; i < STRATEGIES.length; i++) {
      if (i > 0) {
        d.log('restoring the topology (site, relay, global tier) for the next pass');
        await d.restore();
      }
      await d.pass(STRATEGIES[i], i, results, shared);
    }
    d.view.stop();
    const reportPath = path.resolve(o.outDir, 'demo-report.md');
    const svgPath = path.resolve(o.outDir, 'demo-report.svg');
    fs.mkdirSync(o.outDir, { recursive: true });
    fs.writeFileSync(svgPath, svgChart(results, `edge-xds demo: latency per scenario, edge-aware vs round robin (${o.quick ? 'quick' : 'full'} run)`));
    fs.writeFileSync(
      reportPath,
      markdownReport(results, {
        mode: o.quick ? 'quick' : 'full',
        startedAt,
        durationS: (Date.now() - startedAt.getTime()) / 1000,
        sites: d.t.sites.map((s) => s.id),
        command: o.quick ? 'npm run demo -- --quick' : 'npm run demo',
        svgFile: path.basename(svgPath),
        scenarioText: Object.fromEntries(scenarioList(d.t, o.quick).map((s) => [s.name, s.text])),
        topology: topologyText(d.t),
      }),
    );
    write(`\nSummary (all clients; errors = failed/all RPCs):\n${textTable(summaryRows(results))}\n\nreport: ${reportPath}\nchart:  ${svgPath}\n`);
    return { reportPath, svgPath, results, pids: d.set.pids, tmpDir: d.tmp };
  } finally {
    d.view.stop();
    await d.set.killAll(2000);
    fs.rmSync(d.tmp, { recursive: true, force: true });
    write(`cleanup: stopped ${d.set.pids.length} processes (pids ${d.set.pids.join(',')}), removed ${d.tmp}\n`);
  }
}

function topologyText(t: Topology): string[] {
  const m = LATENCY_MATRIX;
  return [
    `global tier on ${t.globalHost}; relays ${t.relays.map((r) => `${r.id} (${r.region}, ${r.host})`).join(', ')}`,
    `sites (echo backend each): ${t.sites.map((s) => `${s.id} (${s.zone}, ${s.host})`).join(', ')}`,
    `clients (@grpc/grpc-js-xds, one process each, bootstrap = region relays nearest first, then the global tier): ${t.clients.map((c) => `${c.id} (${c.zone})`).join(', ')}`,
    `network distance modelled by the backends' delay by where the caller is: same zone ${m.zone} ms, same region ${m.region} ms, other region ${m.remote} ms`,
    `heartbeat interval ${HB}; every site reports load ${NORMAL_LOAD.cpu} (cpu) except when overloaded; everything on loopback (127.0.x.y addresses)`,
  ];
}
