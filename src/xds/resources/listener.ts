/**
 * LDS: Envoy's egress listener, and an API listener per grpc service for
 * proxyless gRPC clients (`xds:///NAME` asks for the listener NAME).
 */
import type { ClientKind, ServiceSpec } from '../../model/types';
import type { Listener } from '../generated/envoy/config/listener/v3/Listener';
import type { HttpConnectionManager } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager';
import type { Any } from '../generated/google/protobuf/Any';
import { durationMs, packAny } from './encode';
import { EGRESS_NAME, grpcServices } from './route';

export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
export const HCM_FILTER_NAME = 'envoy.filters.network.http_connection_manager';
export const ROUTER_FILTER_NAME = 'envoy.filters.http.router';

export interface EgressListenerOptions {
  /** Listener (and RDS route configuration) name, default EGRESS_NAME. */
  name?: string;
  /** Bind address, default 127.0.0.1 (the sidecar serves only its own host). */
  address?: string;
  /** Bind port, default 15001. */
  port?: number;
  /** Route configuration to take by RDS, default the listener name. */
  routeConfigName?: string;
}

export const DEFAULT_EGRESS_ADDRESS = '127.0.0.1';
export const DEFAULT_EGRESS_PORT = 15001;

function routerFilter(): { name: string; typed_config: Any } {
  return { name: ROUTER_FILTER_NAME, typed_config: packAny(ROUTER_TYPE, {}) };
}

function rdsHcm(statPrefix: string, routeConfigName: string, envoy: boolean): HttpConnectionManager {
  const hcm: HttpConnectionManager = {
    stat_prefix: statPrefix,
    rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: routeConfigName },
    http_filters: [routerFilter()],
  };
  if (envoy) {
    hcm.codec_type = 'AUTO';
    // Sidecar egress: local apps open long-lived HTTP/2 connections; drop idle streams, not connections.
    hcm.stream_idle_timeout = durationMs(300_000);
  }
  return hcm;
}

/** Envoy egress listener: 127.0.0.1:15001, HTTP connection manager with RDS over ADS, router filter. */
export function buildEgressListener(opts: EgressListenerOptions = {}): Listener {
  const name = opts.name ?? EGRESS_NAME;
  const port = opts.port ?? DEFAULT_EGRESS_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`buildEgressListener: port ${port} out of range 1..65535`);
  return {
    name,
    address: { socket_address: { address: opts.address ?? DEFAULT_EGRESS_ADDRESS, port_value: port } },
    traffic_direction: 'OUTBOUND',
    filter_chains: [
      {
        name: 'http',
        filters: [{ name: HCM_FILTER_NAME, typed_config: packAny(HCM_TYPE, rdsHcm('egress', opts.routeConfigName ?? name, true)) }],
      },
    ],
  };
}

/** Proxyless gRPC API listener named after the service; its HCM takes route configuration `service` by RDS. */
export function buildApiListener(service: string): Listener {
  if (!service) throw new Error('buildApiListener: service name is empty');
  return {
    name: service,
    api_listener: { api_listener: packAny(HCM_TYPE, rdsHcm(service, service, false)) },
  };
}

/** Every listener a client kind gets: Envoy the egress listener, gRPC one API listener per grpc service. */
export function buildListeners(services: ServiceSpec[], kind: ClientKind, opts: EgressListenerOptions = {}): Listener[] {
  if (kind === 'envoy') return [buildEgressListener(opts)];
  return grpcServices(services).map((s) => buildApiListener(s.name));
}

/** One listener: kind 'envoy' -> the egress listener (name/address/port from opts); kind 'grpc' -> the API listener of `service`. */
export function buildListener(kind: ClientKind, service?: string, opts: EgressListenerOptions = {}): Listener {
  if (kind === 'envoy') return buildEgressListener(opts);
  if (!service) throw new Error('buildListener: a proxyless gRPC listener needs a service name');
  return buildApiListener(service);
}
