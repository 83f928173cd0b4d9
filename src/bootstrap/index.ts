/**
 * Bootstraps for the data plane: Envoy (YAML from envoy/*.template.yaml) and
 * proxyless gRPC (@grpc/grpc-js-xds JSON).
 */
export { renderEnvoyBootstrap, fillTemplate, envoyDir, templatePath, DEFAULT_ADMIN_PORT, DEFAULT_LISTENER_PORT, DEFAULT_NODE_CLUSTER } from './envoy';
export type { EnvoyBootstrapParams, XdsServerAddress, BootstrapLocality, EnvoyRole, XdsMode } from './envoy';
export { renderGrpcBootstrap, grpcServerUri } from './grpc';
export type { GrpcBootstrapParams, GrpcXdsBootstrap } from './grpc';
export { BOOTSTRAP_EXAMPLES, renderExample, writeExamples, examplesDir } from './examples';
export type { BootstrapExample } from './examples';
