/**
 * `edge-xds bootstrap`: the bootstrap a proxy (Envoy) or a proxyless gRPC
 * client starts with.
 *  - online:  --node-id ID [--server URL] -> GET /v1/bootstrap/{id} of a running
 *             server (relays of the node's region nearest first, the global tier last);
 *  - offline: --node-id ID --region R --zone Z --xds-server HOST:PORT [...] -> rendered
 *             locally from envoy/<role>.template.yaml (examples/multi-region uses this).
 * Writes to stdout, or --out FILE. Exit codes: 1 server/request, 2 usage.
 *
 * Secure mode (docs/SECURITY.md): the server is https:// and verified with
 * --cacert; --token-file is the credential (admin or read token, or the node's
 * own node-token). Envoy bootstraps then carry mTLS with the node's files in
 * --cert-dir (default /etc/edge-xds), read through two filesystem SDS files
 * that this command writes into that folder when it exists here. gRPC
 * bootstraps point at the plaintext listener and carry the node's token from
 * --node-token-file in node.metadata (the server cannot fill it in for an
 * admin or read caller: it keeps only token hashes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isIPv6 } from 'node:net';
import { Command, CommanderError } from 'commander';
import {
  CERT_DIR_FILES,
  DEFAULT_CERT_DIR,
  SDS_FILES,
  certDirOfEnvoyBootstrap,
  certDirProblem,
  normalizeCertDir,
  renderEnvoyBootstrap,
  renderGrpcBootstrap,
  withNodeCredential,
  writeEnvoySdsFiles,
  NODE_CREDENTIAL_METADATA_KEY,
  NODE_TOKEN_PLACEHOLDER,
  type XdsServerAddress,
} from '../bootstrap';
import { CliError, httpsRequest, readCaFile } from './https-client';

export interface BootstrapFlags {
  nodeId?: string;
  server?: string;
  format?: string;
  mode?: string;
  out?: string;
  region?: string;
  zone?: string;
  subZone?: string;
  xdsServer?: string[];
  role?: string;
  timeout?: string;
  cacert?: string;
  tokenFile?: string;
  nodeTokenFile?: string;
  certDir?: string;
}

/** A failure with the message to print and the exit code (1: server or request, 2: usage). */
export class BootstrapCliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

