/**
 * Child processes of the demo: edge-xds servers (global tier, relays) and
 * demo backends, every one tracked so killAll() can stop them whatever
 * happens (errors, Ctrl-C). Output is kept (last 64 KB) for error messages.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';

export const CLI_MAIN = path.resolve(__dirname, '../cli/main.js');
export const BACKEND_MAIN = path.join(__dirname, 'backend-main.js');

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
  alive(): boolean;
  output(): string;
  /** Sends `signal` (SIGKILL after `graceMs`), resolves on exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const liveSets = new Set<ProcessSet>();

/** SIGKILL every process of every ProcessSet (synchronous: for process 'exit' and a second Ctrl-C). */
export function killEverythingNow(): void {
  for (const s of liveSets) s.killAllNow();
}

export class ProcessSet {
  private readonly procs = new Set<Proc>();

  constructor() {
    liveSets.add(this);
  }
  /** Every pid ever started (for the caller's cleanup check). */
  readonly pids: number[] = [];

  spawn(name: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer): void => {
      out += d.toString();
      if (out.length > 128_000) out = out.slice(-64_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.stdin?.on('error', () => undefined);
    return this.track(name, child, () => out);
  }

  /** Adopts a process started elsewhere (load generators). */
  adopt(name: string, child: ChildProcess): void {
    this.track(name, child, () => '');
  }

  /** Follows a child until it exits; stop() signals it (SIGKILL after graceMs) and forgets it. */
  private track(name: string, child: ChildProcess, output: () => string): Proc {
    let done = child.exitCode !== null || child.signalCode !== null;
    const exited = new Promise<void>((resolve) =>
      done
        ? resolve()
        : child.once('exit', () => {
            done = true;
            resolve();
          }),
    );
    const p: Proc = {
      name,
      pid: child.pid ?? -1,
      child,
      exited,
      alive: () => !done,
      output,
      stop: async (signal = 'SIGTERM', graceMs = 4000) => {
        if (!done) {
          child.kill(signal);
          const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(t);
        }
        this.procs.delete(p);
      },
    };
    this.procs.add(p);
    if (child.pid) this.pids.push(child.pid);
    return p;
  }

  /** SIGTERM everything still running, SIGKILL after `graceMs`. */
  async killAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.stop('SIGTERM', graceMs)));
  }

  /** Synchronous last resort (process 'exit' handler). */
  killAllNow(): void {
    for (const p of this.procs) if (p.alive()) p.child.kill('SIGKILL');
  }
}

export interface ServerProc extends Proc {
  host: string;
  httpPort: number;
  xdsPort: number;
  baseUrl: string;
}

/** Starts `edge-xds serve` on `host` (ports 0 unless given) and waits for its ready file. */
export async function startServerProc(
  set: ProcessSet,
  o: { name: string; host: string; dir: string; args: string[]; ports?: { http: number; xds: number }; timeoutMs?: number },
): Promise<ServerProc> {
  fs.mkdirSync(o.dir, { recursive: true });
  const ready = path.join(o.dir, `ready-${Date.now()}.json`);
  const args = [
    CLI_MAIN,
    'serve',
    '--host',
    o.host,
    '--http-port',
    String(o.ports?.http ?? 0),
    '--xds-port',
    String(o.ports?.xds ?? 0),
    '--db',
    path.join(o.dir, 'edge-xds.db'),
    '--ready-file',
    ready,
    '--log-level',
    'warn',
    ...o.args,
  ];
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGE_XDS_')) env[k] = v;
  const p = set.spawn(o.name, args, env);
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    if (!p.alive()) throw new Error(`${o.name} exited before ready:\n${p.output().slice(-3000)}`);
    if (Date.now() > deadline) {
      await p.stop('SIGKILL');
      throw new Error(`${o.name} not ready within ${o.timeoutMs ?? 60_000} ms:\n${p.output().slice(-3000)}`);
    }
    try {
      const ports = JSON.parse(fs.readFileSync(ready, 'utf8')) as { httpPort: number; xdsPort: number; secure?: boolean };
      return Object.assign(p, { host: o.host, httpPort: ports.httpPort, xdsPort: ports.xdsPort, baseUrl: `${ports.secure ? 'https' : 'http'}://${o.host}:${ports.httpPort}` });
    } catch {
      await sleep(30);
    }
  }
}

export interface BackendProc extends Proc {
  port: number;
  adminUrl: string;
}

/** Starts backend-main with `args` and waits for its "listening" line. */
export async function startBackendProc(set: ProcessSet, name: string, args: string[], timeoutMs = 60_000): Promise<BackendProc> {
  const p = set.spawn(name, [BACKEND_MAIN, ...args]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = p
      .output()
      .split('\n')
      .find((l) => l.startsWith('{"type":"listening"'));
    if (line) {
      const r = JSON.parse(line) as { port: number; adminPort: number | null; advertiseAddress: string };
      const adminHost = args[args.indexOf('--admin-host') + 1] ?? '127.0.0.1';
      return Object.assign(p, { port: r.port, adminUrl: `http://${adminHost}:${r.adminPort}` });
    }
    if (!p.alive()) throw new Error(`${name} exited before listening:\n${p.output().slice(-3000)}`);
    if (Date.now() > deadline) {
      await p.stop('SIGKILL');
      throw new Error(`${name} not listening within ${timeoutMs} ms:\n${p.output().slice(-3000)}`);
    }
    await sleep(30);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Secure mode: the CA that https:// URLs are verified against, and the bearer token to send. */
export interface HttpAuth {
  ca: string;
  token: string;
}

/** fetch with a timeout (node:https with the CA and token for https:// URLs); throws with the URL on failure. */
export async function http(method: string, url: string, body?: unknown, timeoutMs = 3000, auth?: HttpAuth): Promise<{ status: number; json: unknown }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  let status: number;
  let text: string;
  if (url.startsWith('https:')) {
    if (!auth) throw new Error(`${method} ${url}: https needs the CA and a token`);
    headers.authorization = `Bearer ${auth.token}`;
    ({ status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(url, { method, headers, ca: auth.ca, agent: false, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
      req.on('error', reject);
      req.end(payload);
    }));
  } else {
    const res = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    status = res.status;
    text = await res.text();
  }
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status, json };
}
