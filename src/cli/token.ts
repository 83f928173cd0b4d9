/**
 * `edge-xds token create|list|revoke` and `edge-xds revoke`: the operator's
 * side of secure mode, over the REST API of a running server (HTTPS, the
 * deployment CA, the admin token by default).
 *
 *   edge-xds token create --node edge-1 [--relay [--san NAME]...] [--ttl 1h] [--uses 1]
 *   edge-xds token create --prefix shop- --uses 50 --ttl 2d
 *   edge-xds token create --read [--ttl 30d]
 *   edge-xds token list
 *   edge-xds token revoke ID
 *   edge-xds revoke --node edge-1
 *
 * `token create` prints the token alone on stdout (so `T=$(edge-xds token
 * create ...)` works) and, for a join token, the enroll command to run on the
 * node on stderr, with the CA fingerprint the node pins.
 */
import fs from 'node:fs';
import { Command, Option } from 'commander';
import { DNS_LABEL, parseDuration } from '../domain';
import { CliError, caFingerprint, callJson, httpsRequest, parseServerUrl, readCaFile, type Endpoint } from './https-client';
import { cliAction, usageExit } from './cli-action';

export const DEFAULT_SERVER = 'https://127.0.0.1:8080';
export const DEFAULT_CACERT = './data/pki/ca.pem';
export const DEFAULT_TOKEN_FILE = './data/admin-token';

type Flags = Record<string, string | boolean | undefined>;
const str = (f: Flags, k: string): string | undefined => (typeof f[k] === 'string' ? (f[k] as string) : undefined);

/** --server, --cacert, --token-file, --token, --timeout, --json on a command that calls the REST API as an operator. */
export function addRestOptions(cmd: Command): Command {
  return cmd
    .option('--server <url>', `REST base URL of the edge-xds server [env EDGE_XDS_SERVER] (default: ${DEFAULT_SERVER})`)
    .option('--cacert <file>', `CA bundle that signed the server's certificate [env EDGE_XDS_CACERT] (default: ${DEFAULT_CACERT})`)
    .option('--token-file <file>', `file holding the API token to authenticate with (default: ${DEFAULT_TOKEN_FILE}, the admin token)`)
    .option('--token <token>', 'the API token itself (visible to other local users in the process list; prefer --token-file) [env EDGE_XDS_TOKEN]')
    .option('--timeout <ms>', 'request timeout in ms', '10000')
    .option('--json', 'print the JSON answer', false)
    .exitOverride(usageExit);
}

export function timeoutOf(f: Flags): number {
  const t = Number(str(f, 'timeout'));
  if (!(t > 0)) throw new CliError(`--timeout: a number of ms > 0, got ${str(f, 'timeout')}`, 2);
  return t;
}