const usage = (msg: string): BootstrapCliError => new BootstrapCliError(msg, 2);

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(value)) throw usage(`${flag}: must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** "host:port" or "[v6]:port". */
export function parseXdsServer(text: string): XdsServerAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:\s[\]]+):(\d+)$/.exec(text);
  if (!m) throw usage(`--xds-server: expected HOST:PORT (or [IPv6]:PORT), got "${text}"`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usage(`--xds-server: port out of range 1..65535 in "${text}"`);
  if (text.startsWith('[') && !isIPv6(m[1])) throw usage(`--xds-server: not an IPv6 address in "${text}"`);
  return { host: m[1], port };
}

/** One token on one line of `file` (a node-token or an admin/read token file); exit 1 naming the flag otherwise. */
export function readTokenFile(file: string, flag: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BootstrapCliError(`${flag}: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)})`, 1);
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token) || token.length > 512) throw new BootstrapCliError(`${flag}: ${file} must hold one token on one line`, 1);
  return token;
}

/** The bootstrap text (YAML for Envoy, JSON for gRPC), online or offline by the flags given. */
export async function produceBootstrap(f: BootstrapFlags, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (!f.nodeId) throw usage('--node-id: required');
  const format = oneOf('--format', f.format, ['envoy', 'grpc'] as const, 'envoy');
  const mode = oneOf('--mode', f.mode, ['delta', 'sotw'] as const, 'delta');
  if (f.certDir !== undefined) {
    if (format !== 'envoy') throw usage('--cert-dir: only for --format envoy (gRPC clients use the plaintext listener and --node-token-file)');
    const problem = certDirProblem(f.certDir);
    if (problem !== null) throw usage(`--cert-dir: ${problem}`);
  }
  if (f.nodeTokenFile !== undefined && format !== 'grpc') throw usage('--node-token-file: only for --format grpc (Envoy authenticates with the certificate in --cert-dir)');
  const nodeToken = f.nodeTokenFile !== undefined ? readTokenFile(f.nodeTokenFile, '--node-token-file') : null;
  const offline = (f.xdsServer?.length ?? 0) > 0 || f.region !== undefined || f.zone !== undefined || f.subZone !== undefined;
  if (!offline) {
    if (f.role !== undefined) throw usage('--role: only with the offline form (--region, --zone, --xds-server); the server knows the node');
    const text = await fetchBootstrap(f, env, { nodeId: f.nodeId, format, mode, nodeToken });
    return nodeToken !== null ? addNodeCredential(text, nodeToken) : text;
  }
  if (f.server !== undefined) throw usage('--server cannot be combined with --region/--zone/--sub-zone/--xds-server (offline form)');
  for (const [flag, v] of [
    ['--cacert', f.cacert],
    ['--token-file', f.tokenFile],
  ] as const) {
    if (v !== undefined) throw usage(`${flag}: only with the online form (--server); the offline form asks no server`);
  }
  const missing = [!f.region && '--region', !f.zone && '--zone', !f.xdsServer?.length && '--xds-server'].filter(Boolean);
  if (missing.length) throw usage(`offline form: missing ${missing.join(', ')} (or give only --node-id [--server URL] to ask a running server)`);
  const role = oneOf('--role', f.role, ['sidecar', 'gateway'] as const, 'sidecar');
  const xdsServers = (f.xdsServer ?? []).map(parseXdsServer);
  const locality = { region: f.region as string, zone: f.zone as string, subZone: f.subZone ?? '' };
  try {
    if (format === 'grpc') {
      if (f.role !== undefined) throw usage('--role: only for --format envoy');
      if (f.mode !== undefined && mode !== 'delta') throw usage('--mode: gRPC clients choose their own xDS transport; only for --format envoy');
      const metadata = nodeToken !== null ? { [NODE_CREDENTIAL_METADATA_KEY]: nodeToken } : undefined;
      return `${JSON.stringify(renderGrpcBootstrap({ nodeId: f.nodeId, locality, xdsServers, metadata }), null, 2)}\n`;
    }
    // Offline, --cert-dir turns on mTLS (a secure-mode server); without it the xds_cluster is plaintext (an --insecure server).
    return renderEnvoyBootstrap({ nodeId: f.nodeId, locality, xdsServers, mode, role, tls: f.certDir !== undefined ? { certDir: f.certDir } : null });
  } catch (err) {
    if (err instanceof BootstrapCliError) throw err;
    throw usage((err as Error).message);
  }
}

function addNodeCredential(text: string, token: string): string {
  try {
    return withNodeCredential(text, token);
  } catch (err) {
    throw new BootstrapCliError(`the server's answer is not a gRPC bootstrap (${(err as Error).message})`, 1);
  }
}

interface Wanted {
  nodeId: string;
  format: string;
  mode: string;
  nodeToken: string | null;
}

