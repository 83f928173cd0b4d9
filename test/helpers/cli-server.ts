/**
 * Spawns the real `edge-xds serve` process (dist/src/cli/main.js) on
 * 127.0.0.1 with ports 0 and a SQLite file in a temp dir, and waits for its
 * --ready-file. Reusable by every test that needs a real server process.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeDir } from './tmp';
import { sleep } from './wait';

/** Absolute path of the built CLI entry point. */
export const CLI_PATH = path.resolve(__dirname, '../../src/cli/main.js');

export interface CliServerOptions {
  /** Folder for the db and ready file; created (and removed on stop) when absent. */
  dir?: string;
  /** Database file; default `<dir>/edge-xds.db`. */
  db?: string;
  /** Extra `serve` arguments, e.g. ['--heartbeat-interval', '200ms']. */
  args?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Default 'warn' (use 'info' or 'debug' to inspect output()). */
  logLevel?: string;
  /** How long to wait for the ready file. Default 20000 ms. */
  readyTimeoutMs?: number;
  /** Secure mode (TLS, credentials); default false: the server runs with --insecure. */
  secure?: boolean;
  /** Extra node flags, e.g. ['--cpu-prof']. Default: EDGE_XDS_TEST_NODE_FLAGS split on spaces. */
  nodeFlags?: string[];
}

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Time from sending the signal to exit (ms). */
  ms: number;
}

export interface CliServer {
  host: '127.0.0.1';
  httpPort: number;
  xdsPort: number;
  /** The plaintext xDS listener (--xds-plaintext-port), or null. */
  xdsPlaintextPort: number | null;
  /** Secure mode (TLS, credentials): baseUrl is https:// and caPem()/adminToken() read the files the server created. */
  secure: boolean;
  /** `http://127.0.0.1:<httpPort>` (https:// in secure mode) */
  baseUrl: string;
  /** Secure mode: `<dir>/pki/ca.pem`. */
  caPem(): string;
  /** Secure mode: `<dir>/admin-token`. */
  adminToken(): string;
  dir: string;
  dbPath: string;
  pid: number;
  process: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** Sends `signal` (default SIGTERM), waits for exit (SIGKILL after timeoutMs, default 8000). Idempotent. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<StopResult>;
}

export async function startCliServer(opts: CliServerOptions = {}): Promise<CliServer> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? makeTempDir('edge-xds-cli-');
  const dbPath = opts.db ?? path.join(dir, 'edge-xds.db');
  const readyFile = path.join(dir, `ready-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const nodeFlags = opts.nodeFlags ?? (process.env.EDGE_XDS_TEST_NODE_FLAGS ?? '').split(' ').filter((x) => x !== '');
  const args = [
    ...nodeFlags,
    CLI_PATH,
    'serve',
    '--host',
    '127.0.0.1',
    '--http-port',
    '0',
    '--xds-port',
    '0',
    '--db',
    dbPath,
    '--ready-file',
    readyFile,
    '--log-level',
    opts.logLevel ?? 'warn',
    ...(opts.secure ? [] : ['--insecure']),
    ...(opts.args ?? []),
  ];
  const env: NodeJS.ProcessEnv = { ...stripEdgeEnv(process.env), ...opts.env };
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  void exited.then((e) => (exitInfo = e));

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  let ports: { httpPort: number; xdsPort: number; xdsPlaintextPort?: number | null; secure?: boolean } | null = null;
  while (ports === null) {
    if (exitInfo !== null) {
      if (ownDir) removeDir(dir);
      throw new Error(`edge-xds exited before ready (${JSON.stringify(exitInfo)}):\n${out}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      if (ownDir) removeDir(dir);
      throw new Error(`edge-xds not ready within ${opts.readyTimeoutMs ?? 20_000} ms:\n${out}`);
    }
    try {
      ports = JSON.parse(fs.readFileSync(readyFile, 'utf8')) as { httpPort: number; xdsPort: number; xdsPlaintextPort?: number | null; secure?: boolean };
    } catch {
      await sleep(25);
    }
  }

  let stopping: Promise<StopResult> | null = null;
  const stop = (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 8000): Promise<StopResult> =>
    (stopping ??= (async () => {
      const t0 = Date.now();
      if (exitInfo === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      const e = exitInfo ?? (await exited);
      if (ownDir) removeDir(dir);
      return { code: e.code, signal: e.signal, ms: Date.now() - t0 };
    })());

  return {
    host: '127.0.0.1',
    httpPort: ports.httpPort,
    xdsPort: ports.xdsPort,
    xdsPlaintextPort: ports.xdsPlaintextPort ?? null,
    secure: ports.secure === true,
    baseUrl: `${ports.secure ? 'https' : 'http'}://127.0.0.1:${ports.httpPort}`,
    caPem: () => fs.readFileSync(path.join(path.dirname(dbPath), 'pki', 'ca.pem'), 'utf8'),
    adminToken: () => fs.readFileSync(path.join(path.dirname(dbPath), 'admin-token'), 'utf8').trim(),
    dir,
    dbPath,
    pid: child.pid as number,
    process: child,
    output: () => out,
    stop,
  };
}

/** The spawned server must not pick up EDGE_XDS_* settings of the developer's shell. */
function stripEdgeEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('EDGE_XDS_')) out[k] = v;
  return out;
}

/** `serve` flags of a relay in cn-east (Shanghai) under the global tier at `upstreamXds` (127.0.0.1:port). */
export function relayArgs(upstreamXdsPort: number, relayId: string): string[] {
  return [
    '--role',
    'regional',
    '--region',
    'cn-east',
    '--upstream',
    `127.0.0.1:${upstreamXdsPort}`,
    '--advertise-address',
    '127.0.0.1',
    '--location',
    '31.2,121.4',
    '--relay-id',
    relayId,
  ];
}
