/**
 * `edge-xds enroll`: the node's (or relay's) side of enrollment.
 *
 *   edge-xds enroll --server https://HOST:PORT --token exj.… --node-id edge-1 \
 *       --ca-fingerprint sha256:… --out /var/lib/edge-xds/tls     first enrollment
 *   edge-xds enroll --server … --out DIR --renew                   renew once (from a timer)
 *   edge-xds enroll --server … [--token …] --out DIR --watch       enroll if needed, then keep renewing
 *
 * The key is made here and never sent: only a CSR goes to POST /v1/enroll.
 * Trust in the server comes from `--cacert FILE`, or from `--ca-fingerprint`
 * (the CA bundle is fetched from GET /v1/ca unverified and used only when the
 * SHA-256 of its first certificate is the pinned one, like kubeadm's
 * discovery-token-ca-cert-hash), or for a renewal from DIR/ca.pem. A renewal
 * presents DIR/cert.pem + key.pem as TLS client certificate (or, when the
 * certificate is missing or expired, DIR/node-token as bearer).
 */
import { Command } from 'commander';
import fs from 'node:fs';
import { DNS_LABEL } from '../domain';
import { makeKeyAndCsr } from '../security';
import { CliError, callJson, fetchPinnedCa, parseFingerprint, parseServerUrl, readCaFile, type Endpoint } from './https-client';
import { cliAction, usageExit } from './cli-action';
import { DEFAULT_SERVER, timeoutOf } from './token';
import path from 'node:path';
import { writeEnvoySdsFiles } from '../bootstrap';
import { checkIssued, readCa, readCurrent, readNodeToken, renewalTime, writeIssued, type Kind } from './tls-dir';

type Flags = Record<string, string | boolean | undefined>;
const str = (f: Flags, k: string): string | undefined => (typeof f[k] === 'string' ? (f[k] as string) : undefined);

interface Trust {
  caPem: string;
  caLabel: string;
}

interface Context {
  server: URL;
  dir: string;
  /** From --relay / --node-id; for a renewal the certificate in DIR says who. */
  kind: Kind;
  id: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal;
}

interface Outcome {
  action: 'enrolled' | 'renewed';
  kind: Kind;
  id: string;
  serial: string;
  notAfter: Date;
  written: string[];
}

interface EnrollAnswer {
  certPem: string;
  chainPem: string;
  caPem: string;
  serial: string;
  notAfter: string;
  nodeToken?: string;
}

/** Backoff after a failed renewal: 1 s, 2 s, 4 s, … up to 60 s, ±20 %. */
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
/** Never schedule a renewal sooner than this (a certificate of a few seconds must not spin). */
const MIN_RENEW_DELAY_MS = 500;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** First enrollment: a new key, its CSR and the join token; writes DIR. */
async function enrollWithToken(ctx: Context, trust: Trust, token: string): Promise<Outcome> {
  const id = ctx.id as string;
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind: ctx.kind, id });
  const ep: Endpoint = { server: ctx.server, caPem: trust.caPem, caLabel: trust.caLabel, timeoutMs: ctx.timeoutMs, signal: ctx.signal };
  const a = await callJson<EnrollAnswer>(ep, 'POST', '/v1/enroll', { kind: ctx.kind, id, csr: csrPem, token }, [201]);
  const c = checkIssued(a.chainPem, keyPem, a.caPem, { kind: ctx.kind, id });
  const written = [...writeIssued(ctx.dir, { keyPem, chainPem: a.chainPem, caPem: a.caPem, nodeToken: a.nodeToken }), ...envoySdsFiles(ctx.dir)];
  return { action: 'enrolled', kind: ctx.kind, id, serial: c.serial, notAfter: c.notAfter, written };
}

