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
 *
 * Secure mode: grpc-js-xds opens its xDS channel without TLS (insecure or
 * google_default credentials only), so it talks to the server's separate
 * plaintext xDS listener, which accepts a stream only when node.metadata
 * carries the node's own API token (the `nodeToken` of its enrollment) under
 * NODE_CREDENTIAL_METADATA_KEY. The token crosses the network in clear: keep
 * that listener on the node's host or a trusted network (docs/SECURITY.md).
 */
import { NODE_CREDENTIAL_KEY } from '../domain';
import { isIPv4, isIPv6 } from 'node:net';
import type { BootstrapLocality, XdsServerAddress } from './envoy';

/** The node.metadata key of the node credential on the plaintext xDS listener (NODE_CREDENTIAL_KEY of src/domain, which the xDS server reads). */
export const NODE_CREDENTIAL_METADATA_KEY = NODE_CREDENTIAL_KEY;

/**
 * What a secure-mode gRPC bootstrap carries as the credential when the server
 * has no node token to put there (it stores only their hashes): the bootstrap
 * was fetched with an admin or read token, or with the node's certificate.
 * The server refuses it (malformed-credential); replace it with the content
 * of the node's DIR/node-token (`edge-xds bootstrap --node-token-file` does).
 */
export const NODE_TOKEN_PLACEHOLDER = 'REPLACE-WITH-NODE-TOKEN: the node-token file written by edge-xds enroll';

export interface GrpcBootstrapParams {
  nodeId: string;
  locality: BootstrapLocality;
  xdsServers: XdsServerAddress[];
  /** node.metadata (string values), e.g. the node credential in secure mode; none when absent. */
  metadata?: Record<string, string>;
}

export interface GrpcXdsBootstrap {
  xds_servers: Array<{ server_uri: string; channel_creds: Array<{ type: 'insecure' }>; server_features: string[] }>;
  node: { id: string; locality: { region: string; zone: string; sub_zone: string }; metadata?: Record<string, string> };
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
  const node: GrpcXdsBootstrap['node'] = {
    id: params.nodeId,
    locality: { region: params.locality.region, zone: params.locality.zone, sub_zone: params.locality.subZone },
  };
  if (params.metadata) {
    for (const [k, v] of Object.entries(params.metadata)) if (typeof v !== 'string') throw new Error(`metadata.${k}: must be a string`);
    node.metadata = { ...params.metadata };
  }
  return {
    xds_servers: [{ server_uri: grpcServerUri(params.xdsServers), channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node,
  };
}

/**
 * A gRPC bootstrap (JSON text) with `token` as its node credential (replacing
 * the placeholder or whatever was there); the rest is kept as is.
 */
export function withNodeCredential(bootstrapJson: string, token: string): string {
  const b = JSON.parse(bootstrapJson) as { node?: { metadata?: Record<string, unknown> } };
  if (!b || typeof b !== 'object' || !b.node || typeof b.node !== 'object') throw new Error('not a gRPC bootstrap (no node)');
  b.node.metadata = { ...(b.node.metadata ?? {}), [NODE_CREDENTIAL_METADATA_KEY]: token };
  return `${JSON.stringify(b, null, 2)}\n`;
}
