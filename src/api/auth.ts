/**
 * REST authentication and authorization in secure mode.
 *
 * A request is authenticated once, by its bearer token (admin, read or node
 * token) or else by its TLS client certificate (node or relay identity), and
 * the caller is kept on `res.locals.caller`. What a caller may do is decided
 * twice: coarsely here (fleet-wide reads need read or admin; every other
 * write needs admin), and where the data is, in the route, for the calls a
 * node makes for itself (register, heartbeat, deregister, its bootstrap):
 * `mayActFor` with the id from the body or the path.
 *
 * 401 when no valid credential was presented, 403 when the caller is known
 * and may not; each is counted, logged and written to the event log by the
 * Guard, never with the secret.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { RequestHandler, Response } from 'express';
import { describeCaller, type AuthOutcome, type Caller, type Denial, type Authenticator, type PeerCertificateInput } from '../security';
import { ApiError, sendError } from './errors';

export type { Caller };

export interface ApiAuth {
  guard: Authenticator;
  /** Who may read /metrics: open on loopback only, open to all, or read/admin credentials. */
  metricsAccess: 'loopback' | 'open' | 'credential';
}

const peerCertificates = new WeakMap<object, PeerCertificateInput | null>();

/** The credential of a request: its bearer token, else its verified client certificate; null when it has neither. */
export function authenticateRequest(guard: Authenticator, req: IncomingMessage): AuthOutcome | null {
  const h = req.headers.authorization;
  if (h !== undefined) {
    if (!h.startsWith('Bearer ')) return { ok: false, denial: { status: 401, reason: 'malformed-credential', message: 'the Authorization header must be "Bearer <token>"' } };
    return guard.authenticateBearer(h.slice(7).trim());
  }
  const socket = req.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function') return null;
  // Read once per connection (about 50 us each: a fifth of a heartbeat's CPU); the server
  // disables renegotiation, so it cannot change. Revocation is still checked on every request.
  let cert = peerCertificates.get(req.socket);
  if (cert === undefined) {
    const c = socket.getPeerCertificate();
    cert = c && c.raw ? { raw: c.raw, serialNumber: c.serialNumber, valid_from: c.valid_from } : null;
    peerCertificates.set(req.socket, cert);
  }
  if (cert === null) return null;
  if (!socket.authorized) {
    const why = String(socket.authorizationError ?? 'not verified');
    return {
      ok: false,
      denial: { status: 401, reason: why === 'CERT_HAS_EXPIRED' ? 'expired' : 'untrusted-certificate', message: `the client certificate was not accepted: ${why}` },
    };
  }
  return guard.authenticateCertificate(cert);
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Paths a node may call for itself; the route checks the id (mayActFor). */
const NODE_SELF = [/^\/v1\/nodes\/?$/, /^\/v1\/nodes\/[^/]+\/heartbeat\/?$/, /^\/v1\/nodes\/[^/]+\/?$/, /^\/register\/?$/, /^\/heartbeat\/?$/];
const NODE_SELF_READ = [/^\/v1\/bootstrap\/[^/]+\/?$/];
/** Paths that name one node: the id a node caller must be. */
const NODE_PATH = /^\/v1\/(?:nodes|bootstrap)\/([^/]+)(?:\/heartbeat)?\/?$/;

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function isLoopback(addr: string | undefined): boolean {
  return addr !== undefined && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));
}

