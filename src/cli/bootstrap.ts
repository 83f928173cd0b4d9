/**
 * `edge-xds bootstrap`: the bootstrap a proxy (Envoy) or a proxyless gRPC
 * client starts with.
 *  - online:  --node-id ID [--server URL] -> GET /v1/bootstrap/{id} of a running
 *             server (relays of the node's region nearest first, the global tier last);
 *  - offline: --node-id ID --region R --zone Z --xds-server HOST:PORT [...] -> rendered
 *             locally from envoy/<role>.template.yaml (examples/multi-region uses this).
 * Writes to stdout, or --out FILE. Exit codes: 1 server/request, 2 usage.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isIPv6 } from 'node:net';
import { Command, CommanderError } from 'commander';
import { renderEnvoyBootstrap, renderGrpcBootstrap, type XdsServerAddress } from '../bootstrap';

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

/** The bootstrap text (YAML for Envoy, JSON for gRPC), online or offline by the flags given. */
export async function produceBootstrap(f: BootstrapFlags): Promise<string> {
  if (!f.nodeId) throw usage('--node-id: required');
  const format = oneOf('--format', f.format, ['envoy', 'grpc'] as const, 'envoy');
  const mode = oneOf('--mode', f.mode, ['delta', 'sotw'] as const, 'delta');
  const offline = (f.xdsServer?.length ?? 0) > 0 || f.region !== undefined || f.zone !== undefined || f.subZone !== undefined;
  if (!offline) {
    if (f.role !== undefined) throw usage('--role: only with the offline form (--region, --zone, --xds-server); the server knows the node');
    return fetchBootstrap(f.server ?? process.env.EDGE_XDS_SERVER ?? 'http://127.0.0.1:8080', f.nodeId, format, mode, Number(f.timeout ?? '5000'));
  }
  if (f.server !== undefined) throw usage('--server cannot be combined with --region/--zone/--sub-zone/--xds-server (offline form)');
  const missing = [!f.region && '--region', !f.zone && '--zone', !f.xdsServer?.length && '--xds-server'].filter(Boolean);
  if (missing.length) throw usage(`offline form: missing ${missing.join(', ')} (or give only --node-id [--server URL] to ask a running server)`);
  const role = oneOf('--role', f.role, ['sidecar', 'gateway'] as const, 'sidecar');
  const xdsServers = (f.xdsServer ?? []).map(parseXdsServer);
  const locality = { region: f.region as string, zone: f.zone as string, subZone: f.subZone ?? '' };
  try {
    if (format === 'grpc') {
      if (f.role !== undefined) throw usage('--role: only for --format envoy');
      if (f.mode !== undefined && mode !== 'delta') throw usage('--mode: gRPC clients choose their own xDS transport; only for --format envoy');
      return `${JSON.stringify(renderGrpcBootstrap({ nodeId: f.nodeId, locality, xdsServers }), null, 2)}\n`;
    }
    return renderEnvoyBootstrap({ nodeId: f.nodeId, locality, xdsServers, mode, role });
  } catch (err) {
    if (err instanceof BootstrapCliError) throw err;
    throw usage((err as Error).message);
  }
}

async function fetchBootstrap(server: string, nodeId: string, format: string, mode: string, timeoutMs: number): Promise<string> {
  if (!(timeoutMs > 0)) throw usage('--timeout: must be a number of ms > 0');
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw usage(`--server: not a URL: ${server}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw usage(`--server: must be http(s)://, got ${server}`);
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/bootstrap/${encodeURIComponent(nodeId)}`, base);
  url.searchParams.set('format', format);
  url.searchParams.set('mode', mode);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new BootstrapCliError(`cannot reach the edge-xds server at ${url.origin} (${why}); is it running? (--server)`, 1);
  }
  const text = await res.text();
  if (res.status === 200) return text.endsWith('\n') ? text : `${text}\n`;
  let err: { message?: string; field?: string } | undefined;
  try {
    err = (JSON.parse(text) as { error?: { message?: string; field?: string } }).error;
  } catch {
    /* not JSON */
  }
  const msg = err?.message ?? text.slice(0, 200);
  if (res.status === 404 && err?.field === 'nodeId')
    throw new BootstrapCliError(`unknown node "${nodeId}" at ${url.origin}: ${msg} (register it first, or use the offline form)`, 1);
  throw new BootstrapCliError(`server answered HTTP ${res.status}${err?.field ? ` (${err.field})` : ''}: ${msg}`, 1);
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Adds the `bootstrap` subcommand to the program. */
export function registerBootstrap(program: Command): void {
  program
    .command('bootstrap')
    .description('print or write the Envoy (YAML) or gRPC (JSON) bootstrap of a node: from a running server, or offline with --region/--zone/--xds-server')
    .option('--node-id <id>', 'node id (required)')
    .option('--server <url>', 'online: REST base URL of a running edge-xds server (default: http://127.0.0.1:8080) [env EDGE_XDS_SERVER]')
    .option('--format <format>', 'envoy (YAML) | grpc (JSON for GRPC_XDS_BOOTSTRAP) (default: envoy)')
    .option('--mode <mode>', 'Envoy ADS transport: delta | sotw (default: delta)')
    .option('--out <file>', 'write to this file (parent folders created) instead of stdout')
    .option('--region <region>', "offline: the node's region")
    .option('--zone <zone>', "offline: the node's zone")
    .option('--sub-zone <subZone>', "offline: the node's sub-zone (default: empty)")
    .option('--xds-server <host:port>', 'offline: xDS server, repeatable, in failover order (relays nearest first, the global tier last)', collect)
    .option('--role <role>', 'offline, Envoy: sidecar | gateway (default: sidecar)')
    .option('--timeout <ms>', 'online: request timeout in ms (default: 5000)')
    // Usage errors (unknown flag, missing value) exit 2 like the checks below; --help still exits 0.
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(2, err.code, err.message);
    })
    .action(async (f: BootstrapFlags) => {
      try {
        const text = await produceBootstrap(f);
        if (f.out) {
          fs.mkdirSync(path.dirname(path.resolve(f.out)), { recursive: true });
          fs.writeFileSync(f.out, text);
          process.stderr.write(`edge-xds bootstrap: wrote ${f.out}\n`);
        } else {
          process.stdout.write(text);
        }
      } catch (err) {
        if (!(err instanceof BootstrapCliError)) throw err;
        process.stderr.write(`edge-xds bootstrap: ${err.message}\n`);
        process.exitCode = err.exitCode;
      }
    });
}
