export { makeTempDir, removeDir } from './tmp';
export { waitFor, eventually, sleep } from './wait';
export { request, client } from './http';
export type { HttpResponse, RequestOptions } from './http';
export { startCliServer, CLI_PATH } from './cli-server';
export type { CliServer, CliServerOptions, StopResult } from './cli-server';
export { startTestServer } from './in-process';
export type { TestServer } from './in-process';
export { registration, HEARTBEAT, seedRegistration, seedHeartbeat } from './fixtures';
