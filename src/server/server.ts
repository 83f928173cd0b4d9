/**
 * The composition root: database -> migrations -> registry -> REST API and
 * xDS listeners. The CLI only calls startServer().
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp, withHeartbeatFastPath } from '../api';
import type { ServerOptions } from '../config';
import { Logger, Metrics, createLogger } from '../observability';
import { Registry } from '../registry';
import { Store, migrateLatest, openDatabase } from '../store';
import { registryMetrics } from './registry-metrics';
import { XdsComponent } from '../xds';
import { loadWeightsConfigFile, parseWeightsConfig, DEFAULT_WEIGHTS_CONFIG, type WeightsConfig } from '../model';
import { XdsMeshAdmin, WEIGHTS_KV_KEY } from './mesh-admin';
import { ServerTierAdmin, bootstrapXdsHost } from './tier-admin';
import { Outbox, Ownership, RelaySyncServer, RelayTier, relayForwarder, RELAY_HTTP_PORT_LABEL, RELAY_XDS_PLAINTEXT_PORT_LABEL, RELAY_XDS_PORT_LABEL } from '../relay';
import type { NodeRegistration } from '../domain';
import type { Authenticator, Guard, ServerTls } from '../security';
import { RenewableServerCredentials, announceAdminToken, contextOf, openGuard, openRelaySecurity, relayAuthorizer, xdsAuthorizer, type RelaySecurity } from './security';

export interface RunningServer {
  httpPort: number;
  xdsPort: number;
  /** The plaintext xDS listener for proxyless gRPC (secure mode, --xds-plaintext-port); null when off. */
  xdsPlaintextPort: number | null;
  /** Secure mode: CA, credentials, enrollment; null with --insecure. */
  guard: Guard | null;
  registry: Registry;
  xds: XdsComponent;
  /** The relay tier when --role regional. */
  relay: RelayTier | null;
  metrics: Metrics;
  logger: Logger;
  /** Graceful stop: flush heartbeats, close listeners, close the database. Idempotent. */
  close(): Promise<void>;
}

export interface StartServerExtras {
  /** Collect Node default process metrics (default true). */
  defaultMetrics?: boolean;
}

