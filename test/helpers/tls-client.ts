/**
 * Secure-mode helpers for tests: a small HTTPS client (the server's CA, an
 * optional client certificate, an optional bearer token), the admin token of
 * an in-process server, node and relay identities issued by its CA (or by
 * another CA, or already expired), and the auth denials counted in /metrics.
 */
import fs from 'node:fs';
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { createCaPem, issueFromCsr, loadCa, makeKeyAndCsr, type Ca, type IdentityKind } from '../../src/security';
import type { TestServer } from './in-process';

export interface TlsResponse<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: T;
}

/** A key and certificate chain (PEM) a client presents. */
export interface ClientIdentity {
  keyPem: string;
  certPem: string;
}

export interface TlsRequestOptions {
  method?: string;
  /** JSON-encoded as the body (Content-Type: application/json unless `headers` says otherwise). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Adds `Authorization: Bearer <token>`. */
  token?: string;
  /** The CA bundle that verifies the server (PEM). */
  ca: string;
  /** A client certificate to present. */
  identity?: ClientIdentity;
  timeoutMs?: number;
}

/** One HTTPS request on a fresh connection (no agent: a certificate is never reused from an earlier request). */
export function tlsRequest<T = unknown>(base: string, path: string, opts: TlsRequestOptions): Promise<TlsResponse<T>> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...opts.headers };
  let payload: Buffer | undefined;
  if (opts.body !== undefined) {
    payload = Buffer.from(JSON.stringify(opts.body));
    headers['content-type'] ??= 'application/json';
  }
  const method = opts.method ?? (payload ? 'POST' : 'GET');
  if (payload) headers['content-length'] = String(payload.length);
  else if (method !== 'GET' && method !== 'HEAD') headers['content-length'] ??= '0';
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, agent: false, timeout: timeoutMs, ca: opts.ca, key: opts.identity?.keyPem, cert: opts.identity?.certPem }, (res) => {
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

/** Binds tlsRequest to one server and CA; per-call options add a token, an identity, a body. */
export function tlsClient(base: string, ca: string): <T = unknown>(path: string, opts?: Omit<TlsRequestOptions, 'ca'>) => Promise<TlsResponse<T>> {
  return (path, opts = {}) => tlsRequest(base, path, { ...opts, ca });
}

/** The REST base URL of an in-process secure server (srv.baseUrl says http). */
export function secureBaseUrl(srv: TestServer): string {
  return `https://127.0.0.1:${srv.httpPort}`;
}

/** What a test needs of a secure in-process server: its CA, its admin token, an HTTPS client. */
export interface SecureFixture {
  srv: TestServer;
  base: string;
  caPem: string;
  adminToken: string;
  http: ReturnType<typeof tlsClient>;
  ca: Ca;
  trustDomain: string;
}

export function secureFixture(srv: TestServer): SecureFixture {
  const g = srv.guard;
  if (!g) throw new Error('the server runs --insecure: start it with { insecure: false }');
  const base = secureBaseUrl(srv);
  return {
    srv,
    base,
    caPem: g.ca.bundlePem,
    adminToken: fs.readFileSync(g.admin.file, 'utf8').trim(),
    http: tlsClient(base, g.ca.bundlePem),
    ca: g.ca,
    trustDomain: g.trustDomain,
  };
}

/** A key made here and a certificate for it from `ca` (default lifetime; `now` in the past gives an expired one). */
export async function issueIdentity(ca: Ca, kind: IdentityKind, id: string, opts: { ttlMs?: number; now?: Date } = {}): Promise<ClientIdentity> {
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind, id });
  const issued = await issueFromCsr(ca, csrPem, { kind, id }, opts.ttlMs, { now: opts.now });
  return { keyPem, certPem: issued.chainPem };
}

/** A certificate that expired a day ago, from the server's own CA. */
export function expiredIdentity(ca: Ca, kind: IdentityKind, id: string): Promise<ClientIdentity> {
  return issueIdentity(ca, kind, id, { ttlMs: 3600_000, now: new Date(Date.now() - 2 * 86_400_000) });
}

