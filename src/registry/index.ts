// Domain types live in src/domain (import them from there).
export { Registry, RegistryClosedError } from './registry';
export type { RegistryOptions, RegisterResult, RegistryForwarder } from './registry';
export type { ServiceSummary, ServiceEndpoint } from './queries';
export { matchesFilter, summarizeServices } from './queries';
export { foldHeartbeat, DEFAULT_EWMA_ALPHA } from './stats';
export { lastSeenAt, sweepState, sweepPeriodMs, SUSPECT_AFTER_INTERVALS, UNHEALTHY_AFTER_INTERVALS } from './health';
