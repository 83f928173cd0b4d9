/**
 * Bootstrap for @grpc/grpc-js-xds (GRPC_XDS_BOOTSTRAP file or
 * GRPC_XDS_BOOTSTRAP_CONFIG JSON). grpc-js-xds uses only the first
 * xds_servers entry, so every server goes into that entry's server_uri:
 *  - all IPv4 literals: "ipv4:h1:p1,h2:p2,..." (grpc-js's ip resolver);
 *  - all IPv6 literals: "ipv6:[h1]:p1,[h2]:p2,...";
 * the xDS channel's pick_first then tries them in the order given (nearest
 * relay first, global tier last) and moves on when one fails.
 *  - any host name: "dns:///<first host>:<port>" only. The ip resolvers take
 *    no names, and one URI cannot mix them, so failover then comes from the
 *    name resolving to several addresses (e.g. a DNS name for a region's
 *    relays); the remaining servers are not used by gRPC clients.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { BootstrapLocality, XdsServerAddress } from './envoy';

export interface GrpcBootstrapParams {
  nodeId: string;
  locality: BootstrapLocality;
  xdsServers: XdsServerAddress[];
}

export interface GrpcXdsBootstrap {
  xds_servers: Array<{ server_uri: string; channel_creds: Array<{ type: 'insecure' }>; server_features: string[] }>;
  node: { id: string; locality: { region: string; zone: string; sub_zone: string } };
}

/** The single server_uri covering every xDS server (see the module comment). */
export function grpcServerUri(servers: XdsServerAddress[]): string {
  if (servers.length === 0) throw new Error('xdsServers: at least one xDS server is required');
  servers.forEach((s, i) => {
    if (!s.host) throw new Error(`xdsServers[${i}].host: required`);
    if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new Error(`xdsServers[${i}].port: out of range 1..65535`);
  });
  if (servers.every((s) => isIPv4(s.host))) return `ipv4:${servers.map((s) => `${s.host}:${s.port}`).join(',')}`;
  if (servers.every((s) => isIPv6(s.host))) return `ipv6:${servers.map((s) => `[${s.host}]:${s.port}`).join(',')}`;
  const first = servers[0];
  return `dns:///${isIPv6(first.host) ? `[${first.host}]` : first.host}:${first.port}`;
}

export function renderGrpcBootstrap(params: GrpcBootstrapParams): GrpcXdsBootstrap {
  if (!params.nodeId) throw new Error('nodeId: required');
  return {
    xds_servers: [{ server_uri: grpcServerUri(params.xdsServers), channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: params.nodeId,
      locality: { region: params.locality.region, zone: params.locality.zone, sub_zone: params.locality.subZone },
    },
  };
}
