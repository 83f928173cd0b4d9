/**
 * Shared pieces of the edge-routing end-to-end tests (not a test file): the
 * real CLI server in secure mode, gRPC echo backends enrolled and then
 * registered and heartbeating over HTTPS with their own node tokens and fixed
 * loads and network stats (so the computed shares are deterministic),
 * @grpc/grpc-js-xds load generators as child processes (one per client
 * locality, each enrolled, on the plaintext xDS listener with its node
 * credential), and share arithmetic.
 */
import { startCliServer, type CliServer } from '../helpers/cli-server';
import { waitFor } from '../helpers/wait';
import { tlsRequest, type TlsResponse } from '../helpers/tls-client';
import { startEchoBackend, spawnLoadgen, type EchoBackend, type LoadgenHandle, type ReadyRecord, type WindowRecord } from '../../src/demo';
import { NODE_CREDENTIAL_METADATA_KEY, renderGrpcBootstrap } from '../../src/bootstrap';
import { makeKeyAndCsr } from '../../src/security';
import type { ExplainRow } from '../../src/model';

/** A REST call as the admin (the server's CA and admin token). */
function admin<T = unknown>(server: CliServer, path: string, opts: { method?: string; body?: unknown } = {}): Promise<TlsResponse<T>> {
  return tlsRequest<T>(server.baseUrl, path, { ca: server.caPem(), token: server.adminToken(), ...opts });
}

/** Enrolls node `id` (join token from the admin, key made here) and returns its node token. */
export async function enrollNode(server: CliServer, id: string): Promise<string> {
  const t = await admin<{ token: string }>(server, '/v1/tokens', { body: { kind: 'node', node: id } });
  if (t.status !== 201) throw new Error(`POST /v1/tokens ${id}: HTTP ${t.status} ${t.text}`);
  const { csrPem } = await makeKeyAndCsr({ kind: 'node', id });
  const e = await tlsRequest<{ nodeToken: string }>(server.baseUrl, '/v1/enroll', { ca: server.caPem(), body: { kind: 'node', id, csr: csrPem, token: t.json.token } });
  if (e.status !== 201) throw new Error(`POST /v1/enroll ${id}: HTTP ${e.status} ${e.text}`);
  return e.json.nodeToken;
}

export interface SiteSpec {
  id: string;
  region: string;
  zone: string;
  lat: number;
  lon: number;
  maxRps: number;
  /** Reported cpu load (memory and network report 0.1). */
  cpu: number;
}

export interface Fleet {
  server: CliServer;
  backends: Map<string, EchoBackend>;
  close(): Promise<void>;
}

const NETWORK = { latencyMs: 5, jitterMs: 1, packetLoss: 0 };

