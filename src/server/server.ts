/**
 * The composition root: database -> migrations -> registry -> REST API and
 * xDS listeners. The CLI only calls startServer().
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp } from '../api';
import type { ServerOptions } from '../config';
import { Logger, Metrics, createLogger } from '../observability';
import { Registry } from '../registry';
import { Store, migrateLatest, openDatabase } from '../store';
import { registryMetrics } from './registry-metrics';
import { XdsComponent, XdsComponentFactory, healthOnlyXds } from './xds-component';

export interface RunningServer {
  httpPort: number;
  xdsPort: number;
  registry: Registry;
  metrics: Metrics;
  logger: Logger;
  /** Graceful stop: flush heartbeats, close listeners, close the database. Idempotent. */
  close(): Promise<void>;
}

export interface StartServerExtras {
  /** Builds the xDS gRPC component (default: the health-only placeholder). */
  xds?: XdsComponentFactory;
  /** Collect Node default process metrics (default true). */
  defaultMetrics?: boolean;
}

export async function startServer(opts: ServerOptions, logger?: Logger, extras: StartServerExtras = {}): Promise<RunningServer> {
  const log = logger ?? createLogger(opts.logLevel);
  const metrics = new Metrics(extras.defaultMetrics ?? true);
  let ready = false;
  let registry: Registry | null = null;

  const db = openDatabase({ file: opts.db });
  const store = new Store(db);
  let httpServer: http.Server | null = null;
  let xds: XdsComponent | null = null;
  try {
    const applied = await migrateLatest(db);
    log.info({ db: opts.db, applied }, 'database ready');

    const onBatch = registryMetrics(metrics, () => registry);
    registry = await Registry.open({
      store,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      drainGraceMs: opts.drainGraceMs,
      ewmaAlpha: opts.ewmaAlpha,
      heartbeatBatchDelayMs: opts.heartbeatBatchDelayMs,
      heartbeatBatchMax: opts.heartbeatBatchMax,
      logger: log.child({ component: 'registry' }),
      onHeartbeatBatch: onBatch,
    });
    log.info({ nodes: registry.nodes().size }, 'registry loaded');

    const app = createApp({ registry, metrics, logger: log.child({ component: 'api' }), apiToken: opts.apiToken, isReady: () => ready });
    httpServer = http.createServer({ keepAliveTimeout: 30_000 }, app);
    const httpPort = await listen(httpServer, opts.host, opts.httpPort);

    xds = (extras.xds ?? healthOnlyXds)({ registry, metrics, logger: log.child({ component: 'xds' }) });
    const xdsPort = await xds.start(opts.host, opts.xdsPort);

    ready = true;
    log.info({ host: opts.host, httpPort, xdsPort }, 'listening');
    if (opts.readyFile) writeReadyFile(opts.readyFile, { httpPort, xdsPort });

    const reg = registry;
    const server = httpServer;
    const xdsComp = xds;
    let closing: Promise<void> | null = null;
    return {
      httpPort,
      xdsPort,
      registry: reg,
      metrics,
      logger: log,
      close: () => (closing ??= shutdown({ log, server, xds: xdsComp, registry: reg, store, setNotReady: () => (ready = false) })),
    };
  } catch (err) {
    await Promise.allSettled([
      httpServer ? closeHttp(httpServer, 0) : Promise.resolve(),
      xds ? xds.close() : Promise.resolve(),
      registry ? registry.close() : Promise.resolve(),
    ]);
    await store.close().catch(() => undefined);
    throw err;
  }
}

interface ShutdownParts {
  log: Logger;
  server: http.Server;
  xds: XdsComponent;
  registry: Registry;
  store: Store;
  setNotReady: () => void;
}

async function shutdown(p: ShutdownParts): Promise<void> {
  const started = Date.now();
  p.setNotReady();
  p.log.info('shutting down');
  // Stop accepting connections; requests in flight (heartbeats waiting for
  // their batch) complete once the registry flushed.
  const httpClosed = closeHttp(p.server, 1500);
  await p.registry.close();
  p.server.closeIdleConnections();
  await Promise.all([httpClosed, p.xds.close()]);
  await p.store.close();
  p.log.info({ ms: Date.now() - started }, 'stopped');
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes the HTTP server: idle keep-alive connections now, busy ones after `graceMs`. */
function closeHttp(server: http.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Atomically writes the ready file (write to a temp name, then rename). */
function writeReadyFile(file: string, ports: { httpPort: number; xdsPort: number }): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(ports));
  fs.renameSync(tmp, file);
}
