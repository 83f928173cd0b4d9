/**
 * The registry side of the fleet bench: E endpoints registered over REST,
 * spread over S services and several regions/zones, heartbeating on a
 * schedule (steady or noisy load), plus the server's own figures (/metrics,
 * /proc/<pid>).
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Zone } from './fleet';

export const REGIONS = [
  { region: 'us-east', lat: 39.0, lon: -77.5 },
  { region: 'us-west', lat: 37.4, lon: -122.1 },
  { region: 'eu-west', lat: 53.3, lon: -6.3 },
  { region: 'ap-south', lat: 19.1, lon: 72.9 },
];

/** 4 regions x `perRegion` zones. */
export function meshZones(perRegion = 4): Zone[] {
  const out: Zone[] = [];
  for (const r of REGIONS) for (let z = 0; z < perRegion; z++) out.push({ region: r.region, zone: `${r.region}-${String.fromCharCode(97 + z)}` });
  return out;
}

export interface MeshSpec {
  services: number;
  endpoints: number;
  zones: Zone[];
}

export const serviceName = (i: number): string => `svc-${i}`;
export const endpointId = (i: number): string => `ep-${i}`;
/** The service endpoint i serves. */
export const serviceOf = (i: number, spec: MeshSpec): string => serviceName(i % spec.services);

