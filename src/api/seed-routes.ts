/** Seed-compatible endpoints: POST /register and POST /heartbeat (see seed.ts). */
import { Router } from 'express';
import type { Registry } from '../registry';
import { ApiError, parseOrThrow } from './errors';
import { route } from './middleware';
import { mayActFor } from './auth';
import type { Authenticator } from '../security';
import { parseSeedRegister, seedHeartbeatSchema, seedToHeartbeat, seedToRegistration } from './seed';

export function seedRouter(registry: Registry, guard: Authenticator | null = null): Router {
  const r = Router();

  r.post(
    '/register',
    route(async (req, res) => {
      const p = parseSeedRegister(req.body ?? {});
      mayActFor(res, guard, p.node_id, 'register');
      const existing = registry.getNode(p.node_id);
      const { created, node } = await registry.register(seedToRegistration(p, existing));
      res.status(200).json({ status: 'registered', created, node_id: node.id, region: node.region, zone: node.zone, node });
    }),
  );

  r.post(
    '/heartbeat',
    route(async (req, res) => {
      const p = parseOrThrow(seedHeartbeatSchema, req.body ?? {});
      mayActFor(res, guard, p.node_id, 'heartbeat for');
      const ok = await registry.heartbeat(p.node_id, seedToHeartbeat(p));
      if (!ok) throw new ApiError(404, 'not_found', `node "${p.node_id}" is not registered`, 'node_id');
      res.status(200).json({ status: 'ok' });
    }),
  );

  return r;
}
