/**
 * Strict checks of what the server sends and the bootstraps it ships, used by
 * tests only: Envoy's constraints (PGV rules and the checks Envoy makes on
 * load), strict proto3 JSON, bootstrap validation. The strict wire decoder
 * they build on is also used at runtime (config dumps) and lives in src/.
 */
export { decodeStrict, StrictDecodeError, resolveTypeUrl, DUMP_OPTIONS } from '../../../src/xds/strict-decode';
export { checkEnvoyConstraints } from './constraints';
export { pgvViolations } from './pgv';
export { checkBootstrapYaml, bootstrapFromJsonStrict, BootstrapValidationError, BOOTSTRAP_TYPE } from './bootstrap';
export { StrictJson, jsonName } from './json';
