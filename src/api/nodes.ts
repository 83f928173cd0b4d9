/** /v1 routes: nodes, heartbeats, services, events. */
import { Router } from 'express';
import type { Registry } from '../registry';
import type { NodeFilter } from '../domain';
import { ApiError, parseOrThrow } from './errors';
import { eventsQuerySchema, heartbeatSchema, nodeFilterSchema, registrationSchema } from '../domain';
import { route } from './middleware';
import { callerOf, mayActFor, type Caller } from './auth';
import type { Authenticator } from '../security';

const notFound = (id: string): ApiError => new ApiError(404, 'not_found', `node "${id}" is not registered`, 'id');

/**
 * `revokeOnDeregister`: secure mode on the global tier: an admin deregistering
 * a node also revokes it (its certificates and tokens stop working, its
 * streams close). A node deregistering itself (a graceful leave) keeps its
 * identity and may register again.
 */
export function nodesRouter(registry: Registry, guard: Authenticator | null = null, revokeOnDeregister?: (id: string, by: Caller) => Promise<void>): Router {
  const r = Router();

  r.post(
    '/nodes',
    route(async (req, res) => {
      const reg = parseOrThrow(registrationSchema, req.body ?? {});
      mayActFor(res, guard, reg.id, 'register');
      const { created, node } = await registry.register(reg);
      if (created) res.location(`/v1/nodes/${node.id}`);
      res.status(created ? 201 : 200).json(node);
    }),
  );

  r.post(
    '/nodes/:id/heartbeat',
    route(async (req, res) => {
      const id = req.params.id as string;
      mayActFor(res, guard, id, 'heartbeat for');
      if (registry.getNode(id) === undefined) throw notFound(id);
      const hb = parseOrThrow(heartbeatSchema, req.body ?? {});
      if (!(await registry.heartbeat(id, hb))) throw notFound(id);
      res.status(204).end();
    }),
  );

  r.delete(
    '/nodes/:id',
    route(async (req, res) => {
      const id = req.params.id as string;
      mayActFor(res, guard, id, 'deregister');
      const node = await registry.deregister(id);
      if (!node) throw notFound(id);
      const caller = callerOf(res);
      if (revokeOnDeregister && caller?.kind === 'admin') await revokeOnDeregister(id, caller);
      res.status(202).json(node);
    }),
  );

  r.get(
    '/nodes',
    route((req, res) => {
      const filter: NodeFilter = parseOrThrow(nodeFilterSchema, req.query);
      res.json({ nodes: registry.list(filter) });
    }),
  );

  r.get(
    '/nodes/:id',
    route((req, res) => {
      const id = req.params.id as string;
      const node = registry.getNode(id);
      if (!node) throw notFound(id);
      res.json(node);
    }),
  );

  r.get(
    '/services',
    route((_req, res) => {
      res.json({ services: registry.services() });
    }),
  );

  r.get(
    '/events',
    route(async (req, res) => {
      const q = parseOrThrow(eventsQuerySchema, req.query);
      const events = await registry.events(q.since, q.limit, q.node);
      res.json({ events, next: events.length > 0 ? events[events.length - 1].seq : q.since });
    }),
  );

  return r;
}
