/** The express application of the REST API. */
import express, { Express, Router } from 'express';
import type { Logger } from '../observability';
import type { Metrics } from '../observability';
import type { Registry } from '../registry';
import { ApiError, sendError } from './errors';
import { errorHandler, paramRoutes, requestLog, requireJson, requireToken } from './middleware';
import { nodesRouter } from './nodes';
import { seedRouter } from './seed-routes';
import { meshRouter, type MeshAdmin } from './mesh-routes';
import { tierRouter, type TierAdmin } from './tier-routes';
import { authGate, type ApiAuth } from './auth';
import { securityRouter } from './security-routes';
import { describeCaller, type Guard } from '../security';
import type { Caller } from './auth';

import { MAX_BODY_BYTES } from './limits';

export { MAX_BODY_BYTES };

export interface ApiOptions {
  registry: Registry;
  metrics: Metrics;
  logger: Logger;
  /** Bearer token required on mutating requests; null disables auth. */
  apiToken: string | null;
  /** True once migrations ran and listeners are up (for /readyz). */
  isReady: () => boolean;
  /** The xDS side: connections, config dumps, endpoint tables, weights. */
  mesh?: MeshAdmin;
  /** Relays, bootstraps and the link between tiers. */
  tier?: TierAdmin;
  /** Secure mode: credentials on every route but /healthz and /readyz (apiToken is then unused). */
  auth?: ApiAuth & {
    /** The global tier: tokens, enrollment and revocation (relays hold no CA key and serve none of these). */
    authority: Guard | null;
    closeStreams(kind: 'node' | 'relay', id: string): number;
  };
}

export function createApp(opts: ApiOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  const log = requestLog(opts.logger);
  if (log) app.use(log);

  // Operational endpoints: no auth, no body.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    if (opts.isReady()) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'not_ready' });
  });
  if (opts.auth) app.use(authGate(opts.auth));
  app.get('/metrics', (_req, res, next) => {
    opts.metrics
      .render()
      .then((text) => {
        res.setHeader('Content-Type', opts.metrics.contentType);
        res.send(text);
      })
      .catch(next);
  });

  if (!opts.auth) app.use(requireToken(opts.apiToken));
  app.use(requireJson);
  app.use(express.json({ limit: MAX_BODY_BYTES, strict: true, type: ['application/json', 'application/*+json'] }));

  const guard = opts.auth?.guard ?? null;
  const authority = opts.auth?.authority ?? null;
  // Revoking also closes the identity's open streams (the server listens to the guard's revocations).
  const revokeOnDeregister = authority
    ? async (id: string, by: Caller): Promise<void> => {
        await authority.revoke({ kind: 'node', id }, `${describeCaller(by)} (deregistered)`);
      }
    : undefined;
  const mounts: Array<[string, Router]> = [['/v1', nodesRouter(opts.registry, guard, revokeOnDeregister)]];
  if (opts.auth?.authority) mounts.push(['/v1', securityRouter({ guard: opts.auth.authority, closeStreams: opts.auth.closeStreams })]);
  if (opts.mesh) mounts.push(['/v1', meshRouter(opts.mesh)]);
  if (opts.tier) mounts.push(['/v1', tierRouter(opts.tier, guard)]);
  mounts.push(['/', seedRouter(opts.registry, guard)]);
  for (const [prefix, router] of mounts) app.use(prefix, router);

  app.use((req, res) => {
    sendError(res, new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler(opts.logger, paramRoutes(mounts)));
  return app;
}
