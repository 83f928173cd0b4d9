export { createApp, MAX_BODY_BYTES } from './app';
export type { ApiOptions } from './app';
export { ApiError, fromZodIssue, parseOrThrow } from './errors';
export type { ApiErrorBody } from './errors';
export { registrationSchema, heartbeatSchema, nodeFilterSchema, DNS_LABEL } from './schemas';
export { geoZone, mapCapabilities, seedToRegistration, seedToHeartbeat, SEED_DEFAULT_REGION } from './seed';
export { meshRouter } from './mesh-routes';
export type { MeshAdmin, EndpointsQuery, EndpointsTable } from './mesh-routes';
