/**
 * REST registration and heartbeats of a demo backend (docs/API.md):
 *   POST /v1/nodes                 -> 201/200
 *   POST /v1/nodes/{id}/heartbeat  -> 204 (404: not registered -> register again)
 *   DELETE /v1/nodes/{id}          -> 202
 * `urls` are tried in order (regional relays first, the global tier last):
 * a connection error, a timeout or a 5xx moves on to the next URL; any other
 * status is the answer. Registration retries with exponential backoff until
 * it succeeds. Heartbeats stick to the URL that last worked and go back to
 * the start of the list every few beats, so a recovered nearer relay is used
 * again.
 */
import https from 'node:https';
import type { DemoLogger } from './log';
import { silentDemoLogger } from './log';

export interface Load {
  cpu: number;
  memory: number;
  network: number;
}

export interface NetworkStats {
  latencyMs: number;
  jitterMs: number;
  packetLoss: number;
}

export interface NodeRegistration {
  id: string;
  role: 'edge';
  region: string;
  zone: string;
  subZone: string;
  location: { lat: number; lon: number };
  address: string;
  services: Array<{ name: string; port: number; protocol: 'grpc' | 'http' | 'tcp' }>;
  capacity: { cpu?: number; memoryMb?: number; maxRps?: number };
  labels: Record<string, string>;
}

export interface RegistryClientOptions {
  urls: string[];
  heartbeatIntervalMs: number;
  /** Bearer token: in secure mode the node's own token (from enrollment: DIR/node-token). */
  apiToken?: string;
  /** Secure mode: the CA bundle (PEM) that https:// URLs are verified against; a client certificate may go with it. */
  tls?: { ca: string; cert?: string; key?: string };
  /** Per-request timeout (default min(2000, heartbeat interval)). */
  requestTimeoutMs?: number;
  /** Longest backoff between registration rounds (default 5000 ms). */
  maxBackoffMs?: number;
  registration: () => NodeRegistration;
  load: () => Load;
  /** Default: measured from the heartbeat round trips (EWMA). */
  network?: () => NetworkStats;
  logger?: DemoLogger;
}

export interface RegistryStats {
  registrations: number;
  heartbeatsOk: number;
  heartbeatsFailed: number;
  /** URL that answered the last successful request. */
  lastUrl: string | null;
}

interface Answer {
  url: string;
  status: number;
  ms: number;
}

/** Every URL failed (connection error, timeout or 5xx). */
export class AllUrlsFailedError extends Error {
  constructor(public readonly failures: string[]) {
    super(`every registry URL failed: ${failures.join('; ')}`);
  }
}

const RETURN_TO_FIRST_EVERY = 5;

