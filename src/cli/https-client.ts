/**
 * The HTTPS client of the secure-mode commands (`token`, `revoke`, `enroll`):
 * one request per connection over node:https, trusting only the CA bundle it
 * is given (never the system roots), with a bearer token or a client
 * certificate, and every failure turned into a CliError whose message says
 * what to do (wrong CA, wrong host name, server not running, the server's
 * own JSON error message).
 */
import fs from 'node:fs';
import https from 'node:https';
import { X509Certificate, createHash } from 'node:crypto';

/** A failure to print (`edge-xds <cmd>: message`) and the exit code: 1 server, network or files, 2 usage. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    /** The HTTP status when the server answered with an error. */
    readonly httpStatus: number | null = null,
    /** Retrying cannot help (a CA that is not the pinned one): --watch gives up at once. */
    readonly final = false,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface Endpoint {
  /** Base URL, https only. */
  server: URL;
  /** Trust bundle (PEM); null only for the unverified fetch of a pinned CA. */
  caPem: string | null;
  /** Where caPem came from, for messages ("--cacert data/pki/ca.pem"). */
  caLabel: string;
  /** Client certificate chain and key (PEM), presented in the TLS handshake. */
  cert?: string;
  key?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface RestResponse {
  status: number;
  contentType: string;
  text: string;
}

/** Answers larger than this are cut off (the API's answers are a few KiB). */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** `--server` text -> URL; usage error (exit 2) unless it is an https:// URL. */
export function parseServerUrl(text: string, flag = '--server'): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new CliError(`${flag}: not a URL: ${text}`, 2);
  }
  if (u.protocol === 'http:')
    throw new CliError(`${flag}: ${text} is plain HTTP; a secure-mode edge-xds server speaks https:// (an --insecure server has no tokens or enrollment)`, 2);
  if (u.protocol !== 'https:') throw new CliError(`${flag}: must be https://HOST:PORT, got ${text}`, 2);
  return u;
}

/** Reads a CA bundle file; a missing or certificate-less file is an error naming it. */
export function readCaFile(file: string, label: string): string {
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${label}: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)})`, 1);
  }
  if (firstCertificatePem(pem) === null) throw new CliError(`${label}: ${file} holds no PEM certificate`, 1);
  return pem;
}

export function firstCertificatePem(pem: string): string | null {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(pem);
  return m ? `${m[0]}\n` : null;
}

/** `sha256:<hex>` of the DER of the bundle's first certificate (what `--ca-fingerprint` pins). */
export function caFingerprint(bundlePem: string): string {
  const first = firstCertificatePem(bundlePem);
  if (first === null) throw new CliError('the CA bundle holds no PEM certificate', 1);
  let der: Buffer;
  try {
    der = new X509Certificate(first).raw;
  } catch (err) {
    throw new CliError(`the CA bundle's first certificate does not parse: ${(err as Error).message}`, 1);
  }
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/** `--ca-fingerprint` text -> `sha256:<64 lowercase hex>` (colons and upper case accepted); usage error otherwise. */
export function parseFingerprint(text: string): string {
  const m = /^sha256:([0-9a-fA-F:]+)$/.exec(text.trim());
  const hex = m ? m[1]!.replace(/:/g, '').toLowerCase() : '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new CliError(`--ca-fingerprint: expected sha256:<64 hex digits> (as printed by \`edge-xds token create\`), got "${text}"`, 2);
  return `sha256:${hex}`;
}

const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** A network or TLS failure, said so the operator knows what to change. */
function describeFailure(ep: Endpoint, err: Error & { code?: string }): CliError {
  const origin = ep.server.origin;
  const code = err.code ?? '';
  if (err.name === 'AbortError' || code === 'ABORT_ERR') return new CliError(`request to ${origin} aborted`, 1);
  if (code === 'ETIMEDOUT_CLI') return new CliError(`no answer from ${origin} within ${ep.timeoutMs} ms (--timeout)`, 1);
  if (code === 'ECONNREFUSED') return new CliError(`cannot reach the edge-xds server at ${origin} (connection refused); is it running, on this port? (--server)`, 1);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CliError(`cannot resolve ${ep.server.hostname} (${code}) (--server)`, 1);
  if (UNTRUSTED.has(code)) {
    return new CliError(`the server at ${origin} presented a certificate that ${ep.caLabel} does not vouch for (${code}): wrong CA file, or not the edge-xds server you meant`, 1);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new CliError(
      `the server's certificate does not name "${ep.server.hostname}" (${err.message}): connect by a name it carries, or restart the server with --tls-san ${ep.server.hostname}`,
      1,
    );
  }
  if (code === 'CERT_HAS_EXPIRED') return new CliError(`the server's certificate at ${origin} has expired (or this machine's clock is wrong)`, 1);
  if (code === 'EPROTO' || code.startsWith('ERR_SSL_')) {
    return new CliError(`TLS handshake with ${origin} failed (${err.message.trim()}); an --insecure server speaks plain HTTP and has no tokens or enrollment`, 1);
  }
  return new CliError(`request to ${origin} failed: ${code ? `${code} ` : ''}${err.message}`, 1);
}