export function registrationBody(i: number, spec: MeshSpec): Record<string, unknown> {
  const z = spec.zones[Math.floor(i / spec.services) % spec.zones.length];
  const r = REGIONS.find((x) => x.region === z.region) ?? REGIONS[0];
  return {
    id: endpointId(i),
    region: z.region,
    zone: z.zone,
    location: { lat: r.lat + ((i * 7) % 100) / 100, lon: r.lon + ((i * 13) % 100) / 100 },
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255 || 1}`,
    services: [{ name: serviceOf(i, spec), port: 8080, protocol: 'http' }],
    capacity: { cpu: 4, maxRps: 500 },
  };
}

// Enough connections for 2,000 endpoints' heartbeats (200/s) even when the server answers in ~1 s:
// with 16, a busy server's latency made the simulated endpoints skip heartbeats and go suspect (real
// endpoints each have their own connection), so the bench measured health flaps it caused itself.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** A secure-mode server's REST credentials: its CA bundle and a bearer token (the bench uses the admin token). */
export interface RestCredentials {
  caPem: string;
  token: string;
}

/** https:// origins -> their agent (trusting the server's CA) and bearer token. */
const secureOrigins = new Map<string, { agent: https.Agent; authorization: string }>();

/** Makes post/getText/heartbeat/registerAll/Heartbeater speak HTTPS with `creds` to `base` (an https:// URL). */
export function useRestCredentials(base: string, creds: RestCredentials): void {
  const origin = new URL(base).origin;
  secureOrigins.get(origin)?.agent.destroy();
  secureOrigins.set(origin, { agent: new https.Agent({ keepAlive: true, maxSockets: 256, ca: creds.caPem }), authorization: `Bearer ${creds.token}` });
}

export function forgetRestCredentials(base: string): void {
  const origin = new URL(base).origin;
  secureOrigins.get(origin)?.agent.destroy();
  secureOrigins.delete(origin);
}

/** node:http or node:https, the agent, and headers for a URL (https needs useRestCredentials first). */
function transport(url: URL): { mod: typeof http | typeof https; agent: http.Agent; headers: Record<string, string> } {
  if (url.protocol !== 'https:') return { mod: http, agent, headers: {} };
  const s = secureOrigins.get(url.origin);
  if (!s) throw new Error(`${url.origin}: HTTPS without credentials (call useRestCredentials first)`);
  return { mod: https, agent: s.agent, headers: { authorization: s.authorization } };
}

export function post(base: string, p: string, body: unknown, method = 'POST'): Promise<number> {
  const url = new URL(p, base);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const t = transport(url);
  return new Promise((resolve, reject) => {
    const req = t.mod.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        agent: t.agent,
        timeout: 10_000,
        headers: { ...t.headers, ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${p} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Like post, with the JSON answer (status and parsed body). */
export function postJson<T = unknown>(base: string, p: string, body: unknown): Promise<{ status: number; json: T }> {
  const url = new URL(p, base);
  const payload = Buffer.from(JSON.stringify(body));
  const t = transport(url);
  return new Promise((resolve, reject) => {
    const req = t.mod.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent: t.agent,
        timeout: 30_000,
        headers: { ...t.headers, 'content-type': 'application/json', 'content-length': String(payload.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json: json as T });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`POST ${p} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export function getText(base: string, p: string): Promise<string> {
  const url = new URL(p, base);
  const t = transport(url);
  return new Promise((resolve, reject) => {
    const req = t.mod.get({ host: url.hostname, port: url.port, path: url.pathname + url.search, agent: t.agent, headers: t.headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${p} timed out`)));
    req.on('error', reject);
  });
}

/** Runs `fn` over 0..n-1 with `concurrency` in flight. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

export async function registerAll(base: string, spec: MeshSpec): Promise<void> {
  await pool(spec.endpoints, 16, async (i) => {
    const status = await post(base, '/v1/nodes', registrationBody(i, spec));
    if (status !== 201 && status !== 200) throw new Error(`registering ${endpointId(i)}: HTTP ${status}`);
  });
}

export const STEADY_LOAD = { cpu: 0.3, memory: 0.4, network: 0.2 };
export const NETWORK = { latencyMs: 20, jitterMs: 2, packetLoss: 0 };

export function heartbeat(base: string, i: number, load: { cpu: number; memory: number; network: number }): Promise<number> {
  return post(base, `/v1/nodes/${endpointId(i)}/heartbeat`, { load, network: NETWORK });
}

/**
 * Heartbeats every endpoint once per intervalMs, spread evenly over the
 * interval (E/interval requests per second). Endpoints in `silenced` are
 * skipped; `loadOf` decides each heartbeat's load.
 */
export class Heartbeater {
  sent = 0;
  failed = 0;
  /** Heartbeats not sent because too many were still waiting for an answer. */
  skipped = 0;
  /** Answer times (ms) of the heartbeats sent since the last takeLatencies() (bounded). */
  private latencies: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private cursor = 0;
  private inFlight = 0;
  readonly silenced = new Set<number>();
  loadOf: (i: number) => { cpu: number; memory: number; network: number } = () => STEADY_LOAD;

  constructor(
    private readonly base: string,
    private readonly endpoints: number,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    const tickMs = 50;
    const perTick = this.endpoints / (this.intervalMs / tickMs);
    let carry = 0;
    this.timer = setInterval(() => {
      carry += perTick;
      const n = Math.floor(carry);
      carry -= n;
      for (let k = 0; k < n; k++) {
        const i = this.cursor;
        this.cursor = (this.cursor + 1) % this.endpoints;
        if (this.silenced.has(i)) continue;
        if (this.inFlight > 1024) {
          this.skipped++;
          continue;
        }
        this.inFlight++;
        const at = performance.now();
        heartbeat(this.base, i, this.loadOf(i))
          .then((s) => (s === 204 ? this.sent++ : this.failed++))
          .catch(() => this.failed++)
          .finally(() => {
            this.inFlight--;
            if (this.latencies.length < 200_000) this.latencies.push(performance.now() - at);
          });
      }
    }, tickMs);
  }

  /** Answer times (ms) since the last call, failed ones included. */
  takeLatencies(): number[] {
    const out = this.latencies;
    this.latencies = [];
    return out;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** A noisy load around a per-endpoint base (never reaching the overload threshold). */
export function noisyLoad(i: number): { cpu: number; memory: number; network: number } {
  const base = 0.2 + ((i * 37) % 40) / 100;
  const j = (): number => (Math.random() - 0.5) * 0.1;
  return { cpu: Math.min(0.85, Math.max(0, base + j())), memory: 0.4 + j(), network: 0.2 + j() };
}

/** Sum of a Prometheus metric's samples (all labels), optionally filtered by a label substring. */
export function metricSum(text: string, name: string, filter?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (filter && !line.includes(filter)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export interface ProcSample {
  cpuSeconds: number;
  rssBytes: number;
  hwmBytes: number;
}

export function procSample(pid: number): ProcSample {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ = 100
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string): number => Number(/\s(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(k)) ?? '')?.[1] ?? 0) * 1024;
    return { cpuSeconds, rssBytes: kb('VmRSS:'), hwmBytes: kb('VmHWM:') };
  } catch {
    return { cpuSeconds: NaN, rssBytes: NaN, hwmBytes: NaN };
  }
}
