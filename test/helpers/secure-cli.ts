/**
 * Helpers for tests of the secure-mode CLI against a real `edge-xds serve`
 * process: the server in secure mode with its CA and admin token files, the
 * CLI as a child process (bounded), and an HTTPS request that trusts only the
 * deployment CA (bearer token or client certificate).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { CLI_PATH, startCliServer, type CliServer, type CliServerOptions } from './cli-server';

export interface SecureServer {
  server: CliServer;
  /** `https://127.0.0.1:<httpPort>` */
  url: string;
  caFile: string;
  caPem: string;
  adminTokenFile: string;
  adminToken: string;
  /** --server, --cacert, --token-file: the admin's flags for `token` and `revoke`. */
  adminFlags: string[];
}

export async function startSecureServer(opts: Omit<CliServerOptions, 'secure'> = {}): Promise<SecureServer> {
  const server = await startCliServer({ ...opts, secure: true });
  const ready = fs
    .readdirSync(server.dir)
    .filter((f) => f.startsWith('ready-') && f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(server.dir, f), 'utf8')) as { secure?: boolean });
  if (!ready.some((r) => r.secure === true)) {
    await server.stop();
    throw new Error('the server did not start in secure mode (ready file without "secure": true)');
  }
  const caFile = path.join(server.dir, 'pki', 'ca.pem');
  const adminTokenFile = path.join(server.dir, 'admin-token');
  const url = `https://127.0.0.1:${server.httpPort}`;
  return {
    server,
    url,
    caFile,
    caPem: fs.readFileSync(caFile, 'utf8'),
    adminTokenFile,
    adminToken: fs.readFileSync(adminTokenFile, 'utf8').trim(),
    adminFlags: ['--server', url, '--cacert', caFile, '--token-file', adminTokenFile],
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Env of a CLI child: none of the developer's EDGE_XDS_* settings, plus `extra`. */
function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGE_XDS_')) env[k] = v;
  return { ...env, ...extra };
}

/** Runs `edge-xds ARGS` to completion (killed after timeoutMs). */
export function runCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_PATH, ...args], { timeout: opts.timeoutMs ?? 30_000, env: cliEnv(opts.env), cwd: opts.cwd }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `edge-xds ARGS` in the background (for --watch); the caller stops it. */
export function spawnCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; stdout(): string; stderr(): string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

export interface TlsResponse {
  status: number;
  contentType: string;
  text: string;
  json: any;
}

/** One HTTPS request trusting only `ca`, with a bearer token and/or a client certificate. */
export function tlsRequest(
  base: string,
  urlPath: string,
  opts: { ca: string; method?: string; body?: unknown; token?: string; cert?: string; key?: string; timeoutMs?: number },
): Promise<TlsResponse> {
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: Record<string, string> = {};
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const method = opts.method ?? (payload ? 'POST' : 'GET');
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(urlPath, base), { method, headers, agent: false, ca: opts.ca, cert: opts.cert, key: opts.key, timeout: opts.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const contentType = String(res.headers['content-type'] ?? '');
        let json: unknown;
        if (contentType.includes('json') && text) json = JSON.parse(text);
        resolve({ status: res.statusCode ?? 0, contentType, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}
