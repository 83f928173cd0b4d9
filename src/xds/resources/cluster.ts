/**
 * CDS: one Cluster per service, endpoints by EDS over ADS.
 */
import type { ClientKind, ServiceSpec } from '../../model/types';
import type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster';
import type { CircuitBreakers } from '../generated/envoy/config/cluster/v3/CircuitBreakers';
import type { OutlierDetection } from '../generated/envoy/config/cluster/v3/OutlierDetection';
import { durationMs, packAny, u32 } from './encode';

export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export interface ClusterOptions {
  /** TCP connect timeout to an endpoint (default 2000 ms: edge links can be slow, a dead host fails fast enough). */
  connectTimeoutMs?: number;
  /**
   * Time a request is assumed to stay in flight when turning declared capacity
   * into a concurrency limit (Little's law, default 500 ms: about twice a
   * typical 250 ms edge request, as headroom).
   */
  inFlightMs?: number;
  /** Outlier detection (defaults in DEFAULT_OUTLIER). */
  outlier?: Partial<OutlierSettings>;
}

export interface OutlierSettings {
  consecutive5xx: number;
  intervalMs: number;
  baseEjectionMs: number;
  maxEjectionPercent: number;
  /** Failure-percentage ejection (the only consecutive-failure-like ejection gRPC clients implement). */
  failurePercentageThreshold: number;
  failurePercentageMinimumHosts: number;
  failurePercentageRequestVolume: number;
}

export const DEFAULT_OUTLIER: OutlierSettings = {
  consecutive5xx: 5,
  intervalMs: 10_000,
  baseEjectionMs: 30_000,
  maxEjectionPercent: 50,
  failurePercentageThreshold: 50,
  failurePercentageMinimumHosts: 3,
  failurePercentageRequestVolume: 50,
};

export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
export const DEFAULT_IN_FLIGHT_MS = 500;

export interface CircuitLimits {
  maxRequests: number;
  maxPendingRequests: number;
  maxConnections: number;
  maxRetries: number;
}

/** Envoy's own default for max_requests, used when no endpoint declares maxRps. */
export const UNKNOWN_CAPACITY_MAX_REQUESTS = 1024;
export const MIN_REQUESTS_PER_ENDPOINT = 32;
export const MIN_MAX_REQUESTS = 64;
export const MAX_MAX_REQUESTS = 50_000;

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Circuit-breaker thresholds from declared capacity.
 *
 * - max_requests (concurrent requests to the whole cluster) follows Little's
 *   law: totalMaxRps x inFlight (default 0.5 s), rounded up. With no declared
 *   capacity (totalMaxRps = 0) Envoy's default 1024 is kept.
 * - Floor: max(64, 32 x endpointCount), so a small or undeclared service is
 *   never throttled below a few dozen requests per endpoint. Ceiling: 50,000.
 * - max_connections = max_requests (HTTP/1.1 needs one connection per active
 *   request; HTTP/2 needs far fewer, so this never binds there).
 * - max_pending_requests = max(16, max_requests / 4): a short queue, not a buffer.
 * - max_retries = clamp(max_requests / 10, 3, 1000): at most ~10% of the
 *   concurrency spent on retries, never below Envoy's default 3.
 */
export function circuitLimits(spec: Pick<ServiceSpec, 'totalMaxRps' | 'endpointCount'>, inFlightMs = DEFAULT_IN_FLIGHT_MS): CircuitLimits {
  const floor = Math.max(MIN_MAX_REQUESTS, MIN_REQUESTS_PER_ENDPOINT * Math.max(0, Math.floor(spec.endpointCount)));
  const derived = spec.totalMaxRps > 0 && Number.isFinite(spec.totalMaxRps) ? Math.ceil((spec.totalMaxRps * inFlightMs) / 1000) : UNKNOWN_CAPACITY_MAX_REQUESTS;
  const maxRequests = clamp(derived, Math.min(floor, MAX_MAX_REQUESTS), MAX_MAX_REQUESTS);
  return {
    maxRequests,
    maxPendingRequests: Math.max(16, Math.ceil(maxRequests / 4)),
    maxConnections: maxRequests,
    maxRetries: clamp(Math.ceil(maxRequests / 10), 3, 1000),
  };
}

function circuitBreakers(limits: CircuitLimits): CircuitBreakers {
  return {
    thresholds: [
      {
        priority: 'DEFAULT',
        max_connections: u32(limits.maxConnections),
        max_pending_requests: u32(limits.maxPendingRequests),
        max_requests: u32(limits.maxRequests),
        max_retries: u32(limits.maxRetries),
      },
    ],
  };
}

function outlierDetection(s: OutlierSettings): OutlierDetection {
  return {
    consecutive_5xx: u32(s.consecutive5xx),
    interval: durationMs(s.intervalMs),
    base_ejection_time: durationMs(s.baseEjectionMs),
    max_ejection_percent: u32(s.maxEjectionPercent),
    // Envoy's own success-rate defaults, set explicitly: @grpc/grpc-js 1.14
    // merges the unset fields over its defaults as `undefined`, then its
    // success-rate check runs with no minimum and throws (reduce of an empty
    // array) at the first outlier interval, crashing the client process.
    enforcing_success_rate: u32(100),
    success_rate_minimum_hosts: u32(5),
    success_rate_request_volume: u32(100),
    success_rate_stdev_factor: u32(1900),
    enforcing_failure_percentage: u32(100),
    failure_percentage_threshold: u32(s.failurePercentageThreshold),
    failure_percentage_minimum_hosts: u32(s.failurePercentageMinimumHosts),
    failure_percentage_request_volume: u32(s.failurePercentageRequestVolume),
  };
}

/**
 * The Cluster of one service. Same shape for both client kinds except that the
 * proxyless gRPC variant leaves out Envoy-only upstream protocol options (gRPC
 * always speaks HTTP/2, and grpc-js-xds validates only type EDS + ADS config,
 * lb_policy ROUND_ROBIN, outlier detection ranges and circuit_breakers
 * DEFAULT max_requests, which it enforces as max concurrent requests).
 */
export function buildCluster(spec: ServiceSpec, kind: ClientKind, opts: ClusterOptions = {}): Cluster {
  if (!spec.name) throw new Error('buildCluster: service name is empty');
  const outlier = { ...DEFAULT_OUTLIER, ...(opts.outlier ?? {}) };
  const cluster: Cluster = {
    name: spec.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: durationMs(opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
    lb_policy: 'ROUND_ROBIN',
    common_lb_config: { locality_weighted_lb_config: {} },
    circuit_breakers: circuitBreakers(circuitLimits(spec, opts.inFlightMs)),
    outlier_detection: outlierDetection(outlier),
  };
  if (kind === 'envoy' && spec.protocol === 'grpc') {
    cluster.typed_extension_protocol_options = {
      [HTTP_PROTOCOL_OPTIONS_KEY]: packAny(HTTP_PROTOCOL_OPTIONS_KEY, {
        explicit_http_config: {
          http2_protocol_options: {
            connection_keepalive: { interval: durationMs(30_000), timeout: durationMs(5_000) },
          },
        },
      }),
    };
  }
  return cluster;
}
