#!/usr/bin/env bash
# Regenerates src/xds/generated/ (TypeScript types of the Envoy messages we build)
# from the Envoy protos installed with @grpc/grpc-js-xds. Never edit the output by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
DEPS=node_modules/@grpc/grpc-js-xds/deps
rm -rf src/xds/generated src/relay/generated
npx proto-loader-gen-types --keepCase --longs String --enums String --defaults --oneofs --includeComments \
  --includeDirs $DEPS/envoy-api/ $DEPS/xds/ $DEPS/googleapis/ $DEPS/protoc-gen-validate/ \
  -O src/xds/generated/ --grpcLib @grpc/grpc-js \
  envoy/service/discovery/v3/ads.proto envoy/service/cluster/v3/cds.proto envoy/service/endpoint/v3/eds.proto \
  envoy/service/listener/v3/lds.proto envoy/service/route/v3/rds.proto \
  envoy/config/listener/v3/listener.proto envoy/config/route/v3/route.proto envoy/config/cluster/v3/cluster.proto \
  envoy/config/endpoint/v3/endpoint.proto \
  envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto \
  envoy/extensions/filters/http/router/v3/router.proto envoy/extensions/upstreams/http/v3/http_protocol_options.proto \
  envoy/config/bootstrap/v3/bootstrap.proto

# The project's own relay sync protocol.
npx proto-loader-gen-types --keepCase --longs Number --enums String --defaults --oneofs --includeComments \
  --includeDirs protos -O src/relay/generated --grpcLib @grpc/grpc-js relay.proto