export async function startServer(opts: ServerOptions, logger?: Logger, extras: StartServerExtras = {}): Promise<RunningServer> {
  const log = logger ?? createLogger(opts.logLevel);
  const metrics = new Metrics(extras.defaultMetrics ?? true);
  let ready = false;
  let registry: Registry | null = null;

  const db = openDatabase({ file: opts.db, synchronous: opts.dbSync });
  const store = new Store(db);
  let httpServer: http.Server | null = null;
  let xds: XdsComponent | null = null;
  let guard: Guard | null = null;
  let relaySec: RelaySecurity | null = null;
  try {
    const applied = await migrateLatest(db);
    log.info({ db: opts.db, applied }, 'database ready');
    if (opts.insecure) {
      log.warn(
        { host: opts.host },
        '--insecure: no TLS and no credentials on any port; anyone who can reach them can read the fleet and change the mesh. For local experiments only.',
      );
    } else if (opts.role === 'regional') {
      relaySec = await openRelaySecurity(opts, store, log, metrics);
    } else {
      guard = await openGuard(opts, store, log, metrics);
    }
    // Who authenticates callers (the global tier's Guard, or a relay's replica of it), and the certificate this server presents.
    const authn: Authenticator | null = guard ?? relaySec?.authenticator ?? null;
    const serverTls = guard ? () => guard!.serverTlsNow() : relaySec ? relaySec.tls : null;
    const onTlsChanged = (l: (t: ServerTls) => void): void => {
      if (guard) guard.onServerTls(l);
      relaySec?.onTlsChanged(l);
    };
    const credentials = serverTls ? new RenewableServerCredentials(serverTls()) : undefined;

    const onBatch = registryMetrics(metrics, () => registry);
    // A relay forwards what it accepts (durable outbox) and judges the health of only the nodes that talk to it.
    const regional = opts.role === 'regional';
    const outbox = regional ? new Outbox(db) : null;
    const ownership = regional ? new Ownership() : null;
    registry = await Registry.open({
      forward: outbox && ownership ? relayForwarder(outbox, ownership) : undefined,
      sweeps: ownership ? (n) => ownership.owns(n.id) : undefined,
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

    const weights = await initialWeights(opts, store, log);
    const reg0 = registry;
    let relay: RelayTier | null = null;
    let boundXdsPort = 0;
    let boundHttpPort = 0;
    let boundPlaintextPort: number | null = null;
    const relayId = (): string => opts.relayId ?? relaySec?.relayId ?? `relay-${(opts.advertiseAddress ?? opts.host).replace(/[^0-9a-f]+/gi, '-').toLowerCase()}-${boundXdsPort}`;
    xds = new XdsComponent({
      registry,
      metrics,
      logger: log.child({ component: 'xds' }),
      weights,
      source: { coalesceMs: opts.coalesceMs, weightPushIntervalMs: opts.weightPushIntervalMs, viewIdleMs: opts.viewIdleMs, egress: { port: opts.egressPort } },
      maxBytesInFlight: opts.xdsSendBudget,
      credentials,
      authorize: authn ? xdsAuthorizer(authn) : undefined,
      serve: regional
        ? (meshSource) =>
            (relay = new RelayTier({
              db,
              registry: reg0,
              mesh: meshSource,
              outbox: outbox!,
              ownership: ownership!,
              upstreams: opts.upstreams ?? [],
              heartbeatIntervalMs: opts.heartbeatIntervalMs,
              viewIdleMs: opts.viewIdleMs,
              logger: log,
              credentials: relaySec ? relaySec.upstreamCredentials : undefined,
              onCredentials: relaySec ? relaySec.onCredentials : undefined,
              registration: (): NodeRegistration => ({
                id: relayId(),
                role: 'relay',
                region: opts.region!,
                zone: opts.zone ?? opts.region!,
                subZone: '',
                location: opts.location!,
                address: opts.advertiseAddress ?? opts.host,
                services: [],
                capacity: {},
                labels: {
                  [RELAY_XDS_PORT_LABEL]: String(boundXdsPort),
                  [RELAY_HTTP_PORT_LABEL]: String(boundHttpPort),
                  // Published only where nodes reach it: on a wildcard or at the advertised address.
                  ...(boundPlaintextPort !== null && plaintextPublished(opts) ? { [RELAY_XDS_PLAINTEXT_PORT_LABEL]: String(boundPlaintextPort) } : {}),
                },
              }),
            })).source
        : undefined,
    });
    const g0 = guard;
    const sync = regional
      ? undefined
      : new RelaySyncServer({
          registry,
          source: xds.source,
          store,
          logger: log,
          metrics,
          authorize: g0 ? relayAuthorizer(g0) : undefined,
          credentials: g0 ? { snapshotJson: () => JSON.stringify(g0.credentialSnapshot()), onChange: (l) => g0.onCredentialsChanged(l) } : undefined,
        });
    if (sync) {
      const svc = sync.service();
      xds.server.addService(svc.definition, svc.implementation);
    }
    const xdsHost = bootstrapXdsHost(opts.host, opts.advertiseAddress);
    if (!regional) {
      // Bootstraps name this address, never the request's Host header; a guessed one deserves a warning.
      const guessed = xdsHost.source === 'interface' || xdsHost.source === 'loopback';
      const line = { xdsHost: xdsHost.host, from: xdsHost.source };
      if (guessed) log.warn(line, `bootstraps name ${xdsHost.host} as this xDS server (--host ${opts.host} is a wildcard); set --advertise-address to choose`);
      else log.info(line, 'bootstraps name this xDS server address');
    }
    const tier = new ServerTierAdmin({
      registry,
      role: opts.role,
      xdsPort: () => boundXdsPort,
      xdsHost: xdsHost.host,
      upstreams: opts.upstreams ?? [],
      relay: relay && outbox ? { tier: relay, outbox, relayId } : undefined,
      sync,
      // Secure mode: Envoy bootstraps get mTLS, gRPC ones the plaintext listener (0 until it listens, and while stopping).
      security: opts.insecure ? null : { plaintextHost: opts.xdsPlaintextHost, plaintextPort: () => (opts.xdsPlaintextPort === null ? null : ready ? xdsPlaintextPort : 0) },
    });
    const mesh = new XdsMeshAdmin(xds, registry, store);
    const xdsRef = xds;
    const closeStreams = (kind: 'node' | 'relay', id: string): number =>
      kind === 'node' ? xdsRef.server.endStreamsOf(id, grpc.status.PERMISSION_DENIED, `node "${id}" was revoked`) : (sync?.endSessionsOf(id, `relay "${id}" was revoked`) ?? 0);
    if (guard) guard.onRevoked((identity) => closeStreams(identity.kind, identity.id));
    relaySec?.onRevoked((kind, id) => closeStreams(kind, id));
    const auth = authn ? { guard: authn, authority: guard, metricsAccess: opts.metricsAccess, closeStreams } : undefined;
    const app = createApp({ registry, metrics, logger: log.child({ component: 'api' }), apiToken: opts.apiToken, isReady: () => ready, mesh, tier, auth });
    const handler = withHeartbeatFastPath(app, { registry, apiToken: opts.apiToken, logger: log.child({ component: 'api' }), guard: authn });
    if (serverTls) {
      const secure = https.createServer({ keepAliveTimeout: 30_000, ...contextOf(serverTls()), requestCert: true, rejectUnauthorized: false }, handler);
      // A connection's client certificate is read once (api/auth.ts): it may not change by renegotiation.
      secure.on('secureConnection', (socket) => socket.disableRenegotiation());
      onTlsChanged((t) => {
        secure.setSecureContext(contextOf(t));
        credentials?.renew(t);
      });
      httpServer = secure;
    } else {
      httpServer = http.createServer({ keepAliveTimeout: 30_000 }, handler);
    }
    const httpPort = await listen(httpServer, opts.host, opts.httpPort);
    const xdsPort = await xds.start(opts.host, opts.xdsPort);
    const xdsPlaintextPort = opts.xdsPlaintextPort !== null ? await xds.server.startPlaintext(opts.xdsPlaintextHost, opts.xdsPlaintextPort) : null;
    if (xdsPlaintextPort !== null && authn) {
      log.warn(
        { host: opts.xdsPlaintextHost, port: xdsPlaintextPort },
        'plaintext xDS listener for proxyless gRPC: streams need the node credential, which travels unencrypted; keep it on loopback or a network you trust (docs/SECURITY.md)',
      );
    }
    boundHttpPort = httpPort;
    boundXdsPort = xdsPort;
    boundPlaintextPort = xdsPlaintextPort;
    const relayTier = relay as RelayTier | null;
    if (relayTier) await relayTier.start();

    ready = true;
    if (guard) announceAdminToken(guard, httpPort);
    log.info({ host: opts.host, httpPort, xdsPort, xdsPlaintextPort, secure: authn !== null, role: opts.role, relayId: regional ? relayId() : undefined }, 'listening');
    if (opts.readyFile) writeReadyFile(opts.readyFile, { httpPort, xdsPort, xdsPlaintextPort, secure: authn !== null });

    const reg = registry;
    const server = httpServer;
    const xdsComp = xds;
    let closing: Promise<void> | null = null;
    const g = guard;
    return {
      httpPort,
      xdsPort,
      xdsPlaintextPort,
      guard: g,
      registry: reg,
      xds: xdsComp,
      metrics,
      logger: log,
      relay: relayTier,
      close: () => (closing ??= shutdown({ log, server, xds: xdsComp, registry: reg, store, relay: relayTier, guard: g, relaySec, setNotReady: () => (ready = false) })),
    };
  } catch (err) {
    await Promise.allSettled([httpServer ? closeHttp(httpServer, 0) : Promise.resolve(), xds ? xds.close() : Promise.resolve(), registry ? registry.close() : Promise.resolve()]);
    guard?.close();
    relaySec?.close();
    await store.close().catch(() => undefined);
    throw err;
  }
}

/** Whether a relay's plaintext listener is reachable at its advertised address (a wildcard bind, or that very address). */
function plaintextPublished(opts: ServerOptions): boolean {
  const h = opts.xdsPlaintextHost;
  return h === '0.0.0.0' || h === '::' || h === (opts.advertiseAddress ?? opts.host);
}

interface ShutdownParts {
  log: Logger;
  server: http.Server;
  xds: XdsComponent;
  registry: Registry;
  store: Store;
  relay: RelayTier | null;
  guard: Guard | null;
  relaySec: RelaySecurity | null;
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
  await Promise.all([httpClosed, p.xds.close(), p.relay?.close()]);
  p.guard?.close();
  p.relaySec?.close();
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
function writeReadyFile(file: string, ports: { httpPort: number; xdsPort: number; xdsPlaintextPort: number | null; secure: boolean }): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(ports));
  fs.renameSync(tmp, file);
}

/**
 * The weights configuration at start: the file (--weights-config) or the
 * defaults, then the override stored by PUT /v1/config/weights, if any.
 */
async function initialWeights(opts: ServerOptions, store: Store, log: Logger): Promise<WeightsConfig> {
  let base: WeightsConfig = DEFAULT_WEIGHTS_CONFIG;
  if (opts.weightsConfig) {
    const r = loadWeightsConfigFile(opts.weightsConfig);
    if (!r.ok) throw new Error(`--weights-config ${opts.weightsConfig}: ${r.error.field ? `${r.error.field}: ` : ''}${r.error.message}`);
    base = r.config;
    log.info({ file: opts.weightsConfig }, 'weights configuration loaded');
  }
  const stored = await store.getSetting<unknown>(WEIGHTS_KV_KEY);
  if (stored === undefined) return base;
  const r = parseWeightsConfig(stored, base);
  if (!r.ok) {
    log.warn({ error: r.error }, 'ignoring the stored weights override: it no longer validates');
    return base;
  }
  log.info('weights override from the database applied (set by PUT /v1/config/weights)');
  return r.config;
}