/** The real CLI server (heartbeat interval `hbMs`, coalescing 20 ms) and one echo backend per site, all healthy. */
export async function startFleet(sites: readonly SiteSpec[], hbMs: number): Promise<Fleet> {
  const server = await startCliServer({
    secure: true,
    // --db-sync normal: heartbeat commits without fsync, so a busy disk does not delay them (durability is not under test here).
    args: ['--heartbeat-interval', `${hbMs}ms`, '--coalesce', '20ms', '--weight-push-interval', '100ms', '--db-sync', 'normal', '--xds-plaintext-port', '0'],
  });
  const backends = new Map<string, EchoBackend>();
  const close = async (): Promise<void> => {
    for (const b of backends.values()) await b.close();
    await server.stop();
  };
  try {
    for (const s of sites) {
      backends.set(
        s.id,
        await startEchoBackend({
          host: '127.0.0.1',
          port: 0,
          nodeId: s.id,
          region: s.region,
          zone: s.zone,
          location: { lat: s.lat, lon: s.lon },
          capacity: { maxRps: s.maxRps },
          registry: {
            urls: [server.baseUrl],
            apiToken: await enrollNode(server, s.id),
            tls: { ca: server.caPem() },
            heartbeatIntervalMs: hbMs,
            load: () => ({ cpu: s.cpu, memory: 0.1, network: 0.1 }),
            network: () => NETWORK,
          },
        }),
      );
    }
    await waitFor(async () => (await healthyIds(server)).length === sites.length, {
      timeoutMs: 15_000,
      intervalMs: 50,
      message: `${sites.length} healthy backends`,
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { server, backends, close };
}

export async function healthyIds(server: CliServer): Promise<string[]> {
  const body = (await admin<{ nodes?: Array<{ id: string }> } | Array<{ id: string }>>(server, '/v1/nodes?state=healthy')).json;
  const list = Array.isArray(body) ? body : (body.nodes ?? []);
  return list.map((n) => n.id);
}

/**
 * Health transitions (suspect/unhealthy) logged by the server since `since`
 * (ms). Unexpected ones mean heartbeats were late: on an overloaded machine a
 * stalled process, not the code under test; tests name them in their failures.
 */
export async function healthFlaps(server: CliServer, since: number): Promise<string[]> {
  const body = (await admin<{ events: Array<{ at: number; nodeId: string; type: string }> }>(server, '/v1/events?limit=1000')).json;
  return body.events.filter((e) => e.at >= since && (e.type === 'suspect' || e.type === 'unhealthy')).map((e) => `${e.nodeId} ${e.type} at +${e.at - since} ms`);
}

/** A grpc-js-xds client process placed at (region, zone) by its bootstrap's node.locality; enrolled, on the plaintext listener with its node token. */
export async function startClient(server: CliServer, nodeId: string, region: string, zone: string, rate: number, durationMs: number): Promise<LoadgenHandle> {
  const bootstrap = renderGrpcBootstrap({
    nodeId,
    locality: { region, zone, subZone: '' },
    xdsServers: [{ host: '127.0.0.1', port: server.xdsPlaintextPort! }],
    metadata: { [NODE_CREDENTIAL_METADATA_KEY]: await enrollNode(server, nodeId) },
  });
  return spawnLoadgen({ bootstrap, target: 'xds:///echo', rate, durationMs, reportEveryMs: 100, deadlineMs: 5000, warmupMs: 15_000 });
}

/** Waits until the client has started its clock (warm-up done: it reached a backend). */
export async function clientStarted(lg: LoadgenHandle): Promise<void> {
  const ready = await lg.waitFor<ReadyRecord>((r) => r.type === 'ready', 25_000);
  if (!ready.ok) throw new Error(`loadgen not ready: ${ready.error}\n${lg.stderr()}`);
  await lg.waitFor((r) => r.type === 'start', 5000);
}

/** Waits for a window in which every one of `ids` served (all subchannels up: shares are meaningful from then on). */
export async function allServing(lg: LoadgenHandle, ids: readonly string[], timeoutMs = 15_000): Promise<void> {
  await lg.waitFor((r) => r.type === 'window' && ids.every((id) => (r.counts[id] ?? 0) > 0), timeoutMs);
}

/** The table a proxy at (region, zone) receives, from the REST API. */
export async function table(server: CliServer, region: string, zone: string): Promise<ExplainRow[]> {
  const r = await admin<{ endpoints: ExplainRow[] }>(server, `/v1/services/echo/endpoints?region=${region}&zone=${zone}&kind=grpc`);
  if (r.status !== 200) throw new Error(`endpoints table: HTTP ${r.status} ${r.text}`);
  return r.json.endpoints;
}

export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Percent of the RPCs each node served. */
export function sharesPct(counts: Record<string, number>): Record<string, number> {
  const n = total(counts);
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, n === 0 ? 0 : (100 * v) / n]));
}

/** Sum of counts of the nodes whose id starts with `prefix`. */
export function countOf(counts: Record<string, number>, prefix: string): number {
  return Object.entries(counts)
    .filter(([k]) => k.startsWith(prefix))
    .reduce((a, [, v]) => a + v, 0);
}

/** Windows received (wall clock of arrival in this process) from now on. */
export function recordWindows(lg: LoadgenHandle): { list: Array<{ at: number; w: WindowRecord }>; stop(): void } {
  const list: Array<{ at: number; w: WindowRecord }> = [];
  const on = (w: WindowRecord): void => {
    list.push({ at: Date.now(), w });
  };
  lg.events.on('window', on);
  return { list, stop: () => lg.events.off('window', on) };
}

export const fmt = (o: Record<string, number>): string =>
  JSON.stringify(
    Object.fromEntries(
      Object.entries(o)
        .sort()
        .map(([k, v]) => [k, Math.round(v * 10) / 10]),
    ),
  );
