/**
 * RDS: Envoy's egress route table (one virtual host per service) and, for
 * proxyless gRPC clients, one route configuration per service.
 */
import type { ClientKind, ServiceSpec } from '../../model/types';
import type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration';
import type { VirtualHost } from '../generated/envoy/config/route/v3/VirtualHost';
import type { RetryPolicy } from '../generated/envoy/config/route/v3/RetryPolicy';
import type { RouteAction } from '../generated/envoy/config/route/v3/RouteAction';
import { durationMs, u32 } from './encode';

/** Name of Envoy's egress listener and of the route configuration it takes by RDS. */
export const EGRESS_NAME = 'edge-xds-egress';
/** Domain suffix services answer to inside the mesh (`name.mesh`). */
export const MESH_DOMAIN = 'mesh';

export interface RouteOptions {
  /** Whole-request timeout on Envoy routes to http services (default 15 s; grpc services use the client's deadline). */
  timeoutMs?: number;
  /** Per-attempt timeout of the retry policy (default 5 s). */
  perTryTimeoutMs?: number;
  /** Retries after the first attempt (default 2). */
  numRetries?: number;
}

export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
export const DEFAULT_PER_TRY_TIMEOUT_MS = 5_000;
export const DEFAULT_NUM_RETRIES = 2;
const HTTP_RETRY_ON = '5xx,reset,connect-failure,refused-stream';

/** Services that can be routed by an HTTP connection manager (tcp services get a cluster only). */
export function routableServices(services: ServiceSpec[]): ServiceSpec[] {
  return services.filter((s) => s.protocol === 'http' || s.protocol === 'grpc').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Services served to proxyless gRPC clients (an API listener and a route configuration each). */
export function grpcServices(services: ServiceSpec[]): ServiceSpec[] {
  return routableServices(services).filter((s) => s.protocol === 'grpc');
}

export function serviceDomains(s: ServiceSpec): string[] {
  const mesh = `${s.name}.${MESH_DOMAIN}`;
  return [s.name, mesh, `${s.name}:${s.port}`, `${mesh}:${s.port}`];
}

function retryPolicy(s: ServiceSpec, opts: RouteOptions): RetryPolicy {
  return {
    retry_on: s.protocol === 'grpc' ? `${HTTP_RETRY_ON},unavailable` : HTTP_RETRY_ON,
    num_retries: u32(opts.numRetries ?? DEFAULT_NUM_RETRIES),
    per_try_timeout: durationMs(opts.perTryTimeoutMs ?? DEFAULT_PER_TRY_TIMEOUT_MS),
    retry_back_off: { base_interval: durationMs(25), max_interval: durationMs(250) },
  };
}

/**
 * http services: route timeout (default 15 s). grpc services: the route
 * timeout is disabled (0s, so streaming RPCs live) and the client's
 * grpc-timeout header is honoured instead (grpc_timeout_header_max 0s = no cap).
 */
function envoyVirtualHost(s: ServiceSpec, opts: RouteOptions): VirtualHost {
  const timeout = durationMs(opts.timeoutMs ?? DEFAULT_ROUTE_TIMEOUT_MS);
  const route: RouteAction =
    s.protocol === 'grpc'
      ? { cluster: s.name, timeout: durationMs(0), max_stream_duration: { grpc_timeout_header_max: durationMs(0) }, retry_policy: retryPolicy(s, opts) }
      : { cluster: s.name, timeout, retry_policy: retryPolicy(s, opts) };
  return { name: s.name, domains: serviceDomains(s), routes: [{ name: s.name, match: { prefix: '/' }, route }] };
}

/**
 * Proxyless gRPC: grpc-js-xds picks the virtual host by the channel's
 * authority (`xds:///echo` -> "echo", `xds:///echo:50051` -> "echo:50051").
 * The listener name already selected the service, so the single virtual host
 * matches any authority ('*'). Retries use gRPC status names (only
 * cancelled/deadline-exceeded/internal/resource-exhausted/unavailable are
 * understood); the route sets no timeout so the application's deadline rules.
 */
function grpcVirtualHost(s: ServiceSpec, opts: RouteOptions): VirtualHost {
  return {
    name: s.name,
    domains: ['*'],
    routes: [
      {
        name: s.name,
        match: { prefix: '/' },
        route: {
          cluster: s.name,
          retry_policy: {
            retry_on: 'unavailable',
            num_retries: u32(opts.numRetries ?? DEFAULT_NUM_RETRIES),
            retry_back_off: { base_interval: durationMs(25), max_interval: durationMs(250) },
          },
        },
      },
    ],
  };
}

/**
 * kind 'envoy': route configuration `name` (normally EGRESS_NAME) with one
 * virtual host per http/grpc service, sorted by name; throws if two services
 * claim the same domain.
 * kind 'grpc': route configuration `name` for the service of that name
 * (which must be in `services`), one virtual host, domains ['*'].
 */
export function buildRouteConfiguration(name: string, services: ServiceSpec[], kind: ClientKind, opts: RouteOptions = {}): RouteConfiguration {
  if (!name) throw new Error('buildRouteConfiguration: name is empty');
  if (kind === 'grpc') {
    const s = services.find((x) => x.name === name);
    if (!s) throw new Error(`buildRouteConfiguration: no service named ${name} for a proxyless gRPC route configuration`);
    return { name, virtual_hosts: [grpcVirtualHost(s, opts)] };
  }
  const owners = new Map<string, string>();
  const vhosts = routableServices(services).map((s) => {
    for (const d of serviceDomains(s)) {
      const prev = owners.get(d);
      if (prev !== undefined) throw new Error(`buildRouteConfiguration: domain ${d} claimed by services ${prev} and ${s.name}`);
      owners.set(d, s.name);
    }
    return envoyVirtualHost(s, opts);
  });
  return { name, virtual_hosts: vhosts };
}

/** Every route configuration a client kind gets: Envoy one egress table, gRPC one per grpc service. */
export function buildRouteConfigurations(services: ServiceSpec[], kind: ClientKind, opts: RouteOptions = {}): RouteConfiguration[] {
  if (kind === 'envoy') return [buildRouteConfiguration(EGRESS_NAME, services, kind, opts)];
  return grpcServices(services).map((s) => buildRouteConfiguration(s.name, services, kind, opts));
}
