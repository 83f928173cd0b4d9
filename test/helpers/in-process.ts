/**
 * Starts the real server (startServer) inside the test process on 127.0.0.1
 * with ports 0 and a temp SQLite file. Faster than spawning the CLI; use
 * startCliServer when the process itself matters (signals, restarts).
 */
import path from 'node:path';
import { ServerOptions, defaultServerOptions } from '../../src/config';
import { silentLogger } from '../../src/observability';
import { RunningServer, StartServerExtras, startServer } from '../../src/server';
import { makeTempDir, removeDir } from './tmp';

export interface TestServer extends RunningServer {
  baseUrl: string;
  dir: string;
  dbPath: string;
  /** Closes the server and removes its temp dir (when the helper created it). Idempotent. */
  stop(): Promise<void>;
}

export async function startTestServer(overrides: Partial<ServerOptions> = {}, extras: StartServerExtras = {}): Promise<TestServer> {
  const ownDir = overrides.db === undefined;
  const dir = ownDir ? makeTempDir('edge-xds-srv-') : path.dirname(overrides.db as string);
  const dbPath = overrides.db ?? path.join(dir, 'edge-xds.db');
  // Open mode unless the test asks for secure mode (insecure: false).
  const opts = defaultServerOptions({ host: '127.0.0.1', httpPort: 0, xdsPort: 0, logLevel: 'silent', insecure: true, ...overrides, db: dbPath });
  const srv = await startServer(opts, silentLogger(), { defaultMetrics: false, ...extras });
  let stopped: Promise<void> | null = null;
  return {
    ...srv,
    baseUrl: `http://127.0.0.1:${srv.httpPort}`,
    dir,
    dbPath,
    stop: () =>
      (stopped ??= srv.close().finally(() => {
        if (ownDir) removeDir(dir);
      })),
  };
}