export function sendDenial(res: Response, d: Denial, field: string | null = null): void {
  if (d.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="edge-xds"');
  sendError(res, new ApiError(d.status, d.status === 401 ? 'unauthorized' : 'forbidden', d.message, d.status === 401 ? 'authorization' : field));
}

/**
 * The gate in front of every route except /healthz and /readyz. `/metrics`
 * follows metricsAccess; `POST /v1/enroll` authenticates itself (a join
 * token in the body, or the current credential to renew); `GET /v1/ca` (the
 * public CA bundle a node pins at enrollment) is open, any credential ignored.
 */
export function authGate(auth: ApiAuth): RequestHandler {
  const { guard } = auth;
  return (req, res, next) => {
    const path = req.path;
    if ((req.method === 'GET' || req.method === 'HEAD') && path === '/v1/ca') return next();
    if (path === '/metrics') {
      if (auth.metricsAccess === 'open' || (auth.metricsAccess === 'loopback' && isLoopback(req.socket.remoteAddress))) return next();
    }
    const outcome = authenticateRequest(guard, req);
    if (outcome !== null && !outcome.ok) {
      guard.denied('rest', outcome.denial, { peer: req.socket.remoteAddress, what: `${req.method} ${path}` });
      return sendDenial(res, outcome.denial);
    }
    const caller = outcome?.caller ?? null;
    res.locals.caller = caller;
    if (req.method === 'POST' && path === '/v1/enroll') return next();
    if (caller === null) {
      const d: Denial = {
        status: 401,
        reason: 'missing-credential',
        message: 'this endpoint needs a credential: Authorization: Bearer <token>, or a client certificate from this deployment',
      };
      guard.denied('rest', d, { peer: req.socket.remoteAddress, what: `${req.method} ${path}` });
      return sendDenial(res, d);
    }
    if (caller.kind === 'admin') return next();
    const mutating = MUTATING.has(req.method);
    // A node acting on another node's path is refused here, before its body is read (the same answer as the heartbeat fast path).
    const pathNode = caller.kind === 'node' ? NODE_PATH.exec(path) : null;
    if (pathNode && caller.kind === 'node' && decodeSafe(pathNode[1]!) !== caller.id) {
      const verb = path.startsWith('/v1/bootstrap/')
        ? 'fetch the bootstrap of'
        : /\/heartbeat\/?$/.test(path)
          ? 'heartbeat for'
          : req.method === 'DELETE'
            ? 'deregister'
            : `${req.method}`;
      const d: Denial = {
        status: 403,
        reason: 'wrong-identity',
        message: `${describeCaller(caller)} may not ${verb} node "${decodeSafe(pathNode[1]!)}": a node credential acts only for its own node`,
      };
      guard.denied('rest', d, { peer: req.socket.remoteAddress, what: `${req.method} ${path}`, caller, claimed: pathNode[1] });
      return sendDenial(res, d, 'id');
    }
    const allowed =
      caller.kind === 'read'
        ? !mutating
        : caller.kind === 'node'
          ? (mutating ? NODE_SELF : NODE_SELF_READ).some((re) => re.test(path)) && !(req.method === 'POST' && /\/revoke\/?$/.test(path))
          : false; // relays speak RelaySync, not REST
    if (allowed) return next();
    const d: Denial = {
      status: 403,
      reason: 'forbidden',
      message: `${describeCaller(caller)} may not ${req.method} ${path}${caller.kind === 'read' ? ' (a read token only reads)' : caller.kind === 'node' ? ' (a node credential acts only for its own node)' : ''}`,
    };
    guard.denied('rest', d, { peer: req.socket.remoteAddress, what: `${req.method} ${path}`, caller });
    sendDenial(res, d);
  };
}

/**
 * Authorization where the data is: may the request's caller act for node
 * `id`? Admin always; a node only for itself. Throws a 403 (counted) otherwise.
 * Without security (open mode) there is no caller and everything is allowed.
 */
export function mayActFor(res: Response, guard: Authenticator | null, id: string, what: string): void {
  if (guard === null) return;
  const caller = res.locals.caller as Caller | null | undefined;
  if (caller && (caller.kind === 'admin' || (caller.kind === 'node' && caller.id === id))) return;
  const d: Denial = {
    status: caller ? 403 : 401,
    reason: caller ? 'wrong-identity' : 'missing-credential',
    message: caller ? `${describeCaller(caller)} may not ${what} node "${id}": a node credential acts only for its own node` : 'this endpoint needs a credential',
  };
  guard.denied('rest', d, { peer: res.req.socket.remoteAddress, what, claimed: id, caller: caller ?? undefined });
  throw new ApiError(d.status, d.status === 401 ? 'unauthorized' : 'forbidden', d.message, 'id');
}

/** The caller of a request (null in open mode). */
export function callerOf(res: Response): Caller | null {
  return (res.locals.caller as Caller | null | undefined) ?? null;
}
