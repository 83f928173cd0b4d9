/**
 * Envoy's API protos, loaded by path from an installed npm package
 * (@grpc/grpc-js-xds ships them under deps/). Nothing is copied into the repo.
 */
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import * as protoLoader from '@grpc/proto-loader';

export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;
export type ResourceKind = keyof typeof TYPE_URL;
export type TypeUrl = (typeof TYPE_URL)[ResourceKind];
export const RESOURCE_KINDS: readonly ResourceKind[] = ['cluster', 'endpoint', 'listener', 'route'];

export function kindOfTypeUrl(typeUrl: string): ResourceKind | undefined {
  for (const k of RESOURCE_KINDS) if (TYPE_URL[k] === typeUrl) return k;
  return undefined;
}

/** Root folder of the installed Envoy API protos. */
export function envoyProtoDir(): string {
  const pkg = require.resolve('@grpc/grpc-js-xds/package.json');
  return path.join(path.dirname(pkg), 'deps');
}

export function envoyIncludeDirs(): string[] {
  const deps = envoyProtoDir();
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(deps, d));
}

/** The proto files whose messages edge-xds builds, sends, or checks. */
export const ENVOY_PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
];

let rootCache: protobuf.Root | undefined;

/** A protobufjs Root holding every Envoy message edge-xds uses (loaded once). */
export function envoyRoot(): protobuf.Root {
  if (rootCache) return rootCache;
  const includeDirs = envoyIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string | null => {
    if (path.isAbsolute(target)) return target;
    for (const dir of includeDirs) {
      const candidate = path.join(dir, target);
      try {
        require('node:fs').accessSync(candidate);
        return candidate;
      } catch {
        /* try next include dir */
      }
    }
    // google/protobuf/*.proto are bundled with protobufjs itself
    return target;
  };
  root.loadSync(ENVOY_PROTO_FILES, { keepCase: true });
  root.resolveAll();
  rootCache = root;
  return root;
}

export function envoyType(fullName: string): protobuf.Type {
  return envoyRoot().lookupType(fullName);
}

let pkgDefCache: protoLoader.PackageDefinition | undefined;

/** proto-loader package definition for the xDS gRPC services (requests decoded with these options). */
export function xdsPackageDefinition(): protoLoader.PackageDefinition {
  if (pkgDefCache) return pkgDefCache;
  pkgDefCache = protoLoader.loadSync(
    [
      'envoy/service/discovery/v3/ads.proto',
      'envoy/service/cluster/v3/cds.proto',
      'envoy/service/endpoint/v3/eds.proto',
      'envoy/service/listener/v3/lds.proto',
      'envoy/service/route/v3/rds.proto',
    ],
    { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: envoyIncludeDirs() },
  );
  return pkgDefCache;
}
