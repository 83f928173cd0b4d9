/** Cross-cutting express middleware: auth, content type, logging, errors. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
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

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof ApiError) return sendError(res, err);
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