async function fetchBootstrap(f: BootstrapFlags, env: NodeJS.ProcessEnv, w: Wanted): Promise<string> {
  const timeoutMs = Number(f.timeout ?? '5000');
  if (!(timeoutMs > 0)) throw usage('--timeout: must be a number of ms > 0');
  const cacert = f.cacert ?? (env.EDGE_XDS_CACERT || undefined);
  const server = f.server ?? (env.EDGE_XDS_SERVER || (cacert !== undefined ? 'https://127.0.0.1:8080' : 'http://127.0.0.1:8080'));
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw usage(`--server: not a URL: ${server}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw usage(`--server: must be http(s)://, got ${server}`);
  // The credential: --token-file, else EDGE_XDS_TOKEN, else the node's own token (then the server fills it into a gRPC bootstrap).
  const token = f.tokenFile !== undefined ? readTokenFile(f.tokenFile, '--token-file') : env.EDGE_XDS_TOKEN ? env.EDGE_XDS_TOKEN.trim() : (w.nodeToken ?? undefined);
  const secure = base.protocol === 'https:';
  if (!secure && (f.tokenFile !== undefined || f.cacert !== undefined)) {
    throw usage(`${f.tokenFile !== undefined ? '--token-file' : '--cacert'}: only with an https:// --server (a secure-mode server; a token must not cross the network in clear)`);
  }
  if (secure && cacert === undefined) {
    throw usage('--cacert: required with an https:// --server: the deployment CA (data/pki/ca.pem on the server, DIR/ca.pem on an enrolled node)');
  }
  const query = new URLSearchParams({ format: w.format, mode: w.mode });
  if (f.certDir !== undefined) query.set('certDir', normalizeCertDir(f.certDir, '--cert-dir'));
  const reqPath = `/v1/bootstrap/${encodeURIComponent(w.nodeId)}?${query.toString()}`;
  const answer = secure ? await getHttps(base, cacert!, token, reqPath, timeoutMs) : await getHttp(base, reqPath, timeoutMs);
  if (answer.status === 200) return answer.text.endsWith('\n') ? answer.text : `${answer.text}\n`;
  let err: { message?: string; field?: string } | undefined;
  try {
    err = (JSON.parse(answer.text) as { error?: { message?: string; field?: string } }).error;
  } catch {
    /* not JSON */
  }
  const msg = err?.message ?? answer.text.slice(0, 200);
  if (answer.status === 404 && err?.field === 'nodeId')
    throw new BootstrapCliError(`unknown node "${w.nodeId}" at ${base.origin}: ${msg} (register it first, or use the offline form)`, 1);
  if (answer.status === 401) throw new BootstrapCliError(`server answered HTTP 401: ${msg} (give a credential: --token-file, or --node-token-file for the node itself)`, 1);
  throw new BootstrapCliError(`server answered HTTP ${answer.status}${err?.field ? ` (${err.field})` : ''}: ${msg}`, 1);
}

async function getHttps(base: URL, cacert: string, token: string | undefined, reqPath: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  try {
    const caPem = readCaFile(cacert, '--cacert');
    return await httpsRequest({ server: base, caPem, caLabel: `--cacert ${cacert}`, token, timeoutMs }, 'GET', reqPath);
  } catch (err) {
    if (err instanceof CliError) throw new BootstrapCliError(err.message, err.exitCode);
    throw err;
  }
}

async function getHttp(base: URL, reqPath: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}${reqPath}`, base);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new BootstrapCliError(`cannot reach the edge-xds server at ${url.origin} (${why}); is it running? (--server)`, 1);
  }
}

/**
 * A secure Envoy bootstrap reads the node's certificate through two SDS files
 * in its certificate folder: written here when that folder (with cert.pem) is
 * on this machine; otherwise what to do is returned as a note.
 */
export function ensureEnvoySdsFiles(bootstrapText: string): { written: string[]; note: string | null } {
  const dir = certDirOfEnvoyBootstrap(bootstrapText);
  if (dir === null) return { written: [], note: null };
  const files = `${path.posix.join(dir, SDS_FILES.cert)} and ${path.posix.join(dir, SDS_FILES.ca)}`;
  if (!fs.existsSync(path.join(dir, CERT_DIR_FILES.cert))) {
    return {
      written: [],
      note: `Envoy reads its certificate through ${files}: run this command on the node after \`edge-xds enroll --out ${dir}\` (it writes them there), or copy them from a node`,
    };
  }
  try {
    return { written: writeEnvoySdsFiles(dir), note: null };
  } catch (err) {
    throw new BootstrapCliError(`cannot write ${files} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); Envoy needs them next to cert.pem`, 1);
  }
}

