/**
 * /v1 routes about the tiers: the relays of a region (nearest first), the
 * bootstrap a proxy should start with, and (on a relay) its link to the global tier.
 */
import { Router } from 'express';
import { z } from 'zod';
import { ApiError, parseOrThrow } from './errors';
import { route } from './middleware';
import { decimalValue } from '../domain';
import type { Authenticator } from '../security';
import { callerOf, mayActFor } from './auth';

export interface RelaysQuery {
  region?: string;
  near?: { lat: number; lon: number };
}

export type BootstrapResult = { ok: true; contentType: string; body: string } | { ok: false; error: 'unknown_node' | 'no_servers'; message: string };

/** Secure mode: what the bootstrap of a node carries for its xDS channel. */
export interface BootstrapCredential {
  /** The node's own API token, when it fetched its bootstrap with it (gRPC bootstraps put it in node metadata). */
  nodeToken: string | null;
}

export interface TierAdmin {
  relays(q: RelaysQuery): unknown[];
  /** The xDS addresses come from configuration only, never from the request (its Host header is the client's to choose). */
  /**
   * Secure mode: Envoy gets mTLS with the node's files in `certDir` (default /etc/edge-xds); gRPC gets the
   * plaintext listener and the caller's own node token, or NODE_TOKEN_PLACEHOLDER for admin, read and
   * certificate callers; 409 when the plaintext listener is off.
   */
  bootstrap(nodeId: string, format: 'envoy' | 'grpc', mode: 'delta' | 'sotw', credential?: BootstrapCredential, options?: { certDir?: string }): BootstrapResult;
  /** Role and, on a relay, the state of its link to the global tier. */
  status(): Promise<unknown>;
}

const nearSchema = z
  .string()
  .regex(/^\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*$/, 'must be LAT,LON')
  .transform((t) => {
    const [lat, lon] = t.split(',').map((x) => decimalValue(x.trim())) as [number, number];
    return { lat, lon };
  })
  .pipe(z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }));

const relaysQuery = z.strictObject({ region: z.string().min(1).max(63).optional(), near: nearSchema.optional() });
const bootstrapQuery = z.strictObject({
  format: z.enum(['envoy', 'grpc']).default('envoy'),
  mode: z.enum(['delta', 'sotw']).default('delta'),
  certDir: z.string().max(1024).optional(),
});

export function tierRouter(tier: TierAdmin, guard: Authenticator | null = null): Router {
  const r = Router();
  r.get(
    '/relays',
    route((req, res) => {
      const q = parseOrThrow(relaysQuery, req.query);
      res.json({ relays: tier.relays(q) });
    }),
  );
  r.get(
    '/bootstrap/:nodeId',
    route((req, res) => {
      const q = parseOrThrow(bootstrapQuery, req.query);
      const nodeId = req.params.nodeId as string;
      let credential: BootstrapCredential | undefined;
      if (guard) {
        const c = callerOf(res);
        if (c?.kind === 'node') mayActFor(res, guard, nodeId, 'fetch the bootstrap of');
        const h = req.headers.authorization;
        credential = { nodeToken: c?.kind === 'node' && c.via === 'token' && h ? h.slice(7).trim() : null };
      }
      const out = tier.bootstrap(nodeId, q.format, q.mode, credential, { certDir: q.certDir });
      if (!out.ok) throw new ApiError(out.error === 'unknown_node' ? 404 : 409, out.error, out.message, out.error === 'unknown_node' ? 'nodeId' : null);
      res.type(out.contentType).send(out.body);
    }),
  );
  r.get(
    '/tier',
    route(async (_req, res) => {
      res.json(await tier.status());
    }),
  );
  return r;
}
