/**
 * /v1 routes of secure mode: join and API tokens (admin), enrollment (a join
 * token, or the current credential to renew), revocation (admin), and the
 * CA bundle (open: a node pins its fingerprint before it trusts it).
 */
import type { TLSSocket } from 'node:tls';
import { Router } from 'express';
import { z } from 'zod';
import { dnsLabel, parseDuration } from '../domain';
import { EnrollError, TokenError, describeCaller, type Guard } from '../security';
import { ApiError, parseOrThrow } from './errors';
import { route } from './middleware';
import { callerOf } from './auth';

const duration = z
  .string()
  .max(32)
  .transform((t, ctx) => {
    try {
      return parseDuration(t);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

const tokenRequest = z.strictObject({
  kind: z.enum(['node', 'relay', 'admin', 'read']),
  node: dnsLabel.optional(),
  prefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,61}$/, 'must be the start of a DNS label')
    .optional(),
  ttl: duration.optional(),
  uses: z.number().int().min(1).max(1_000_000).optional(),
  /** Relay tokens: DNS names and IPs the relay's certificate carries (it serves nodes at them). */
  sans: z.array(z.string().min(1).max(253)).max(32).optional(),
  description: z.string().max(200).optional(),
});

const enrollRequest = z.strictObject({
  kind: z.enum(['node', 'relay']).default('node'),
  id: dnsLabel,
  csr: z
    .string()
    .min(1)
    .max(16 * 1024),
  token: z.string().min(1).max(256).optional(),
});

/** DNS names and IPs of the verified client certificate of a TLS socket (a relay renewing keeps its names). */
function peerNames(socket: unknown): string[] {
  const s = socket as Partial<TLSSocket>;
  if (typeof s.getPeerCertificate !== 'function' || !s.authorized) return [];
  const san = s.getPeerCertificate().subjectaltname ?? '';
  return san
    .split(/,\s*/)
    .map((e) => /^(DNS|IP Address):(.+)$/.exec(e))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[2]!.trim());
}

const revokeQuery = z.strictObject({ kind: z.enum(['node', 'relay']).default('node') });

export interface SecurityRoutesOptions {
  guard: Guard;
  /** Closes the open xDS streams of a revoked identity; returns how many. */
  closeStreams(kind: 'node' | 'relay', id: string): number;
}

export function securityRouter(opts: SecurityRoutesOptions): Router {
  const { guard } = opts;
  const r = Router();
  const adminOnly = (res: Parameters<Parameters<typeof route>[0]>[1], what: string): void => {
    const c = callerOf(res);
    if (c?.kind === 'admin') return;
    const d = { status: 403 as const, reason: 'forbidden' as const, message: `${c ? describeCaller(c) : 'this caller'} may not ${what} (admin only)` };
    guard.denied('rest', d, { what, caller: c ?? undefined, peer: res.req.socket.remoteAddress });
    throw new ApiError(403, 'forbidden', d.message, null);
  };

  // Public: the trust bundle (`ca.pem` on a node). `edge-xds enroll --ca-fingerprint` fetches it
  // unverified and trusts it only when the SHA-256 of its first certificate is the pinned one.
  r.get('/ca', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.type('text/plain').send(guard.ca.bundlePem);
  });

  r.post(
    '/tokens',
    route(async (req, res) => {
      adminOnly(res, 'create tokens');
      const q = parseOrThrow(tokenRequest, req.body ?? {});
      try {
        if (q.kind === 'admin' || q.kind === 'read') {
          if (q.node !== undefined || q.prefix !== undefined || q.uses !== undefined || q.sans !== undefined)
            throw new ApiError(
              400,
              'invalid_field',
              `an ${q.kind} token is not bound to a node`,
              q.node !== undefined ? 'node' : q.prefix !== undefined ? 'prefix' : q.uses !== undefined ? 'uses' : 'sans',
            );
          const t = await guard.createApiToken(q.kind, { ttlMs: q.ttl, description: q.description });
          res.status(201).json(t);
          return;
        }
        if ((q.node === undefined) === (q.prefix === undefined))
          throw new ApiError(400, 'invalid_field', 'a join token is bound to exactly one of: node (an id), prefix (an id prefix)', 'node');
        const t = await guard.createJoinToken({ kind: q.kind, nodeId: q.node, prefix: q.prefix, ttlMs: q.ttl, uses: q.uses, sans: q.sans, description: q.description });
        res.status(201).json(t);
      } catch (err) {
        if (err instanceof TokenError) throw new ApiError(400, 'invalid_field', err.message, null);
        throw err;
      }
    }),
  );

  r.get(
    '/tokens',
    route(async (_req, res) => {
      adminOnly(res, 'list tokens');
      res.json(await guard.listTokens());
    }),
  );

  r.delete(
    '/tokens/:id',
    route(async (req, res) => {
      adminOnly(res, 'revoke tokens');
      const id = req.params.id as string;
      if (!(await guard.revokeToken(id))) throw new ApiError(404, 'not_found', `no live token with id "${id}"`, 'id');
      res.status(204).end();
    }),
  );

  r.post(
    '/enroll',
    route(async (req, res) => {
      const q = parseOrThrow(enrollRequest, req.body ?? {});
      try {
        const out = await guard.enroll({
          kind: q.kind,
          id: q.id,
          csrPem: q.csr,
          joinToken: q.token ?? null,
          renewing: q.token === undefined ? callerOf(res) : null,
          renewingNames: q.token === undefined && q.kind === 'relay' ? peerNames(req.socket) : undefined,
        });
        res.status(201).json(out);
      } catch (err) {
        if (err instanceof EnrollError) {
          if (err.status !== 400)
            guard.denied(
              'enroll',
              { status: err.status, reason: err.status === 403 ? 'wrong-identity' : 'unknown-credential', message: err.message },
              { claimed: q.id, peer: req.socket.remoteAddress, what: 'POST /v1/enroll' },
            );
          throw new ApiError(err.status, err.status === 400 ? 'invalid_field' : err.status === 401 ? 'unauthorized' : 'forbidden', err.message, err.field);
        }
        throw err;
      }
    }),
  );

  const revoke = (kind: 'node' | 'relay') =>
    route(async (req, res) => {
      adminOnly(res, `revoke a ${kind}`);
      const id = parseOrThrow(z.strictObject({ id: dnsLabel }), { id: req.params.id }).id;
      parseOrThrow(revokeQuery, { kind });
      const c = callerOf(res);
      // Streams are counted (and closed) here; the revocation closes any opened in between.
      const closedStreams = opts.closeStreams(kind, id);
      const out = await guard.revoke({ kind, id }, c ? describeCaller(c) : 'admin');
      res.json({ kind, id, revokedAt: new Date(out.revokedAt).toISOString(), joinTokens: out.joinTokens, apiTokens: out.apiTokens, closedStreams });
    });
  r.post('/nodes/:id/revoke', revoke('node'));
  r.post('/relays/:id/revoke', revoke('relay'));
  return r;
}