function readToken(file: string, label: string, hint: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${label}: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)})${hint}`, 1);
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token)) throw new CliError(`${label}: ${file} must hold one token on one line`, 1);
  return token;
}

/** Server, trust and credential from the flags, then the environment, then the defaults. */
export function restEndpoint(f: Flags, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const server = parseServerUrl(str(f, 'server') ?? (env.EDGE_XDS_SERVER || DEFAULT_SERVER));
  const caFile = str(f, 'cacert') ?? (env.EDGE_XDS_CACERT || DEFAULT_CACERT);
  const caPem = readCaFile(caFile, '--cacert');
  let token: string;
  if (str(f, 'token') !== undefined) token = str(f, 'token')!.trim();
  else if (str(f, 'tokenFile') !== undefined) token = readToken(str(f, 'tokenFile')!, '--token-file', '');
  else if (env.EDGE_XDS_TOKEN) token = env.EDGE_XDS_TOKEN.trim();
  else
    token = readToken(
      DEFAULT_TOKEN_FILE,
      'credential',
      ` (the server writes the admin token next to its database at the first start); give --token-file FILE, --token T or EDGE_XDS_TOKEN`,
    );
  return { server, caPem, caLabel: `--cacert ${caFile}`, token, timeoutMs: timeoutOf(f) };
}

// ---- token create --------------------------------------------------------

interface CreatedToken {
  id: string;
  token: string;
  kind?: 'node' | 'relay';
  role?: 'admin' | 'read';
  nodeId?: string;
  prefix?: string;
  usesLeft?: number;
  expiresAt: number | null;
}

/** The POST /v1/tokens body for the flags; usage errors (exit 2) name the flag. */
export function tokenRequest(f: Flags): Record<string, unknown> {
  const node = str(f, 'node');
  const prefix = str(f, 'prefix');
  const picked = [node !== undefined && '--node', prefix !== undefined && '--prefix', f.admin === true && '--admin', f.read === true && '--read'].filter(Boolean);
  if (picked.length !== 1) throw new CliError(`give exactly one of --node ID, --prefix P, --admin, --read${picked.length ? ` (got ${picked.join(', ')})` : ''}`, 2);
  const body: Record<string, unknown> = {};
  const ttl = str(f, 'ttl');
  if (ttl !== undefined) {
    try {
      parseDuration(ttl);
    } catch (err) {
      throw new CliError(`--ttl: ${(err as Error).message}`, 2);
    }
    if (/^\d+(\.\d+)?$/.test(ttl.trim())) throw new CliError(`--ttl: give a unit, e.g. ${ttl.trim()}s or 1h (got "${ttl}")`, 2);
    body.ttl = ttl.trim();
  }
  const description = str(f, 'description');
  if (description !== undefined) body.description = description;
  if (f.admin === true || f.read === true) {
    for (const k of ['relay', 'uses', 'san'] as const)
      if (f[k] !== undefined && f[k] !== false) throw new CliError(`--${k} is for join tokens (--node, --prefix), not --${f.admin ? 'admin' : 'read'}`, 2);
    return { kind: f.admin === true ? 'admin' : 'read', ...body };
  }
  if (node !== undefined && !DNS_LABEL.test(node)) throw new CliError(`--node: "${node}" is not a node id (1-63 lowercase letters, digits or "-")`, 2);
  if (prefix !== undefined && !/^[a-z0-9][a-z0-9-]{0,61}$/.test(prefix)) throw new CliError(`--prefix: "${prefix}" is not the start of a node id`, 2);
  const uses = str(f, 'uses');
  if (uses !== undefined) {
    if (!/^\d+$/.test(uses) || Number(uses) < 1) throw new CliError(`--uses: a whole number >= 1, got "${uses}"`, 2);
    body.uses = Number(uses);
  }
  const sans = str(f, 'san');
  if (sans !== undefined) {
    if (f.relay !== true) throw new CliError('--san is for relay tokens (--relay): the names a relay serves nodes at', 2);
    body.sans = sans.split(',');
  }
  return { kind: f.relay === true ? 'relay' : 'node', ...(node !== undefined ? { node } : { prefix }), ...body };
}

/** The command a node runs to enroll with this join token. */
export function enrollCommand(server: string, t: CreatedToken, fingerprint: string): string {
  // For a prefix token the operator picks the id: "ID" in capitals is no valid id, so the command fails until it is replaced.
  const id = t.nodeId ?? `${t.prefix ?? ''}ID`;
  const out = t.nodeId ? `./edge-xds-${t.nodeId}` : './edge-xds-tls';
  return [
    'edge-xds enroll',
    `--server ${server}`,
    `--token ${t.token}`,
    `--node-id ${id}`,
    ...(t.kind === 'relay' ? ['--relay'] : []),
    `--ca-fingerprint ${fingerprint}`,
    `--out ${out}`,
  ].join(' ');
}

const when = (ms: number | null | undefined): string => (ms === null || ms === undefined ? 'never' : new Date(ms).toISOString());

async function runCreate(f: Flags, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<void> {
  const body = tokenRequest(f);
  const ep = restEndpoint(f);
  const enrollServer = str(f, 'enrollServer') !== undefined ? parseServerUrl(str(f, 'enrollServer')!, '--enroll-server') : ep.server;
  const t = await callJson<CreatedToken>(ep, 'POST', '/v1/tokens', body, [201]);
  if (t.kind === undefined || t.role !== undefined) {
    out.write(f.json ? `${JSON.stringify(t, null, 2)}\n` : `${t.token}\n`);
    if (!f.json) err.write(`${body.kind} token ${t.id}, expires ${when(t.expiresAt)}; shown once, keep it secret\n`);
    return;
  }
  // The fingerprint the node pins: of the bundle this server serves at /v1/ca (read over the verified connection).
  const ca = await httpsRequest(ep, 'GET', '/v1/ca');
  const fingerprint = caFingerprint(ca.status === 200 ? ca.text : (ep.caPem as string));
  const command = enrollCommand(enrollServer.href.replace(/\/+$/, ''), t, fingerprint);
  if (f.json) {
    out.write(`${JSON.stringify({ ...t, caFingerprint: fingerprint, enrollCommand: command }, null, 2)}\n`);
    return;
  }
  out.write(`${t.token}\n`);
  const bound = t.nodeId !== undefined ? `${t.kind} ${t.nodeId}` : `${t.kind} ids starting with "${t.prefix}"`;
  err.write(
    `join token ${t.id} for ${bound}: ${t.usesLeft} use${t.usesLeft === 1 ? '' : 's'}, expires ${when(t.expiresAt)}; shown once.\n` +
      `On the ${t.kind}, run${t.prefix !== undefined ? ` (with ID replaced so that the id starts with "${t.prefix}")` : ''}:\n\n  ${command}\n\n`,
  );
}

// ---- token list ----------------------------------------------------------

interface ListedJoin {
  id: string;
  kind: string;
  nodeId?: string;
  prefix?: string;
  usesLeft: number;
  expiresAt: number;
  revokedAt: number | null;
  description: string;
}
interface ListedApi {
  id: string;
  role: string;
  nodeId?: string;
  expiresAt: number | null;
  revokedAt: number | null;
  description: string;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function formatTokenList(l: { join: ListedJoin[]; api: ListedApi[] }, now = Date.now()): string {
  const state = (revokedAt: number | null, expiresAt: number | null, usesLeft?: number): string =>
    revokedAt !== null ? 'revoked' : expiresAt !== null && expiresAt <= now ? 'expired' : usesLeft === 0 ? 'used' : 'live';
  const join = [['ID', 'KIND', 'ENROLLS', 'USES LEFT', 'EXPIRES', 'STATE', 'DESCRIPTION']];
  for (const t of l.join) join.push([t.id, t.kind, t.nodeId ?? `${t.prefix}*`, String(t.usesLeft), when(t.expiresAt), state(t.revokedAt, t.expiresAt, t.usesLeft), t.description]);
  const api = [['ID', 'ROLE', 'NODE', 'EXPIRES', 'STATE', 'DESCRIPTION']];
  for (const t of l.api) api.push([t.id, t.role, t.nodeId ?? '-', when(t.expiresAt), state(t.revokedAt, t.expiresAt), t.description]);
  return `join tokens (${l.join.length}):\n${table(join)}\nAPI tokens (${l.api.length}):\n${table(api)}`;
}

// ---- registration --------------------------------------------------------

export function registerToken(program: Command): void {
  const token = program
    .command('token')
    .description('create, list and revoke join tokens (enrollment) and API tokens (admin, read) on a secure-mode server')
    .exitOverride(usageExit);

  addRestOptions(
    token
      .command('create')
      .description('create a join token bound to a node id (or id prefix), or an admin or read API token; prints the token on stdout')
      .option('--node <id>', 'join token for this node id')
      .option('--prefix <p>', 'join token for any id starting with P')
      .option('--relay', 'with --node/--prefix: enrolls a relay, not a node')
      .option('--admin', 'an admin API token')
      .option('--read', 'a read-only API token')
      .option('--ttl <duration>', 'lifetime, e.g. 10m, 1h, 30d (join tokens: default 1h; API tokens: no expiry)')
      .option('--uses <n>', 'join tokens: how many enrollments it allows (default 1)')
      .option('--san <name>', 'with --relay: a DNS name or IP the relay certificate carries (repeatable)', (v: string, prev: string | undefined) => (prev ? `${prev},${v}` : v))
      .option('--description <text>', 'a note shown by `token list`')
      .addOption(new Option('--enroll-server <url>', 'server URL to print in the enroll command (default: --server)')),
  ).action(cliAction('token create', (f) => runCreate(f, process.stdout, process.stderr)));

  addRestOptions(token.command('list').description('list join and API tokens (never their secrets)')).action(
    cliAction('token list', async (f) => {
      const l = await callJson<{ join: ListedJoin[]; api: ListedApi[] }>(restEndpoint(f), 'GET', '/v1/tokens');
      process.stdout.write(f.json ? `${JSON.stringify(l, null, 2)}\n` : formatTokenList(l));
    }),
  );

  addRestOptions(token.command('revoke').description('revoke a join or API token by its id (the part after "exj." or "exa.")').argument('<id>', 'token id')).action(
    cliAction('token revoke', async (f, id) => {
      const tokenId = /^ex[aj]\.([^.]+)\./.exec(id ?? '')?.[1] ?? (id as string);
      await callJson(restEndpoint(f), 'DELETE', `/v1/tokens/${encodeURIComponent(tokenId)}`, undefined, [204]);
      process.stdout.write(f.json ? `${JSON.stringify({ id: tokenId, revoked: true })}\n` : `revoked token ${tokenId}\n`);
    }),
  );

  addRestOptions(
    program
      .command('revoke')
      .description('revoke a node or relay: its certificates and tokens stop working at once and its xDS streams are closed; it must enroll again with a new join token')
      .option('--node <id>', 'the node to revoke')
      .option('--relay <id>', 'the relay to revoke'),
  ).action(
    cliAction('revoke', async (f) => {
      const node = str(f, 'node');
      const relay = str(f, 'relay');
      if ((node === undefined) === (relay === undefined)) throw new CliError('give exactly one of --node ID, --relay ID', 2);
      const kind = node !== undefined ? 'node' : 'relay';
      const id = (node ?? relay)!;
      if (!DNS_LABEL.test(id)) throw new CliError(`--${kind}: "${id}" is not an id (1-63 lowercase letters, digits or "-")`, 2);
      const r = await callJson<{ revokedAt: string; joinTokens: number; apiTokens: number; closedStreams: number }>(restEndpoint(f), 'POST', `/v1/${kind}s/${id}/revoke`);
      process.stdout.write(
        f.json
          ? `${JSON.stringify(r, null, 2)}\n`
          : `revoked ${kind} ${id} at ${r.revokedAt}: ${r.joinTokens} join token(s) and ${r.apiTokens} API token(s) revoked, ${r.closedStreams} xDS stream(s) closed\n`,
      );
    }),
  );
}
