/**
 * Strict checks of what we send (and of bootstraps we ship): wire-level
 * decoding that rejects unknown fields, Envoy's constraints, strict proto3 JSON.
 */
export { decodeStrict, StrictDecodeError, resolveTypeUrl, DUMP_OPTIONS } from './wire';
export { checkEnvoyConstraints } from './constraints';
export { pgvViolations } from './pgv';
export { checkBootstrapYaml, bootstrapFromJsonStrict, BootstrapValidationError, BOOTSTRAP_TYPE } from './bootstrap';
export { StrictJson, jsonName } from './json';
