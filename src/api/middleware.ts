/** Cross-cutting express middleware: auth, content type, logging, errors. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Logger } from '../observability';
import { BatcherClosedError } from '../store';
import { RegistryClosedError } from '../registry';
import { ApiError, sendError } from './errors';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** With a token: every mutating request must carry `Authorization: Bearer <token>`. */
export function requireToken(token: string | null): RequestHandler {
  if (!token) return (_req, _res, next) => next();
  const expected = digest(token);
  return (req, res, next) => {
    if (!MUTATING.has(req.method)) return next();
    const h = req.headers.authorization;
    const given = h !== undefined && h.startsWith('Bearer ') ? h.slice(7).trim() : null;
    if (given !== null && timingSafeEqual(digest(given), expected)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="edge-xds"');
    sendError(res, new ApiError(401, 'unauthorized', given === null ? 'missing bearer token' : 'invalid bearer token'));
  };
}

/** A request that carries a body must be JSON (415 otherwise); `Content-Length: 0` is no body. */
export const requireJson: RequestHandler = (req, res, next) => {
  if (!MUTATING.has(req.method) || req.headers['content-length'] === '0') return next();
  const t = req.is(['application/json', 'application/*+json']);
  if (t === null || t !== false) return next(); // null: no body
  sendError(res, new ApiError(415, 'unsupported_media_type', 'request body must be application/json'));
};

/** One debug line per request; not installed at all when debug is off. */
export function requestLog(logger: Logger): RequestHandler | null {
  if (!logger.isLevelEnabled('debug')) return null;
  return (req, res, next) => {
    const start = performance.now();
    res.on('finish', () => {
      logger.debug({ method: req.method, url: req.originalUrl, status: res.statusCode, ms: +(performance.now() - start).toFixed(3) }, 'request');
    });
    next();
  };
}

/** Async route wrapper: rejected promises go to the error handler. */
export function route(fn: (req: Request, res: Response) => Promise<void> | void): RequestHandler {
  return (req, res, next: NextFunction) => {
    try {
      const r = fn(req, res);
      if (r instanceof Promise) r.catch(next);
    } catch (err) {
      next(err);
    }
  };
}

/** `/v1/nodes/:id`-style paths of the routes with path parameters, for naming a badly encoded one. */
export function paramRoutes(mounts: ReadonlyArray<readonly [string, Router]>): string[] {
  const out: string[] = [];
  for (const [prefix, router] of mounts) {
    for (const layer of router.stack) {
      const p = layer.route?.path;
      if (typeof p === 'string' && p.includes(':')) out.push(`${prefix.replace(/\/+$/, '')}${p}`);
    }
  }
  return out;
}

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/**
 * The name of the path parameter whose percent-encoding is bad, found by
 * matching the raw (undecoded) request path against the route paths the way
 * the router does (literal segments raw and case-insensitive, one optional
 * trailing slash); null when no route matches.
 */
export function badPathParam(url: string, routes: readonly string[]): string | null {
  // Absolute-form request targets (`GET http://host/path`) carry the path after the authority.
  const path = url
    .replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '')
    .split(/[?#]/, 1)[0]
    .replace(/\/$/, '');
  const segs = path.split('/');
  for (const r of routes) {
    const parts = r.split('/');
    if (parts.length !== segs.length) continue;
    let bad: string | null = null;
    let matches = true;
    for (let i = 0; i < parts.length && matches; i++) {
      if (parts[i].startsWith(':')) {
        if (segs[i] === '') matches = false;
        else if (bad === null && !decodes(segs[i])) bad = parts[i].slice(1);
      } else if (parts[i].toLowerCase() !== segs[i].toLowerCase()) matches = false;
    }
    if (matches && bad !== null) return bad;
  }
  return null;
}

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/** `routes`: paths with parameters (paramRoutes), to name the parameter of a URIError. */
export function errorHandler(logger: Logger, routes: readonly string[] = []): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof ApiError) return sendError(res, err);
    // The router decodes path parameters with decodeURIComponent: bad encoding is the client's error.
    if (err instanceof URIError) {
      const param = badPathParam(req.originalUrl, routes);
      logger.debug({ method: req.method, url: req.originalUrl.slice(0, 512), param }, 'bad percent-encoding in the request path');
      const where = param ?? 'path';
      return sendError(res, new ApiError(400, 'invalid_format', `${where}: bad percent-encoding in the path`, param));
    }
    if (err instanceof BatcherClosedError || err instanceof RegistryClosedError) {
      return sendError(res, new ApiError(503, 'shutting_down', 'server is shutting down'));
    }
    const bp = err as BodyParserError;
    switch (bp?.type) {
      case 'entity.too.large':
        return sendError(res, new ApiError(413, 'payload_too_large', 'request body exceeds 64 KiB'));
      case 'entity.parse.failed':
        return sendError(res, new ApiError(400, 'malformed_json', 'request body is not valid JSON'));
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return sendError(res, new ApiError(415, 'unsupported_media_type', 'unsupported body encoding or charset'));
      case 'request.aborted':
      case 'request.size.invalid':
        return sendError(res, new ApiError(400, 'bad_request', 'request body incomplete'));
    }
    if (bp && typeof bp.status === 'number' && bp.status >= 400 && bp.status < 500 && bp.expose) {
      return sendError(res, new ApiError(bp.status, 'bad_request', String((err as Error).message)));
    }
    logger.error({ err }, 'request failed');
    sendError(res, new ApiError(500, 'internal', 'internal error'));
  };
}
