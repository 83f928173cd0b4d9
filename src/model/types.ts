/**
 * The intermediate model between the registry and xDS resources
 * (registry rows -> model -> Envoy messages). Pure data, no I/O types.
 */
import type { GeoLocation, ServiceProtocol } from '../domain';

/** Which kind of data plane asks: an Envoy sidecar/gateway or a proxyless gRPC client. */
export type ClientKind = 'envoy' | 'grpc';

export interface Locality {
  region: string;
  zone: string;
  subZone: string;
}

/** Where the requesting proxy is, resolved to a point (see resolveRequester). */
export interface Requester {
  region: string;
  zone: string;
  subZone: string;
  /** null when nothing places it (no registration, no metadata, no registered node in its zone or region). */
  location: GeoLocation | null;
}

/** Envoy's HealthStatus names we send. */
export type EndpointHealth = 'HEALTHY' | 'DEGRADED' | 'UNHEALTHY' | 'DRAINING';

/** Why an endpoint got its weight: every factor of the formula, for operators. */
export interface WeightFactors {
  distanceKm: number | null;
  /** Smoothed load L_i used in the formula (max of cpu/memory/network EWMA). */
  load: number;
  /** Latest reported load (overload is judged on this, not the smoothed one). */
  latestLoad: number;
  /** Declared capacity C_i (maxRps, else cpu cores, else 1). */
  capacity: number;
  /** Network quality q_i in (0,1]. */
  network: number;
  overloaded: boolean;
  /** Weight before quantization. */
  raw: number;
}

/** One endpoint as one view receives it. */
export interface EndpointAssignment {
  nodeId: string;
  address: string;
  port: number;
  /**
   * The locality sent in EDS. Each edge node is its own locality
   * (subZone = node id) so that proxyless gRPC clients, which only honour
   * locality weights, see per-node weights.
   */
  locality: Locality;
  priority: number;
  /** Integer >= 1, used as both the locality weight and the endpoint weight. */
  weight: number;
  health: EndpointHealth;
  /** Share of its priority's traffic in percent (0..100), from the quantized weights. */
  sharePct: number;
  factors: WeightFactors;
}

/** What CDS/LDS/RDS need to know of a service (independent of the requester). */
export interface ServiceSpec {
  name: string;
  protocol: ServiceProtocol;
  /** The port clients address the service by (the most common port among its endpoints). */
  port: number;
  /** Sum of declared maxRps over its endpoints (0 when none declare it), for circuit breakers. */
  totalMaxRps: number;
  endpointCount: number;
}
