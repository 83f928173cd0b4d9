/**
 * The HTTPS side of test/helpers/http.ts for secure-mode servers: the same
 * request options and response shape, verified against the deployment CA,
 * optionally with a client certificate; and enrollment over REST the way a
 * node does it (join token from the admin, key and CSR made here).
 */
import fs from 'node:fs';
import https from 'node:https';
import { makeKeyAndCsr } from '../../src/security';
import type { HttpResponse, RequestOptions } from './http';
import type { TestServer } from './in-process';

export interface HttpsRequestOptions extends RequestOptions {
  /** The CA bundle (PEM) the server's certificate is verified against. */
  ca: string;
  /** A client certificate (chain) and key to present. */
  cert?: string;
  key?: string;
}

/** `base` is like `https://127.0.0.1:1234`; one connection per request. */
export function httpsRequest<T = unknown>(base: string, path: string, opts: HttpsRequestOptions): Promise<HttpResponse<T>> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...opts.headers };
  let payload: Buffer | undefined;
  if (opts.rawBody !== undefined) payload = Buffer.from(opts.rawBody);
  else if (opts.body !== undefined) {
    payload = Buffer.from(JSON.stringify(opts.body));
    headers['content-type'] ??= 'application/json';
  }
  const method = opts.method ?? (payload ? 'POST' : 'GET');
  if (payload) headers['content-length'] = String(payload.length);
  else if (method !== 'GET' && method !== 'HEAD') headers['content-length'] ??= '0';
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, agent: false, timeout: timeoutMs, ca: opts.ca, cert: opts.cert, key: opts.key }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        if ((res.headers['content-type'] ?? '').includes('json') && text.length > 0) {
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: json as T });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`request ${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A secure in-process server as a client sees it: its https:// base URL, CA, admin token and a bound request function. */
export interface SecureServer {
  base: string;
  ca: string;
  adminToken: string;
  trustDomain: string;
  request<T = unknown>(path: string, opts?: Omit<HttpsRequestOptions, 'ca'>): Promise<HttpResponse<T>>;
}

export function secureServer(srv: TestServer): SecureServer {
  const g = srv.guard;
  if (!g) throw new Error('the server runs --insecure: start it with { insecure: false }');
  const base = `https://127.0.0.1:${srv.httpPort}`;
  const ca = g.ca.bundlePem;
  return {
    base,
    ca,
    adminToken: fs.readFileSync(g.admin.file, 'utf8').trim(),
    trustDomain: g.trustDomain,
    request: (path, opts = {}) => httpsRequest(base, path, { ...opts, ca }),
  };
}

/** What `edge-xds enroll --out DIR` keeps: key.pem, cert.pem (chain), ca.pem and node-token. */
export interface EnrolledNode {
  id: string;
  keyPem: string;
  certPem: string;
  caPem: string;
  nodeToken: string;
}

/** Enrolls node `id` over REST: the admin creates a join token, the node sends a CSR for a key made here. */
export async function enrollNode(s: SecureServer, id: string): Promise<EnrolledNode> {
  const join = await s.request<{ token: string }>('/v1/tokens', { token: s.adminToken, body: { kind: 'node', node: id } });
  if (join.status !== 201) throw new Error(`POST /v1/tokens for ${id}: ${join.status} ${join.text}`);
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind: 'node', id }, { trustDomain: s.trustDomain });
  const r = await s.request<{ chainPem: string; caPem: string; nodeToken?: string }>('/v1/enroll', { body: { kind: 'node', id, csr: csrPem, token: join.json.token } });
  if (r.status !== 200 && r.status !== 201) throw new Error(`POST /v1/enroll for ${id}: ${r.status} ${r.text}`);
  if (!r.json.nodeToken) throw new Error(`POST /v1/enroll for ${id}: no nodeToken in the answer`);
  return { id, keyPem, certPem: r.json.chainPem, caPem: r.json.caPem, nodeToken: r.json.nodeToken };
}

/** A read token (POST /v1/tokens {kind:'read'}). */
export async function readToken(s: SecureServer): Promise<string> {
  const r = await s.request<{ token: string }>('/v1/tokens', { token: s.adminToken, body: { kind: 'read' } });
  if (r.status !== 201) throw new Error(`POST /v1/tokens (read): ${r.status} ${r.text}`);
  return r.json.token;
}

/** edge_xds_auth_denials_total{channel,reason} from /metrics (open on loopback); 0 when not counted yet. */
export async function authDenials(s: SecureServer, channel: string, reason: string): Promise<number> {
  const r = await s.request('/metrics');
  if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${r.text.slice(0, 200)}`);
  const line = r.text.split('\n').find((l) => l.startsWith('edge_xds_auth_denials_total{') && l.includes(`channel="${channel}"`) && l.includes(`reason="${reason}"`));
  return line ? Number(line.slice(line.lastIndexOf('}') + 1).trim()) : 0;
}
