/**
 * Demo echo backend: serves edgexds.demo.v1.Echo and grpc.health.v1.Health,
 * registers with the edge-xds REST API and heartbeats (see registry-client).
 */
import os from 'node:os';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { DemoLogger } from './log';
import { silentDemoLogger } from './log';
import { ECHO_SERVICE, EchoReply, EchoRequest, loadEcho } from './proto';
import { Load, NetworkStats, RegistryClient, RegistryStats } from './registry-client';

export interface EchoBackendRegistryOptions {
  /** REST base URLs tried in order with failover: regional relays first, the global tier last. */
  urls: string[];
  heartbeatIntervalMs: number;
  /** Load reported in heartbeats (values 0..1); default: measured CPU and memory of this process. */
  load?: () => Load;
  /** Network stats reported in heartbeats; default: measured heartbeat round trips. */
  network?: () => NetworkStats;
  apiToken?: string;
  /** Secure mode: CA bundle for https:// URLs (and optionally a client certificate). */
  tls?: { ca: string; cert?: string; key?: string };
  requestTimeoutMs?: number;
}

export interface EchoBackendOptions {
  host: string;
  /** 0 = ephemeral. */
  port: number;
  nodeId: string;
  region: string;
  zone: string;
  subZone?: string;
  location: { lat: number; lon: number };
  /** Artificial delay per request (ms); setLatency changes it at runtime. */
  latencyMs?: number;
  /**
   * Network distance modelled as extra delay by where the caller is (metadata
   * x-client-region / x-client-zone, sent by the loadgen's --client-locality):
   * same zone, same region, other region. Added to latencyMs; callers that
   * do not say where they are get `region`.
   */
  latencyByDistance?: { zone: number; region: number; remote: number };
  /** Service name registered (default 'echo'). */
  serviceName?: string;
  /** IP registered as the node address (default: host if it is a specific IP, else the first non-internal IPv4). */
  advertiseAddress?: string;
  /** Port registered for the service (default: the bound port; differs behind a port mapping). */
  advertisePort?: number;
  capacity?: { cpu?: number; memoryMb?: number; maxRps?: number };
  labels?: Record<string, string>;
  registry?: EchoBackendRegistryOptions;
  logger?: DemoLogger;
}

export interface EchoBackend {
  port: number;
  /** host:port the server listens on. */
  address: string;
  /** The IP registered with the control plane. */
  advertiseAddress: string;
  /** Resolves once registered (immediately without a registry). */
  registered: Promise<void>;
  /** Requests served so far. */
  served(): number;
  registryStats(): RegistryStats | null;
  setLatency(ms: number): void;
  /** Fixes the reported load (overrides registry.load) until setLoad(null). */
  setLoad(load: Load | null): void;
  /** Health service status: NOT_SERVING makes health checkers drop this backend. */
  setServing(serving: boolean): void;
  stopHeartbeats(): void;
  resumeHeartbeats(): void;
  /** DELETE /v1/nodes/{id}; resolves with the HTTP status (0 without a registry). */
  deregister(): Promise<number>;
  /** Stops heartbeats and the server (no deregistration: use deregister() for a graceful exit). */
  close(): Promise<void>;
}

export async function startEchoBackend(opts: EchoBackendOptions): Promise<EchoBackend> {
  const log = opts.logger ?? silentDemoLogger;
  let latencyMs = checkLatency(opts.latencyMs ?? 0);
  let served = 0;
  const subZone = opts.subZone ?? '';
  const matrix = opts.latencyByDistance;
  if (matrix) for (const k of ['zone', 'region', 'remote'] as const) checkLatency(matrix[k]);
  const distanceDelay = (md: grpc.Metadata): number => {
    if (!matrix) return 0;
    const region = md.get('x-client-region')[0];
    const zone = md.get('x-client-zone')[0];
    if (region === undefined) return matrix.region;
    if (String(region) !== opts.region) return matrix.remote;
    return zone !== undefined && String(zone) === opts.zone ? matrix.zone : matrix.region;
  };
  const { service } = loadEcho();
  const server = new grpc.Server();
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      const t0 = performance.now();
      const delay = latencyMs + distanceDelay(call.metadata);
      const reply = (): void => {
        served++;
        cb(null, {
          message: call.request.message ?? '',
          nodeId: opts.nodeId,
          region: opts.region,
          zone: opts.zone,
          subZone,
          serverProcessingMs: Math.round((performance.now() - t0) * 1000) / 1000,
          sentAtMs: call.request.sentAtMs ?? 0,
        });
      };
      if (delay > 0) setTimeout(reply, delay);
      else reply();
    },
  });
  const health = new HealthImplementation({ '': 'SERVING', [ECHO_SERVICE]: 'SERVING' });
  health.addToServer(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const advertiseAddress = opts.advertiseAddress ?? defaultAdvertiseAddress(opts.host);
  log.info({ nodeId: opts.nodeId, port, advertiseAddress }, 'echo backend listening');

  let fixedLoad: Load | null = null;
  const cpu = cpuSampler();
  const load = (): Load => fixedLoad ?? opts.registry?.load?.() ?? { cpu: cpu(), memory: process.memoryUsage().rss / os.totalmem(), network: 0 };

  let registry: RegistryClient | null = null;
  if (opts.registry) {
    const r = opts.registry;
    registry = new RegistryClient({
      urls: r.urls,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      apiToken: r.apiToken,
      tls: r.tls,
      requestTimeoutMs: r.requestTimeoutMs,
      network: r.network,
      logger: log,
      load,
      registration: () => ({
        id: opts.nodeId,
        role: 'edge',
        region: opts.region,
        zone: opts.zone,
        subZone,
        location: opts.location,
        address: advertiseAddress,
        services: [{ name: opts.serviceName ?? 'echo', port: opts.advertisePort ?? port, protocol: 'grpc' }],
        capacity: opts.capacity ?? {},
        labels: opts.labels ?? {},
      }),
    });
    registry.start();
  }

  let closing: Promise<void> | null = null;
  return {
    port,
    address: `${opts.host}:${port}`,
    advertiseAddress,
    registered: registry ? registry.registered : Promise.resolve(),
    served: () => served,
    registryStats: () => (registry ? { ...registry.stats } : null),
    setLatency: (ms) => {
      latencyMs = checkLatency(ms);
    },
    setLoad: (l) => {
      fixedLoad = l;
    },
    setServing: (serving) => {
      const s = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', s);
      health.setStatus(ECHO_SERVICE, s);
    },
    stopHeartbeats: () => registry?.stopHeartbeats(),
    resumeHeartbeats: () => registry?.resumeHeartbeats(),
    deregister: async () => (registry ? registry.deregister() : 0),
    close: () =>
      (closing ??= (async () => {
        registry?.close();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2000);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
      })()),
  };
}

function checkLatency(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`latencyMs: must be a number >= 0, got ${ms}`);
  return ms;
}

/** `host` when it is a specific IP; else the first non-internal IPv4 (127.0.0.1 if none). */
export function defaultAdvertiseAddress(host: string): string {
  if (isIP(host) !== 0 && host !== '0.0.0.0' && host !== '::') return host;
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** CPU share of this process since the previous call (0..1 of one core). */
function cpuSampler(): () => number {
  let last = process.cpuUsage();
  let lastAt = performance.now();
  return () => {
    const now = performance.now();
    const u = process.cpuUsage(last);
    const share = (u.user + u.system) / 1000 / Math.max(1, now - lastAt);
    last = process.cpuUsage();
    lastAt = now;
    return Math.min(1, share);
  };
}
