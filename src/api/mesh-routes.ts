/**
 * /v1 routes about what proxies receive: the xDS connections, a proxy's config
 * dump, the endpoint table a proxy somewhere would get (with every weight
 * factor), and the weights configuration.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { ClientKind, ExplainRow, WeightsConfig, WeightsConfigResult } from '../model';
import { ApiError, parseOrThrow } from './errors';
import { route } from './middleware';
import { decimalValue } from '../domain';

/** Where the table is computed for: a registered node, or a place. */
export interface EndpointsQuery {
  node?: string;
  region?: string;
  zone?: string;
  lat?: number;
  lon?: number;
  kind: ClientKind;
}

export interface EndpointsTable {
  service: string;
  requester: { region: string; zone: string; location: { lat: number; lon: number } | null };
  endpoints: ExplainRow[];
}

/** One page of GET /v1/xds/connections: streams in opening order after `cursor` (null: from the first). */
export interface ConnectionsQuery {
  limit: number;
  cursor: number | null;
}

export interface ConnectionsPage {
  connections: unknown[];
  /** Open streams in all. */
  total: number;
  limit: number;
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

/** What the REST API needs of the xDS side (implemented in the composition root). */
export interface MeshAdmin {
  connections(q: ConnectionsQuery): ConnectionsPage;
  configDump(nodeId: string): unknown | null;
  endpointsTable(service: string, q: EndpointsQuery): EndpointsTable | { error: 'unknown_service' | 'unknown_node' };
  weights(): WeightsConfig;
  /** Validates, persists and applies a (partial) weights configuration. */
  setWeights(input: unknown): Promise<WeightsConfigResult>;
}

const num = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/, `${name} must be a number`)
    .transform(decimalValue)
    .pipe(z.number().min(min).max(max));

const endpointsQuerySchema = z
  .object({
    node: z.string().min(1).max(63).optional(),
    region: z.string().min(1).max(63).optional(),
    zone: z.string().min(1).max(63).optional(),
    lat: num('lat', -90, 90).optional(),
    lon: num('lon', -180, 180).optional(),
    kind: z.enum(['envoy', 'grpc']).default('grpc'),
  })
  .strict()
  .refine((q) => (q.lat === undefined) === (q.lon === undefined), { message: 'lat and lon go together', path: ['lat'] })
  .refine((q) => q.node !== undefined || q.region !== undefined, { message: 'give node=ID or region= (and zone=, lat=, lon=)', path: ['region'] });

export const CONNECTIONS_PAGE_DEFAULT = 100;
export const CONNECTIONS_PAGE_MAX = 1000;

// A page of streams (each with its per-type status) is bounded, not the whole server.
const connectionsQuerySchema = z
  .object({
    limit: z
      .string()
      .regex(/^\d{1,9}$/, `must be a whole number from 1 to ${CONNECTIONS_PAGE_MAX}`)
      .transform(Number)
      .pipe(z.number().int().min(1).max(CONNECTIONS_PAGE_MAX))
      .default(CONNECTIONS_PAGE_DEFAULT),
    cursor: z
      .string()
      .regex(/^\d{1,15}$/, 'must be the nextCursor of a previous page')
      .transform(Number)
      .optional(),
  })
  .strict();

export function meshRouter(mesh: MeshAdmin): Router {
  const r = Router();

  r.get(
    '/xds/connections',
    route((req, res) => {
      const q = parseOrThrow(connectionsQuerySchema, req.query);
      res.json(mesh.connections({ limit: q.limit, cursor: q.cursor ?? null }));
    }),
  );

  r.get(
    '/config_dump/:nodeId',
    route((req, res) => {
      const id = req.params.nodeId as string;
      const dump = mesh.configDump(id);
      if (dump === null) throw new ApiError(404, 'not_connected', `no xDS stream is open for node "${id}"`, 'nodeId');
      res.json(dump);
    }),
  );

  r.get(
    '/services/:name/endpoints',
    route((req, res) => {
      const q = parseOrThrow(endpointsQuerySchema, req.query);
      const name = req.params.name as string;
      const table = mesh.endpointsTable(name, q);
      if ('error' in table) {
        if (table.error === 'unknown_service') throw new ApiError(404, 'not_found', `no registered node offers service "${name}"`, 'name');
        throw new ApiError(404, 'not_found', `node "${q.node}" is not registered`, 'node');
      }
      res.json(table);
    }),
  );

  r.get(
    '/config/weights',
    route((_req, res) => {
      res.json(mesh.weights());
    }),
  );

  r.put(
    '/config/weights',
    route(async (req, res) => {
      const result = await mesh.setWeights(req.body ?? {});
      if (!result.ok) throw new ApiError(400, 'invalid_config', result.error.message, result.error.field);
      res.json(result.config);
    }),
  );

  return r;
}
