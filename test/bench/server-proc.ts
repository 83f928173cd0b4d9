/**
 * Spawns `edge-xds serve` (the built CLI) for the bench, like
 * test/helpers/cli-server.ts but with node flags (--cpu-prof...) and roles.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI_PATH } from '../helpers/cli-server';
import { forgetRestCredentials, useRestCredentials } from './mesh';

export interface BenchServer {
  httpPort: number;
  xdsPort: number;
  /** http://127.0.0.1:PORT, or https:// in secure mode (mesh.ts's REST helpers then use the admin token). */
  baseUrl: string;
  /** Secure mode: the CA files (`<dir>/pki/`), the CA bundle and the admin token the server created at its first start. */
  security: { caCertFile: string; caKeyFile: string; caPem: string; adminToken: string } | null;
  pid: number;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function startServer(opts: {
  dir: string;
  name: string;
  args?: string[];
  nodeFlags?: string[];
  logLevel?: string;
  readyTimeoutMs?: number;
  logFile?: string;
  /** Secure mode (TLS, credentials) instead of --insecure. */
  secure?: boolean;
  /** Secure mode: run with this CA (--ca-cert/--ca-key) instead of creating one under `<dir>/pki/`. */
  ca?: { certFile: string; keyFile: string };
}): Promise<BenchServer> {
  const readyFile = path.join(opts.dir, `${opts.name}-ready.json`);
  const args = [
    ...(opts.nodeFlags ?? []),
    CLI_PATH,
    'serve',
    '--host',
    '127.0.0.1',
    '--http-port',
    '0',
    '--xds-port',
    '0',
    '--db',
    path.join(opts.dir, `${opts.name}.db`),
    '--db-sync',
    'normal',
    ...(opts.secure ? (opts.ca ? ['--ca-cert', opts.ca.certFile, '--ca-key', opts.ca.keyFile] : []) : ['--insecure']),
    '--ready-file',
    readyFile,
    '--log-level',
    opts.logLevel ?? 'warn',
    ...(opts.args ?? []),
  ];
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGE_XDS_')) env[k] = v;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const file = opts.logFile ? fs.createWriteStream(opts.logFile) : null;
  const keep = (d: Buffer): void => {
    file?.write(d);
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  let ports: { httpPort: number; xdsPort: number } | null = null;
  while (!ports) {
    if (child.exitCode !== null) throw new Error(`edge-xds (${opts.name}) exited before ready:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`edge-xds (${opts.name}) not ready in time:\n${out}`);
    }
    try {
      ports = JSON.parse(fs.readFileSync(readyFile, 'utf8')) as { httpPort: number; xdsPort: number };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  let security: BenchServer['security'] = null;
  const baseUrl = `${opts.secure ? 'https' : 'http'}://127.0.0.1:${ports.httpPort}`;
  if (opts.secure) {
    // Guard.open writes <db folder>/pki/ca.pem (unless --ca-cert) and <db folder>/admin-token before the server listens.
    const caCertFile = opts.ca?.certFile ?? path.join(opts.dir, 'pki', 'ca.pem');
    const caKeyFile = opts.ca?.keyFile ?? path.join(opts.dir, 'pki', 'ca-key.pem');
    try {
      security = { caCertFile, caKeyFile, caPem: fs.readFileSync(caCertFile, 'utf8'), adminToken: fs.readFileSync(path.join(opts.dir, 'admin-token'), 'utf8').trim() };
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    useRestCredentials(baseUrl, { caPem: security.caPem, token: security.adminToken });
  }
  return {
    ...ports,
    baseUrl,
    security,
    pid: child.pid!,
    process: child,
    output: () => out,
    stop: async () => {
      if (security) forgetRestCredentials(baseUrl);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** True when this build's `serve` has the regional relay role. */
export function relaysSupported(): boolean {
  const r = spawnSync(process.execPath, [CLI_PATH, 'serve', '--help'], { encoding: 'utf8', timeout: 20_000 });
  return /--role\b/.test(r.stdout ?? '') && /regional/.test(r.stdout ?? '');
}
