/**
 * Bootstraps for the data plane: Envoy (YAML from envoy/*.template.yaml) and
 * proxyless gRPC (@grpc/grpc-js-xds JSON), in open mode and in secure mode
 * (Envoy: mTLS with the node's certificate files; gRPC: the plaintext
 * listener with the node credential in metadata).
 */
export { renderEnvoyBootstrap, fillTemplate, envoyDir, templatePath, DEFAULT_ADMIN_PORT, DEFAULT_LISTENER_PORT, DEFAULT_NODE_CLUSTER } from './envoy';
export type { EnvoyBootstrapParams, XdsServerAddress, BootstrapLocality, EnvoyRole, XdsMode } from './envoy';
export {
  DEFAULT_CERT_DIR,
  CERT_DIR_FILES,
  SDS_FILES,
  SDS_SECRET_NAMES,
  MAX_CERT_DIR_LENGTH,
  certDirProblem,
  normalizeCertDir,
  envoySdsFiles,
  writeEnvoySdsFiles,
  certDirOfEnvoyBootstrap,
  xdsClusterTls,
} from './envoy-tls';
export type { EnvoyXdsTls, XdsClusterTls } from './envoy-tls';
export { renderGrpcBootstrap, grpcServerUri, withNodeCredential, NODE_CREDENTIAL_METADATA_KEY, NODE_TOKEN_PLACEHOLDER } from './grpc';
export type { GrpcBootstrapParams, GrpcXdsBootstrap } from './grpc';
export { BOOTSTRAP_EXAMPLES, renderExample, writeExamples, examplesDir } from './examples';
export type { BootstrapExample } from './examples';
