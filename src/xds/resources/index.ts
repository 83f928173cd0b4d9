/**
 * Pure builders of the Envoy resources edge-xds serves, and their deterministic encoding.
 */
export { buildCluster, circuitLimits, DEFAULT_OUTLIER, DEFAULT_CONNECT_TIMEOUT_MS, HTTP_PROTOCOL_OPTIONS_KEY } from './cluster';
export type { ClusterOptions, OutlierSettings, CircuitLimits } from './cluster';
export { buildClusterLoadAssignment, DEFAULT_OVERPROVISIONING_FACTOR } from './endpoint';
export type { ClaOptions } from './endpoint';
export {
  buildRouteConfiguration,
  buildRouteConfigurations,
  routableServices,
  grpcServices,
  serviceDomains,
  EGRESS_NAME,
  MESH_DOMAIN,
  DEFAULT_ROUTE_TIMEOUT_MS,
  DEFAULT_PER_TRY_TIMEOUT_MS,
  DEFAULT_NUM_RETRIES,
} from './route';
export type { RouteOptions } from './route';
export { buildListener, buildListeners, buildEgressListener, buildApiListener, HCM_TYPE, ROUTER_TYPE, DEFAULT_EGRESS_ADDRESS, DEFAULT_EGRESS_PORT } from './listener';
export type { EgressListenerOptions } from './listener';
export { packAny, encodeResource, encodeMessage, canonicalize, durationMs, RESOURCE_TYPE_NAME } from './encode';
export type { Cluster } from '../generated/envoy/config/cluster/v3/Cluster';
export type { ClusterLoadAssignment } from '../generated/envoy/config/endpoint/v3/ClusterLoadAssignment';
export type { Listener } from '../generated/envoy/config/listener/v3/Listener';
export type { RouteConfiguration } from '../generated/envoy/config/route/v3/RouteConfiguration';