/** One HTTPS request; resolves with any HTTP status, rejects with a CliError on network and TLS failures. */
export function httpsRequest(ep: Endpoint, method: string, path: string, body?: unknown): Promise<RestResponse> {
  const url = new URL(`${ep.server.pathname.replace(/\/+$/, '')}${path}`, ep.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { accept: 'application/json, text/plain' };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  } else if (method !== 'GET' && method !== 'HEAD') headers['content-length'] = '0';
  if (ep.token !== undefined) headers.authorization = `Bearer ${ep.token}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error & { code?: string }): void => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(err instanceof CliError ? err : describeFailure(ep, err));
    };
    const req = https.request(
      url,
      {
        method,
        headers,
        agent: false,
        ...(ep.caPem === null ? { rejectUnauthorized: false } : { ca: ep.caPem, rejectUnauthorized: true }),
        ...(ep.cert !== undefined && ep.key !== undefined ? { cert: ep.cert, key: ep.key } : {}),
        minVersion: 'TLSv1.2',
        signal: ep.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) return req.destroy(new CliError(`the answer of ${url.origin} is larger than ${MAX_RESPONSE_BYTES} bytes`, 1));
          chunks.push(c);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      },
    );
    // Errors are emitted asynchronously, after this line: fail() can clear the timer.
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT_CLI' })), ep.timeoutMs);
    req.on('error', fail);
    req.end(payload);
  });
}

/** The server's JSON error, as one line: `HTTP 403 forbidden: <message> (field id)`. */
export function serverError(r: RestResponse): CliError {
  let msg = r.text.trim().slice(0, 300);
  let code = '';
  let field: string | null = null;
  try {
    const e = (JSON.parse(r.text) as { error?: { code?: string; message?: string; field?: string | null } }).error;
    if (e?.message) msg = e.message;
    code = e?.code ?? '';
    field = e?.field ?? null;
  } catch {
    // not JSON: the text itself
  }
  return new CliError(
    `the server answered HTTP ${r.status}${code ? ` ${code}` : ''}: ${msg || '(empty answer)'}${field && field !== 'authorization' ? ` (field ${field})` : ''}`,
    1,
    r.status,
  );
}

/** A JSON request that must answer one of `ok` (default 200/201); anything else is the server's error. */
export async function callJson<T>(ep: Endpoint, method: string, path: string, body?: unknown, ok: number[] = [200, 201]): Promise<T> {
  const r = await httpsRequest(ep, method, path, body);
  if (!ok.includes(r.status)) throw serverError(r);
  if (r.status === 204 || r.text === '') return undefined as T;
  try {
    return JSON.parse(r.text) as T;
  } catch {
    throw new CliError(`unexpected answer from ${ep.server.origin}${path} (HTTP ${r.status}, not JSON): ${r.text.slice(0, 200)}`, 1);
  }
}

/**
 * The server's CA bundle, fetched WITHOUT verifying the server (there is no
 * trust yet), and accepted only when its fingerprint is `pin`. From then on
 * the bundle is the trust anchor: a server that answered with another CA
 * cannot pass the verified requests that follow.
 */
export async function fetchPinnedCa(server: URL, pin: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const ep: Endpoint = { server, caPem: null, caLabel: 'the pinned CA', timeoutMs, signal };
  const r = await httpsRequest(ep, 'GET', '/v1/ca');
  if (r.status !== 200) throw new CliError(`fetching the CA from ${server.origin}/v1/ca failed: ${serverError(r).message}`, 1);
  const got = caFingerprint(r.text);
  if (got !== pin) {
    throw new CliError(
      `refusing to trust ${server.origin}: its CA has fingerprint ${got}, not the pinned ${pin} (--ca-fingerprint). Wrong server, wrong fingerprint, or someone in between.`,
      1,
      null,
      true,
    );
  }
  return r.text;
}