/** A renewal: a new key, authenticated as the current identity; replaces key.pem and cert.pem. */
async function renew(ctx: Context, trust: Trust | null): Promise<Outcome> {
  const cur = readCurrent(ctx.dir);
  const known = cur.identity;
  if (known && ctx.id !== undefined && (known.id !== ctx.id || known.kind !== ctx.kind)) {
    throw new CliError(`${ctx.dir} holds the certificate of ${known.kind} ${known.id}, not ${ctx.kind} ${ctx.id}`, 2);
  }
  const kind = known?.kind ?? ctx.kind;
  const id = known?.id ?? ctx.id;
  const caPem = trust?.caPem ?? readCa(ctx.dir);
  if (caPem === null) throw new CliError(`cannot renew: ${ctx.dir} holds no ca.pem; give --cacert FILE or --ca-fingerprint sha256:HEX`, 2);
  const ep: Endpoint = { server: ctx.server, caPem, caLabel: trust?.caLabel ?? `${ctx.dir}/ca.pem`, timeoutMs: ctx.timeoutMs, signal: ctx.signal };
  if (cur.ok) {
    ep.cert = cur.certPem;
    ep.key = cur.keyPem;
  } else {
    const nodeToken = kind === 'node' ? readNodeToken(ctx.dir) : null;
    if (nodeToken === null) {
      throw new CliError(`cannot renew: ${cur.why}${kind === 'node' ? ' and there is no node-token' : ''}; enroll again with a new join token (--token)`, 1, null, true);
    }
    if (id === undefined) throw new CliError('renewing with the node token needs --node-id', 2);
    ep.token = nodeToken;
  }
  if (id === undefined) throw new CliError('--node-id is required', 2);
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind, id });
  let a: EnrollAnswer;
  try {
    a = await callJson<EnrollAnswer>(ep, 'POST', '/v1/enroll', { kind, id, csr: csrPem }, [201]);
  } catch (err) {
    if (err instanceof CliError && (err.httpStatus === 401 || err.httpStatus === 403)) {
      throw new CliError(`renewal refused: ${err.message}; enroll again with a new join token`, 1, err.httpStatus);
    }
    throw err;
  }
  const c = checkIssued(a.chainPem, keyPem, a.caPem, { kind, id });
  const written = writeIssued(ctx.dir, { keyPem, chainPem: a.chainPem, caPem: a.caPem });
  return { action: 'renewed', kind, id, serial: c.serial, notAfter: c.notAfter, written };
}

