/**
 * The proxyless data plane for real: @grpc/grpc-js-xds, bootstrapped at the
 * edge-xds server process, calls xds:///echo and reaches real gRPC backends
 * that registered and heartbeat over REST.
 *
 * grpc-js-xds reads its bootstrap once per process; this file is its own
 * process under node --test, so the client lives here.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startCliServer, type CliServer } from '../helpers/cli-server';
import { startEchoBackend, type EchoBackend } from '../../src/demo/backend';
import { loadEcho, type EchoClient } from '../../src/demo/proto';
import { renderGrpcBootstrap } from '../../src/bootstrap';
import { waitFor, sleep } from '../helpers/wait';

// Load grpc-js-xds (and its protos) before any backend runs in this process:
// loading blocks the event loop long enough to delay the backends' heartbeats.
// The bootstrap is read later, when the first xds: channel is created.

const grpcXds = require('@grpc/grpc-js-xds') as { register(): void };
grpcXds.register();

const HEARTBEAT_MS = 300;
let server: CliServer;
const backends: EchoBackend[] = [];
let client: EchoClient;

before(async () => {
  server = await startCliServer({ args: ['--heartbeat-interval', `${HEARTBEAT_MS}ms`, '--coalesce', '20ms'] });
  for (let i = 0; i < 3; i++) {
    backends.push(
      await startEchoBackend({
        host: '127.0.0.1',
        port: 0,
        nodeId: `site-${i}`,
        region: 'cn-east',
        zone: 'shanghai-a',
        location: { lat: 31.23, lon: 121.47 },
        capacity: { maxRps: 500 },
        registry: {
          urls: [server.baseUrl],
          heartbeatIntervalMs: HEARTBEAT_MS,
          load: () => ({ cpu: 0.2, memory: 0.2, network: 0.1 }),
          network: () => ({ latencyMs: 5, jitterMs: 1, packetLoss: 0 }),
        },
      }),
    );
  }
  await waitFor(
    async () => {
      const r = await fetch(`${server.baseUrl}/v1/nodes?state=healthy`);
      const body = (await r.json()) as { nodes?: unknown[] } | unknown[];
      const list = Array.isArray(body) ? body : (body.nodes ?? []);
      return list.length === 3;
    },
    { timeoutMs: 10_000, message: 'three healthy backends' },
  );
  const bootstrap = renderGrpcBootstrap({
    nodeId: 'e2e-client',
    locality: { region: 'cn-east', zone: 'shanghai-a', subZone: '' },
    xdsServers: [{ host: '127.0.0.1', port: server.xdsPort }],
  });
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(bootstrap);
  client = new (loadEcho().Client)('xds:///echo', grpc.credentials.createInsecure());
});

after(async () => {
  client?.close();
  for (const b of backends) await b.close();
  await server?.stop();
});

function call(): Promise<{ nodeId: string } | { error: string }> {
  return new Promise((resolve) => {
    client.Echo({ message: 'hi' }, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, reply) => {
      resolve(err ? { error: `${err.code} ${err.details}` } : { nodeId: reply!.nodeId });
    });
  });
}

test('grpc-js-xds client reaches every registered backend through xds:///echo', async () => {
  const counts: Record<string, number> = {};
  const errors: string[] = [];
  for (let i = 0; i < 300; i++) {
    const r = await call();
    if ('error' in r) errors.push(r.error);
    else counts[r.nodeId] = (counts[r.nodeId] ?? 0) + 1;
  }
  assert.deepEqual(errors, []);
  assert.deepEqual(Object.keys(counts).sort(), ['site-0', 'site-1', 'site-2']);
  for (const n of Object.values(counts)) assert.ok(n >= 60, `each backend gets a fair share: ${JSON.stringify(counts)}`);
  // The proxy shows up as connected, with a config dump of what it ACKed.
  const dump = (await (await fetch(`${server.baseUrl}/v1/config_dump/e2e-client`)).json()) as { node: { userAgentName: string }; types: Record<string, { state: string }> };
  assert.match(dump.node.userAgentName, /gRPC/);
  for (const t of ['listener', 'route', 'cluster', 'endpoint']) assert.equal(dump.types[t]?.state, 'acked', `${t} acked`);
  const { connections } = (await (await fetch(`${server.baseUrl}/v1/xds/connections`)).json()) as {
    connections: Array<{ node: string; kind: string; protocol: string; view: string }>;
  };
  const mine = connections.find((c) => c.node === 'e2e-client');
  assert.ok(mine, 'the client is listed among the xDS connections');
  assert.equal(mine.kind, 'grpc');
  assert.equal(mine.protocol, 'sotw');
  assert.match(mine.view, /^grpc\|cn-east\|shanghai-a\|/);
  const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
  assert.match(metrics, /edge_xds_streams\{protocol="sotw",service="ads",client_kind="grpc"\} 1/);
  assert.match(metrics, /edge_xds_responses_total\{protocol="sotw",type="endpoint",client_kind="grpc"\} [1-9]/);
  assert.match(metrics, /edge_xds_push_ack_seconds_count\{type="endpoint"\} [1-9]/);
});

test('a backend that stops heartbeating stops receiving RPCs within 3 heartbeat intervals + 1 s, with no failed RPC', async () => {
  const victim = backends[0]!;
  victim.stopHeartbeats();
  const stoppedAt = Date.now();
  let lastServedByVictim = 0;
  const errors: string[] = [];
  const deadline = stoppedAt + 3 * HEARTBEAT_MS + 1000 + 1500;
  while (Date.now() < deadline) {
    const r = await call();
    if ('error' in r) errors.push(r.error);
    else if (r.nodeId === 'site-0') lastServedByVictim = Date.now();
    await sleep(5);
  }
  const movedAfterMs = lastServedByVictim - stoppedAt;
  assert.ok(movedAfterMs <= 3 * HEARTBEAT_MS + 1000, `site-0 still served ${movedAfterMs} ms after its last heartbeat`);
  assert.deepEqual(errors, [], 'no RPC fails while traffic moves');
  // It comes back once it heartbeats again.
  victim.resumeHeartbeats();
  await waitFor(
    async () => {
      const r = await call();
      return 'nodeId' in r && r.nodeId === 'site-0';
    },
    { timeoutMs: 5000, intervalMs: 1, message: 'site-0 back in traffic' },
  );
});

function metricValue(text: string, re: RegExp): number {
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

test('an EDS change to one cluster is pushed alone, and grpc-js-xds keeps the other cluster (SotW EDS is not full-state)', async () => {
  const other = await startEchoBackend({
    host: '127.0.0.1',
    port: 0,
    nodeId: 'site-b',
    serviceName: 'echo-b',
    region: 'cn-east',
    zone: 'shanghai-a',
    location: { lat: 31.23, lon: 121.47 },
    capacity: { maxRps: 500 },
    registry: {
      urls: [server.baseUrl],
      heartbeatIntervalMs: HEARTBEAT_MS,
      load: () => ({ cpu: 0.2, memory: 0.2, network: 0.1 }),
      network: () => ({ latencyMs: 5, jitterMs: 1, packetLoss: 0 }),
    },
  });
  const clientB = new (loadEcho().Client)('xds:///echo-b', grpc.credentials.createInsecure());
  const callB = (): Promise<string> =>
    new Promise((resolve) => {
      clientB.Echo({ message: 'hi' }, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, reply) => resolve(err ? `error ${err.code} ${err.details}` : reply!.nodeId));
    });
  const victim = backends[1]!;
  try {
    await waitFor(async () => (await callB()) === 'site-b', { timeoutMs: 10_000, intervalMs: 50, message: 'echo-b reachable' });
    // Both clusters are held; from here on, count EDS responses and the assignments they carry.
    await sleep(3 * HEARTBEAT_MS);
    const m0 = await (await fetch(`${server.baseUrl}/metrics`)).text();
    const responsesRe = /edge_xds_responses_total\{protocol="sotw",type="endpoint",client_kind="grpc"\} (\d+)/;
    const carriedRe = /edge_xds_response_resources_total\{protocol="sotw",type="endpoint"\} (\d+)/;
    victim.stopHeartbeats();
    const errorsB: string[] = [];
    let lastVictim = Date.now();
    const until = Date.now() + 3 * HEARTBEAT_MS + 2500;
    while (Date.now() < until) {
      const r = await call();
      if ('nodeId' in r && r.nodeId === 'site-1') lastVictim = Date.now();
      const b = await callB();
      if (b !== 'site-b') errorsB.push(b);
      if (Date.now() - lastVictim > 800) break;
      await sleep(5);
    }
    assert.ok(Date.now() - lastVictim > 800, 'site-1 left echo');
    assert.deepEqual(errorsB, [], 'echo-b kept its endpoint while echo changed');
    const m1 = await (await fetch(`${server.baseUrl}/metrics`)).text();
    const responses = metricValue(m1, responsesRe) - metricValue(m0, responsesRe);
    const carried = metricValue(m1, carriedRe) - metricValue(m0, carriedRe);
    assert.ok(responses >= 1, 'the change was pushed');
    // A full SotW set would carry 2 assignments per response; the changed cluster alone carries 1.
    assert.ok(carried < 2 * responses, `EDS responses carried only the changed assignment (${carried} assignments in ${responses} responses)`);
    const dump = (await (await fetch(`${server.baseUrl}/v1/config_dump/e2e-client`)).json()) as {
      types: Record<string, { state: string; lastError: unknown; resources: Array<{ name: string }> }>;
    };
    assert.equal(dump.types.endpoint?.state, 'acked');
    assert.equal(dump.types.endpoint?.lastError, null);
    assert.deepEqual(dump.types.endpoint?.resources.map((r) => r.name).sort(), ['echo', 'echo-b']);
    for (let i = 0; i < 20; i++) assert.equal(await callB(), 'site-b');
  } finally {
    victim.resumeHeartbeats();
    clientB.close();
    await other.close();
  }
});