/** A second CA of the same trust domain (valid, but not the server's). */
export async function otherCa(trustDomain: string): Promise<Ca> {
  const { certPem, keyPem } = await createCaPem(trustDomain);
  return loadCa(certPem, keyPem, { trustDomain });
}

/** Enrolls a node or relay the way `edge-xds enroll` does (join token, CSR): its certificate, and for a node its API token. */
export async function enroll(srv: TestServer, kind: IdentityKind, id: string): Promise<ClientIdentity & { token: string | null }> {
  const g = srv.guard!;
  const join = await g.createJoinToken({ kind, nodeId: id });
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind, id });
  const out = await g.enroll({ kind, id, csrPem, joinToken: join.token });
  return { keyPem, certPem: out.chainPem, token: out.nodeToken ?? null };
}

/** gRPC channel credentials for the xDS TLS port: the server's CA, and a client certificate when given. */
export function grpcTls(caPem: string, identity?: ClientIdentity): grpc.ChannelCredentials {
  return identity ? grpc.credentials.createSsl(Buffer.from(caPem), Buffer.from(identity.keyPem), Buffer.from(identity.certPem)) : grpc.credentials.createSsl(Buffer.from(caPem));
}

/** Channel options for 127.0.0.1 targets: verify the server certificate by its DNS name (an IP as SNI is not allowed). */
export const GRPC_TLS_OPTIONS: grpc.ChannelOptions = { 'grpc.ssl_target_name_override': 'localhost' };

/** edge_xds_auth_denials_total by `channel/reason`, read from /metrics (open on loopback). */
export async function authDenials(fx: SecureFixture): Promise<Map<string, number>> {
  const r = await fx.http('/metrics');
  if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${r.text.slice(0, 200)}`);
  const out = new Map<string, number>();
  for (const line of r.text.split('\n')) {
    if (!line.startsWith('edge_xds_auth_denials_total{')) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    const channel = /channel="([^"]*)"/.exec(labels)?.[1];
    const reason = /reason="([^"]*)"/.exec(labels)?.[1];
    out.set(`${channel}/${reason}`, Number(line.slice(line.lastIndexOf('}') + 1).trim()));
  }
  return out;
}

/** How edge_xds_auth_denials_total moved (channel/reason: n) while `fn` ran; keys that did not move are left out. */
export async function denialDelta(fx: SecureFixture, fn: () => Promise<void>): Promise<Record<string, number>> {
  const before = await authDenials(fx);
  await fn();
  const after = await authDenials(fx);
  const delta: Record<string, number> = {};
  for (const [k, v] of after) if (v !== (before.get(k) ?? 0)) delta[k] = v - (before.get(k) ?? 0);
  return delta;
}

export interface AuthDeniedEvent {
  seq: number;
  nodeId: string;
  type: string;
  detail: { channel?: string; reason?: string; message?: string; caller?: string; what?: string };
}

/** The auth-denied events after `since` (read with the admin token). */
export async function authDeniedEvents(fx: SecureFixture, since = 0): Promise<AuthDeniedEvent[]> {
  const r = await fx.http<{ events: AuthDeniedEvent[] }>(`/v1/events?since=${since}&limit=1000`, { token: fx.adminToken });
  if (r.status !== 200) throw new Error(`GET /v1/events: ${r.status} ${r.text.slice(0, 200)}`);
  return r.json.events.filter((e) => e.type === 'auth-denied');
}

/** The sequence number of the newest event (to read only what a case wrote). */
export async function lastEventSeq(fx: SecureFixture): Promise<number> {
  let since = 0;
  for (;;) {
    const r = await fx.http<{ events: Array<{ seq: number }>; next: number }>(`/v1/events?since=${since}&limit=1000`, { token: fx.adminToken });
    if (r.status !== 200) throw new Error(`GET /v1/events: ${r.status}`);
    if (r.json.events.length === 0) return since;
    since = r.json.next;
  }
}
