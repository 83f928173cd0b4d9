/**
 * The domain: what an edge node, a service, a heartbeat and a place are, and
 * the schemas that validate them as they arrive (REST, relays, the seed
 * endpoint). Imports nothing else from src/: every other part depends on it.
 */
export * from './types';
export * from './schemas';
export { parseDuration } from './duration';
export { NODE_CREDENTIAL_KEY } from './types';