export class RegistryClient {
  readonly stats: RegistryStats = { registrations: 0, heartbeatsOk: 0, heartbeatsFailed: 0, lastUrl: null };
  /** Resolves once the first registration succeeded. */
  readonly registered: Promise<void>;
  private resolveRegistered!: () => void;
  private readonly log: DemoLogger;
  private timer: NodeJS.Timeout | null = null;
  private heartbeating = false;
  private closed = false;
  private isRegistered = false;
  private registering = false;
  private sticky = 0;
  private beats = 0;
  private rttEwma = 0;
  private jitterEwma = 0;
  private recent: boolean[] = [];
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: RegistryClientOptions) {
    if (opts.urls.length === 0) throw new Error('registry.urls: at least one URL is required');
    for (const u of opts.urls) new URL(u);
    if (!(opts.heartbeatIntervalMs > 0)) throw new Error('registry.heartbeatIntervalMs: must be > 0');
    this.log = opts.logger ?? silentDemoLogger;
    this.registered = new Promise((resolve) => (this.resolveRegistered = resolve));
  }

  /** Registers (retrying with backoff) and then heartbeats every interval. */
  start(): void {
    this.heartbeating = true;
    void this.registerLoop();
  }

  stopHeartbeats(): void {
    this.heartbeating = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Resumes heartbeats (registering again first after deregister()). */
  resumeHeartbeats(): void {
    if (this.closed || this.heartbeating) return;
    this.heartbeating = true;
    if (this.isRegistered) this.schedule(0);
    else void this.registerLoop();
  }

  /** DELETE /v1/nodes/{id} (failover like any request); stops heartbeats first. */
  async deregister(): Promise<number> {
    this.stopHeartbeats();
    await this.inFlight.catch(() => undefined);
    const id = this.opts.registration().id;
    const a = await this.send('DELETE', `/v1/nodes/${encodeURIComponent(id)}`, undefined, 0);
    this.isRegistered = false;
    return a.status;
  }

  close(): void {
    this.closed = true;
    this.stopHeartbeats();
    this.tlsAgent?.destroy();
  }

  networkStats(): NetworkStats {
    const lost = this.recent.filter((ok) => !ok).length;
    return { latencyMs: round(this.rttEwma), jitterMs: round(this.jitterEwma), packetLoss: this.recent.length ? lost / this.recent.length : 0 };
  }

  private async registerLoop(): Promise<void> {
    if (this.registering) return;
    this.registering = true;
    try {
      await this.registerRounds();
    } finally {
      this.registering = false;
    }
  }

  private async registerRounds(): Promise<void> {
    const maxBackoff = this.opts.maxBackoffMs ?? 5000;
    let backoff = 100;
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        const a = await this.send('POST', '/v1/nodes', this.opts.registration(), 0);
        if (a.status === 200 || a.status === 201) {
          this.stats.registrations++;
          this.isRegistered = true;
          this.log.info({ url: a.url, status: a.status, attempt }, 'registered');
          this.resolveRegistered();
          if (this.heartbeating) this.schedule(0);
          return;
        }
        this.log.error({ url: a.url, status: a.status, attempt }, 'registration rejected; retrying');
      } catch (err) {
        this.log.warn({ err, attempt }, 'registration failed; retrying');
      }
      await sleep(backoff * (0.5 + Math.random() / 2));
      backoff = Math.min(maxBackoff, backoff * 2);
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      // Fixed rate: the next beat is due one interval after this one started, not after it finished,
      // so a slow server does not stretch the period towards the suspect threshold.
      const startedAt = Date.now();
      const p = this.beat();
      this.inFlight = p;
      void p.finally(() => {
        const next = Math.max(0, startedAt + this.opts.heartbeatIntervalMs - Date.now());
        if (this.heartbeating && !this.closed && this.isRegistered) this.schedule(next);
      });
    }, delayMs);
    this.timer.unref?.();
  }

  private async beat(): Promise<void> {
    const id = this.opts.registration().id;
    const body = { load: clampLoad(this.opts.load()), network: (this.opts.network ?? (() => this.networkStats()))() };
    this.beats++;
    if (this.beats % RETURN_TO_FIRST_EVERY === 0) this.sticky = 0;
    try {
      const a = await this.send('POST', `/v1/nodes/${encodeURIComponent(id)}/heartbeat`, body, this.sticky);
      this.record(true, a.ms);
      if (a.status === 204 || a.status === 200) {
        this.stats.heartbeatsOk++;
      } else if (a.status === 404) {
        this.stats.heartbeatsFailed++;
        this.log.warn({ url: a.url }, 'heartbeat: node unknown there; registering again');
        this.isRegistered = false;
        void this.registerLoop();
      } else {
        this.stats.heartbeatsFailed++;
        this.log.error({ url: a.url, status: a.status }, 'heartbeat rejected');
      }
    } catch (err) {
      this.record(false, 0);
      this.stats.heartbeatsFailed++;
      this.log.warn({ err }, 'heartbeat failed on every URL');
    }
  }

  private record(ok: boolean, ms: number): void {
    this.recent.push(ok);
    if (this.recent.length > 20) this.recent.shift();
    if (!ok) return;
    const prev = this.rttEwma;
    this.rttEwma = this.stats.heartbeatsOk === 0 ? ms : 0.7 * this.rttEwma + 0.3 * ms;
    this.jitterEwma = 0.7 * this.jitterEwma + 0.3 * Math.abs(ms - prev);
  }

  private tlsAgent: https.Agent | null = null;
  /** One keep-alive agent with the CA (and client certificate) for every https:// URL. */
  private agent(): https.Agent {
    const t = this.opts.tls!;
    return (this.tlsAgent ??= new https.Agent({ keepAlive: true, maxSockets: 4, ca: t.ca, cert: t.cert, key: t.key }));
  }

  /** Tries urls[from..], then urls[0..from): the first non-5xx answer wins. */
  private async send(method: string, path: string, body: unknown, from: number): Promise<Answer> {
    const urls = this.opts.urls;
    const failures: string[] = [];
    const timeout = this.opts.requestTimeoutMs ?? Math.min(2000, this.opts.heartbeatIntervalMs);
    for (let k = 0; k < urls.length; k++) {
      const i = (from + k) % urls.length;
      const url = new URL(path, urls[i]).toString();
      const headers: Record<string, string> = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (this.opts.apiToken) headers.authorization = `Bearer ${this.opts.apiToken}`;
      const t0 = performance.now();
      try {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const res =
          this.opts.tls && url.startsWith('https:')
            ? await httpsRequest(url, method, headers, payload, timeout, this.agent())
            : await fetchText(url, method, headers, payload, timeout);
        const text = res.text;
        if (res.status >= 500) {
          failures.push(`${urls[i]}: HTTP ${res.status} ${text.slice(0, 200)}`);
          continue;
        }
        if (res.status >= 400 && res.status !== 404) this.log.error({ url, status: res.status, body: text.slice(0, 500) }, `${method} ${path} rejected`);
        this.sticky = i;
        this.stats.lastUrl = urls[i];
        return { url: urls[i], status: res.status, ms: performance.now() - t0 };
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        failures.push(`${urls[i]}: ${cause}`);
      }
    }
    throw new AllUrlsFailedError(failures);
  }
}

async function fetchText(url: string, method: string, headers: Record<string, string>, body: string | undefined, timeout: number): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeout) });
  return { status: res.status, text: await res.text() };
}

/** node:https with a CA (fetch cannot take one): same result shape, errors carry `cause.code` like fetch's. */
function httpsRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeout: number,
  agent: https.Agent,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const h = { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
    const req = https.request(url, { method, headers: h, agent, timeout }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => reject(Object.assign(new Error(err.message), { cause: err })));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => reject(Object.assign(new Error(err.message), { cause: err })));
    req.end(body);
  });
}

function clampLoad(l: Load): Load {
  const c = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
  return { cpu: c(l.cpu), memory: c(l.memory), network: c(l.network) };
}

const round = (x: number): number => Math.round(x * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