function describe(o: Outcome, dir: string): string {
  return `${o.action} ${o.kind} ${o.id}: certificate serial ${o.serial}, valid until ${o.notAfter.toISOString()}; wrote ${o.written.map((f) => `${dir}/${f}`).join(', ')}`;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A refusal that retrying cannot fix (a 4xx other than 408/429, or a usage error). */
function isFinal(err: CliError): boolean {
  if (err.final || err.exitCode === 2) return true;
  const s = err.httpStatus;
  return s !== null && s >= 400 && s < 500 && s !== 408 && s !== 429;
}

/**
 * --watch: enroll with the token unless DIR already holds a usable
 * certificate, then renew at 2/3 of each certificate's lifetime, one line per
 * renewal; failures are retried with backoff, final refusals end the command
 * (exit 1); SIGTERM and SIGINT end it with exit 0.
 */
async function watch(
  ctx: Context,
  trustFor: (signal: AbortSignal) => Promise<Trust | null>,
  token: string | undefined,
  out: NodeJS.WritableStream,
  errOut: NodeJS.WritableStream,
): Promise<void> {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) return;
    errOut.write(`edge-xds enroll: ${signal}, stopping\n`);
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const run: Context = { ...ctx, signal: stop.signal };
  let failures = 0;
  let tokenSpent = token === undefined;
  try {
    const start = readCurrent(ctx.dir);
    if (start.ok) {
      if (ctx.id !== undefined && (start.identity.id !== ctx.id || start.identity.kind !== ctx.kind)) {
        throw new CliError(`${ctx.dir} holds the certificate of ${start.identity.kind} ${start.identity.id}, not ${ctx.kind} ${ctx.id}`, 2);
      }
      tokenSpent = true; // already enrolled: renew, keep the join token unspent
      const next = renewalTime(start.issuedAt, start.notAfter);
      out.write(
        `${start.identity.kind} ${start.identity.id}: certificate serial ${start.serial} valid until ${start.notAfter.toISOString()}; next renewal at ${new Date(next).toISOString()}\n`,
      );
    } else if (tokenSpent && (start.identity === null || readNodeToken(ctx.dir) === null)) {
      throw new CliError(`${start.why}: give --token (a join token) to enroll`, 2);
    }
    while (!stop.signal.aborted) {
      const cur = readCurrent(ctx.dir);
      const due = cur.ok ? Math.max(Date.now() + (failures ? 0 : MIN_RENEW_DELAY_MS), renewalTime(cur.issuedAt, cur.notAfter)) : Date.now();
      while (!stop.signal.aborted && Date.now() < due) await sleep(due - Date.now(), stop.signal);
      if (stop.signal.aborted) break;
      try {
        // The trust of a first enrollment is resolved here, so that a server not reachable yet is retried like a renewal.
        const o = !tokenSpent && !cur.ok ? await enrollWithToken(run, await trustOrThrow(trustFor, stop.signal), token as string) : await renew(run, null);
        tokenSpent = true;
        failures = 0;
        const now = readCurrent(ctx.dir);
        const next = now.ok ? new Date(renewalTime(now.issuedAt, now.notAfter)) : null;
        out.write(`${describe(o, ctx.dir)}${next ? `; next renewal at ${next.toISOString()} (in ${Math.round((next.getTime() - Date.now()) / 1000)} s)` : ''}\n`);
      } catch (err) {
        if (stop.signal.aborted) break;
        if (!(err instanceof CliError) || isFinal(err)) throw err;
        failures++;
        const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (failures - 1));
        const delay = Math.round(base * (0.8 + Math.random() * 0.4));
        errOut.write(
          `edge-xds enroll: ${cur.ok || tokenSpent ? 'renewal' : 'enrollment'} failed (attempt ${failures}): ${err.message}; retrying in ${(delay / 1000).toFixed(1)} s\n`,
        );
        await sleep(delay, stop.signal);
      }
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

async function trustOrThrow(trustFor: (signal: AbortSignal) => Promise<Trust | null>, signal: AbortSignal): Promise<Trust> {
  const t = await trustFor(signal);
  if (t === null) throw new CliError('give --cacert FILE or --ca-fingerprint sha256:HEX (printed by `edge-xds token create`) to trust the server', 2);
  return t;
}

/** --cacert or --ca-fingerprint (pinned), or null when neither was given. */
async function resolveTrust(f: Flags, server: URL, timeoutMs: number, signal?: AbortSignal): Promise<Trust | null> {
  const cacert = str(f, 'cacert');
  const pinText = str(f, 'caFingerprint');
  if (cacert !== undefined && pinText !== undefined) throw new CliError('give one of --cacert FILE, --ca-fingerprint sha256:HEX, not both', 2);
  if (cacert !== undefined) return { caPem: readCaFile(cacert, '--cacert'), caLabel: `--cacert ${cacert}` };
  if (pinText === undefined) return null;
  const pin = parseFingerprint(pinText);
  return { caPem: await fetchPinnedCa(server, pin, timeoutMs, signal), caLabel: `the CA pinned by --ca-fingerprint ${pin}` };
}

function joinToken(f: Flags, env: NodeJS.ProcessEnv): string | undefined {
  const t = str(f, 'token');
  if (t !== undefined) return t.trim();
  const file = str(f, 'tokenFile');
  if (file !== undefined) {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new CliError(`--token-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 1);
    }
  }
  return env.EDGE_XDS_JOIN_TOKEN ? env.EDGE_XDS_JOIN_TOKEN.trim() : undefined;
}

export async function runEnroll(
  f: Flags,
  out: NodeJS.WritableStream = process.stdout,
  errOut: NodeJS.WritableStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const server = parseServerUrl(str(f, 'server') ?? (env.EDGE_XDS_SERVER || DEFAULT_SERVER));
  const dir = str(f, 'out') as string;
  const timeoutMs = timeoutOf(f);
  const token = joinToken(f, env);
  const id = str(f, 'nodeId');
  const kind: Kind = f.relay === true ? 'relay' : 'node';
  if (f.renew === true && f.watch === true) throw new CliError('--watch already renews; give one of --renew, --watch', 2);
  if (f.renew === true && token !== undefined) throw new CliError('--renew authenticates with the current certificate (or node-token) in --out, not a join token', 2);
  if (f.renew !== true && f.watch !== true && token === undefined)
    throw new CliError('give --token (a join token from `edge-xds token create`), or --renew to renew the certificate in --out', 2);
  if (id !== undefined && !DNS_LABEL.test(id)) throw new CliError(`--node-id: "${id}" is not an id (1-63 lowercase letters, digits or "-")`, 2);
  if (token !== undefined && id === undefined) throw new CliError('--node-id is required with a join token', 2);
  const ctx: Context = { server, dir, kind, id, timeoutMs };
  if (f.watch === true) {
    const pin = str(f, 'caFingerprint');
    if (pin !== undefined) parseFingerprint(pin); // usage errors before anything else
    if (pin !== undefined && str(f, 'cacert') !== undefined) throw new CliError('give one of --cacert FILE, --ca-fingerprint sha256:HEX, not both', 2);
    if (token !== undefined && pin === undefined && str(f, 'cacert') === undefined && !readCurrent(dir).ok) {
      throw new CliError('give --cacert FILE or --ca-fingerprint sha256:HEX (printed by `edge-xds token create`) to trust the server', 2);
    }
    return watch(ctx, (signal) => resolveTrust(f, server, timeoutMs, signal), token, out, errOut);
  }
  const trust = await resolveTrust(f, server, timeoutMs);
  if (f.renew === true) {
    out.write(`${describe(await renew(ctx, trust), dir)}\n`);
    return;
  }
  if (trust === null) throw new CliError('give --cacert FILE or --ca-fingerprint sha256:HEX (printed by `edge-xds token create`) to trust the server', 2);
  out.write(`${describe(await enrollWithToken(ctx, trust, token as string), dir)}\n`);
}

export function registerEnroll(program: Command): void {
  program
    .command('enroll')
    .description('enroll this node or relay with a join token (key made here, CSR sent), or renew its certificate; writes key.pem, cert.pem, ca.pem, node-token in --out')
    .requiredOption('--out <dir>', 'folder for key.pem (0600), cert.pem, ca.pem and node-token (0600); created 0700')
    .option('--server <url>', `REST base URL of the edge-xds server [env EDGE_XDS_SERVER] (default: ${DEFAULT_SERVER})`)
    .option('--node-id <id>', 'the node (or relay) id to enroll; a renewal takes it from cert.pem')
    .option('--relay', 'enroll a relay (with a relay join token)')
    .option('--token <token>', 'the join token (from `edge-xds token create`) [env EDGE_XDS_JOIN_TOKEN]')
    .option('--token-file <file>', 'file holding the join token')
    .option('--cacert <file>', "CA bundle to trust the server with (for example a copy of the server's data/pki/ca.pem)")
    .option('--ca-fingerprint <sha256:hex>', 'trust the CA the server serves at /v1/ca only if its first certificate has this SHA-256 (printed by `token create`)')
    .option('--renew', 'renew the certificate in --out (authenticates with it, or with node-token); trusts --out/ca.pem')
    .option('--watch', 'enroll unless --out holds a valid certificate, then renew at 2/3 of each lifetime until SIGTERM/SIGINT')
    .option('--timeout <ms>', 'request timeout in ms', '10000')
    .exitOverride(usageExit)
    .action(cliAction('enroll', (f) => runEnroll(f)));
}

/** The two filesystem-SDS files an Envoy bootstrap points at (envoy/README.md), next to the certificate; none when the folder's path cannot be named in a bootstrap. */
function envoySdsFiles(dir: string): string[] {
  try {
    return writeEnvoySdsFiles(path.resolve(dir));
  } catch (err) {
    process.stderr.write(`edge-xds enroll: no Envoy SDS files written in ${dir}: ${(err as Error).message}\n`);
    return [];
  }
}