/** The node credential in a gRPC bootstrap's metadata, or null. */
function nodeCredentialOf(jsonText: string): string | null {
  try {
    const v = (JSON.parse(jsonText) as { node?: { metadata?: Record<string, unknown> } }).node?.metadata?.[NODE_CREDENTIAL_METADATA_KEY];
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Adds the `bootstrap` subcommand to the program. */
export function registerBootstrap(program: Command): void {
  program
    .command('bootstrap')
    .description('print or write the Envoy (YAML) or gRPC (JSON) bootstrap of a node: from a running server, or offline with --region/--zone/--xds-server')
    .option('--node-id <id>', 'node id (required)')
    .option(
      '--server <url>',
      'online: REST base URL of a running edge-xds server (default: https://127.0.0.1:8080 with --cacert, else http://127.0.0.1:8080) [env EDGE_XDS_SERVER]',
    )
    .option('--format <format>', 'envoy (YAML) | grpc (JSON for GRPC_XDS_BOOTSTRAP) (default: envoy)')
    .option('--mode <mode>', 'Envoy ADS transport: delta | sotw (default: delta)')
    .option('--out <file>', 'write to this file (parent folders created) instead of stdout')
    .option('--region <region>', "offline: the node's region")
    .option('--zone <zone>', "offline: the node's zone")
    .option('--sub-zone <subZone>', "offline: the node's sub-zone (default: empty)")
    .option('--xds-server <host:port>', 'offline: xDS server, repeatable, in failover order (relays nearest first, the global tier last)', collect)
    .option('--role <role>', 'offline, Envoy: sidecar | gateway (default: sidecar)')
    .option('--timeout <ms>', 'online: request timeout in ms (default: 5000)')
    .option('--cacert <file>', 'online, secure mode: CA bundle to verify the https:// server with (data/pki/ca.pem, or DIR/ca.pem of an enrolled node) [env EDGE_XDS_CACERT]')
    .option(
      '--token-file <file>',
      "online, secure mode: the credential to ask with: an admin or read token file, or the node's DIR/node-token [env EDGE_XDS_TOKEN: the token itself]",
    )
    .option(
      '--node-token-file <file>',
      "gRPC, secure mode: the node's own token (DIR/node-token from `edge-xds enroll`), put into node.metadata for the plaintext xDS listener; online it is also the credential when --token-file is not given",
    )
    .option(
      '--cert-dir <dir>',
      `Envoy, secure mode: absolute folder of the node's cert.pem, key.pem, ca.pem on the proxy's host (\`edge-xds enroll --out\`; default ${DEFAULT_CERT_DIR}); the SDS files Envoy reads them through are written there when it exists here; offline: turns on mTLS`,
    )
    // Usage errors (unknown flag, missing value) exit 2 like the checks below; --help still exits 0.
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(2, err.code, err.message);
    })
    .action(async (f: BootstrapFlags) => {
      try {
        const text = await produceBootstrap(f);
        const grpc = f.format === 'grpc';
        const sds = grpc ? { written: [], note: null } : ensureEnvoySdsFiles(text);
        const credential = grpc ? nodeCredentialOf(text) : null;
        if (f.out) {
          fs.mkdirSync(path.dirname(path.resolve(f.out)), { recursive: true });
          fs.writeFileSync(f.out, text);
          // A gRPC bootstrap with the node's token is a secret.
          if (credential !== null && credential !== NODE_TOKEN_PLACEHOLDER) fs.chmodSync(f.out, 0o600);
          process.stderr.write(`edge-xds bootstrap: wrote ${f.out}\n`);
        } else {
          process.stdout.write(text);
        }
        for (const w of sds.written) process.stderr.write(`edge-xds bootstrap: wrote ${w}\n`);
        if (sds.note) process.stderr.write(`edge-xds bootstrap: note: ${sds.note}\n`);
        if (credential === NODE_TOKEN_PLACEHOLDER) {
          process.stderr.write(
            "edge-xds bootstrap: note: node.metadata holds a placeholder, not the node's token (the server keeps only token hashes): give --node-token-file DIR/node-token, or ask with the node's own token\n",
          );
        }
      } catch (err) {
        if (!(err instanceof BootstrapCliError)) throw err;
        process.stderr.write(`edge-xds bootstrap: ${err.message}\n`);
        process.exitCode = err.exitCode;
      }
    });
}
