/**
 * Hot path for `POST /v1/nodes/{id}/heartbeat`, served before express: the
 * same checks in the same order as the express route (token, 64 KiB limit,
 * JSON syntax, unknown node, zod schema) with the same status codes
 * and error bodies, without the router, body-parser and per-request
 * middleware allocations. Anything unusual (encoded ids, query strings,
 * compressed bodies, content types other than plain JSON, which includes
 * every 415) falls through to express unchanged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from '../observability';
import type { Registry } from '../registry';
import type { HeartbeatInput } from '../domain';
import { ApiError, fromZodIssue } from './errors';
import { heartbeatSchema } from '../domain';
import { MAX_BODY_BYTES } from './limits';
import { describeCaller, type Denial, type Authenticator } from '../security';
import { authenticateRequest } from './auth';

const PATH = /^\/v1\/nodes\/([a-z0-9-]{1,63})\/heartbeat$/;
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export interface FastPathOptions {
  registry: Registry;
  apiToken: string | null;
  logger: Logger;
  /** Secure mode: the caller must be an admin or this node (apiToken is then unused). */
  guard?: Authenticator | null;
}

/** Wraps the express app: heartbeats are served directly, everything else by `app`. */
export function withHeartbeatFastPath(app: RequestListener, opts: FastPathOptions): RequestListener {
  const expected = opts.apiToken ? createHash('sha256').update(opts.apiToken).digest() : null;
  const debug = opts.logger.isLevelEnabled('debug');
  return (req, res) => {
    const m = req.method === 'POST' ? PATH.exec(req.url ?? '') : null;
    if (m === null) return app(req, res);
    const enc = req.headers['content-encoding'];
    if (enc !== undefined && enc !== 'identity') return app(req, res);
    const len = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
    const type = req.headers['content-type'];
    // Bodies that are not plainly JSON get express's full treatment (415 or parameters).
    if (hasBody && (type === undefined || !JSON_TYPE.test(type))) return app(req, res);
    const started = debug ? performance.now() : 0;
    if (debug) {
      res.once('finish', () => opts.logger.debug({ method: 'POST', url: req.url, status: res.statusCode, ms: +(performance.now() - started).toFixed(3) }, 'request'));
    }
    if (opts.guard && !authorized(req, res, m[1], opts.guard)) return;
    handle(req, res, m[1], opts.registry, opts.guard ? null : expected);
  };
}

/** Secure mode: admin or the node itself; else answered here (401/403, counted by the guard). */
function authorized(req: IncomingMessage, res: ServerResponse, id: string, guard: Authenticator): boolean {
  const outcome = authenticateRequest(guard, req);
  let d: Denial | null = null;
  if (outcome === null)
    d = { status: 401, reason: 'missing-credential', message: 'this endpoint needs a credential: Authorization: Bearer <token>, or a client certificate from this deployment' };
  else if (!outcome.ok) d = outcome.denial;
  else {
    const c = outcome.caller;
    if (c.kind === 'admin' || (c.kind === 'node' && c.id === id)) return true;
    d = {
      status: 403,
      reason: c.kind === 'node' ? 'wrong-identity' : 'forbidden',
      message: `${describeCaller(c)} may not heartbeat for node "${id}": a node credential acts only for its own node`,
    };
  }
  guard.denied('rest', d, { peer: req.socket.remoteAddress, what: `POST /v1/nodes/${id}/heartbeat`, claimed: id, caller: outcome?.ok ? outcome.caller : undefined });
  if (d.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="edge-xds"');
  drainThenError(req, res, new ApiError(d.status, d.status === 401 ? 'unauthorized' : 'forbidden', d.message, d.status === 401 ? 'authorization' : 'id'));
  return false;
}

function handle(req: IncomingMessage, res: ServerResponse, id: string, registry: Registry, expectedToken: Buffer | null): void {
  if (expectedToken !== null) {
    const h = req.headers.authorization;
    const given = h !== undefined && h.startsWith('Bearer ') ? h.slice(7).trim() : null;
    if (given === null || !timingSafeEqual(createHash('sha256').update(given).digest(), expectedToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="edge-xds"');
      return drainThenError(req, res, new ApiError(401, 'unauthorized', given === null ? 'missing bearer token' : 'invalid bearer token'));
    }
  }
  const len = req.headers['content-length'];
  if (len !== undefined && Number(len) > MAX_BODY_BYTES) {
    return drainThenError(req, res, new ApiError(413, 'payload_too_large', 'request body exceeds 64 KiB'));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(c);
  });
  req.on('error', () => res.destroy());
  req.on('end', () => {
    if (tooLarge) return sendError(res, new ApiError(413, 'payload_too_large', 'request body exceeds 64 KiB'));
    let input: unknown = {};
    if (size > 0) {
      const text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      const first = text.trimStart()[0];
      try {
        if (first !== '{' && first !== '[') throw new Error('not an object');
        input = JSON.parse(text);
      } catch {
        return sendError(res, new ApiError(400, 'malformed_json', 'request body is not valid JSON'));
      }
    }
    if (registry.getNode(id) === undefined) return sendError(res, new ApiError(404, 'not_found', `node "${id}" is not registered`, 'id'));
    let data = plainHeartbeat(input);
    if (data === null) {
      // Anything the quick check does not accept gets zod's verdict (and its error body).
      const parsed = heartbeatSchema.safeParse(input);
      if (!parsed.success) return sendError(res, fromZodIssue(parsed.error.issues[0], input));
      data = parsed.data;
    }
    registry.heartbeat(id, data).then(
      (ok) => {
        if (!ok) return sendError(res, new ApiError(404, 'not_found', `node "${id}" is not registered`, 'id'));
        res.statusCode = 204;
        res.end();
      },
      () => sendError(res, new ApiError(503, 'shutting_down', 'server is shutting down')),
    );
  });
}

const UNIT_MAX = 1;
const MS_MAX = 3_600_000;

/**
 * The common case of heartbeatSchema without zod: a plain object with only
 * `load` {cpu, memory, network in [0,1]} and `network` {latencyMs, jitterMs in
 * [0, 3,600,000], packetLoss in [0,1]}, all optional, numbers finite. Returns
 * the input itself (fresh from JSON.parse, equal to what zod would return), or
 * null when anything differs, for zod to judge.
 */
function plainHeartbeat(v: unknown): HeartbeatInput | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  // Own keys only (for-in would also walk inherited enumerable keys).
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (k === 'load') {
      if (!plainReport(x, 'cpu', UNIT_MAX, 'memory', UNIT_MAX, 'network', UNIT_MAX)) return null;
    } else if (k === 'network') {
      if (!plainReport(x, 'latencyMs', MS_MAX, 'jitterMs', MS_MAX, 'packetLoss', UNIT_MAX)) return null;
    } else return null;
  }
  return v as HeartbeatInput;
}

function plainReport(v: unknown, a: string, aMax: number, b: string, bMax: number, c: string, cMax: number): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    const max = k === a ? aMax : k === b ? bMax : k === c ? cMax : -1;
    if (max < 0 || typeof x !== 'number' || !(x >= 0 && x <= max)) return false;
  }
  return true;
}

function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) return;
  const body = JSON.stringify(err.body());
  res.writeHead(err.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Answers without reading the body, then discards what the client still sends. */
function drainThenError(req: IncomingMessage, res: ServerResponse, err: ApiError): void {
  sendError(res, err);
  req.resume();
}
