/**
 * Proxyless gRPC in secure mode, with real clients: a secure server (HTTPS,
 * TLS xDS) with its plaintext xDS listener; gRPC echo backends enrolled over
 * REST, registered and heartbeating over HTTPS with their own node tokens;
 * a @grpc/grpc-js-xds client bootstrapped with GET /v1/bootstrap/{id}?format=grpc
 * fetched with its own node token, whose RPCs reach the backends.
 *
 * Negative, each in its own grpc-js-xds process (the bootstrap is read once
 * per process): the same bootstrap with another node's token, and with no
 * credential. Neither gets any config (no RPC succeeds, no stream is
 * admitted), and the server counts the refusals in
 * edge_xds_auth_denials_total{channel="xds-plaintext"} as wrong-identity and
 * missing-credential.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startEchoBackend, spawnLoadgen, type EchoBackend, type LoadgenHandle, type ReadyRecord, type SummaryRecord } from '../../src/demo';
import { loadEcho, type EchoClient } from '../../src/demo/proto';
import { NODE_CREDENTIAL_KEY } from '../../src/xds';
import { startTestServer, type TestServer } from '../helpers/in-process';
import { authDenials, enrollNode, secureServer, type EnrolledNode, type SecureServer } from '../helpers/https';
import { waitFor, sleep } from '../helpers/wait';

// Load grpc-js-xds before the backends run: loading blocks the event loop long enough to delay heartbeats.
const grpcXds = require('@grpc/grpc-js-xds') as { register(): void };
grpcXds.register();

const HEARTBEAT_MS = 300;
const SITE = { region: 'cn-east', zone: 'shanghai-a', location: { lat: 31.23, lon: 121.47 } };

let srv: TestServer;
let s: SecureServer;
const backends: EchoBackend[] = [];
const sites: EnrolledNode[] = [];
let clientNode: EnrolledNode;
let bootstrap: { xds_servers: Array<{ server_uri: string }>; node: { id: string; metadata?: Record<string, string> } };
let client: EchoClient;
const loadgens: LoadgenHandle[] = [];

/** Heartbeats of every site, each over HTTPS with the site's own node token. */
const beats = { ok: 0, failed: [] as string[], stop: false };
async function heartbeatLoop(node: EnrolledNode): Promise<void> {
  while (!beats.stop) {
    const started = Date.now();
    try {
      const r = await s.request(`/v1/nodes/${node.id}/heartbeat`, {
        token: node.nodeToken,
        body: { load: { cpu: 0.2, memory: 0.2, network: 0.1 }, network: { latencyMs: 5, jitterMs: 1, packetLoss: 0 } },
        timeoutMs: 2000,
      });
      if (r.status === 204 || r.status === 200) beats.ok++;
      else beats.failed.push(`${node.id}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    } catch (err) {
      beats.failed.push(`${node.id}: ${(err as Error).message}`);
    }
    await sleep(Math.max(0, started + HEARTBEAT_MS - Date.now()));
  }
}
const loops: Array<Promise<void>> = [];

before(async () => {
  srv = await startTestServer({ insecure: false, xdsPlaintextPort: 0, heartbeatIntervalMs: HEARTBEAT_MS, coalesceMs: 20 });
  s = secureServer(srv);
  for (let i = 0; i < 3; i++) {
    const node = await enrollNode(s, `site-${i}`);
    sites.push(node);
    const b = await startEchoBackend({ host: '127.0.0.1', port: 0, nodeId: node.id, ...SITE, capacity: { maxRps: 500 } });
    backends.push(b);
    const reg = await s.request('/v1/nodes', {
      token: node.nodeToken,
      body: { id: node.id, role: 'edge', ...SITE, subZone: '', address: '127.0.0.1', services: [{ name: 'echo', port: b.port, protocol: 'grpc' }], capacity: { maxRps: 500 } },
    });
    assert.equal(reg.status, 201, reg.text);
    loops.push(heartbeatLoop(node));
  }
  // The client is a node too: enrolled, registered (no services), so that it has a bootstrap and a token of its own.
  clientNode = await enrollNode(s, 'e2e-client');
  const reg = await s.request('/v1/nodes', { token: clientNode.nodeToken, body: { id: 'e2e-client', role: 'edge', ...SITE, subZone: '', address: '127.0.0.1', services: [] } });
  assert.equal(reg.status, 201, reg.text);
  await waitFor(
    async () => {
      const r = await s.request<{ nodes: Array<{ id: string }> }>('/v1/nodes?state=healthy', { token: s.adminToken });
      return r.status === 200 && r.json.nodes.filter((n) => n.id.startsWith('site-')).length === 3;
    },
    { timeoutMs: 10_000, intervalMs: 50, message: 'three healthy backends' },
  );
  const b = await s.request<typeof bootstrap>('/v1/bootstrap/e2e-client?format=grpc', { token: clientNode.nodeToken });
  assert.equal(b.status, 200, b.text);
  bootstrap = b.json;
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = b.text;
  client = new (loadEcho().Client)('xds:///echo', grpc.credentials.createInsecure());
});

after(async () => {
  client?.close();
  await Promise.all(loadgens.map((l) => l.kill()));
  beats.stop = true;
  await Promise.all(loops);
  for (const b of backends) await b.close();
  await srv?.stop();
});

function call(deadlineMs = 2000): Promise<{ nodeId: string } | { error: string }> {
  return new Promise((resolve) => {
    client.Echo({ message: 'hi' }, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, reply) => {
      resolve(err ? { error: `${err.code} ${err.details}` } : { nodeId: reply!.nodeId });
    });
  });
}

test("the gRPC bootstrap fetched with the client's own token names the plaintext listener and carries that token", () => {
  assert.equal(bootstrap.xds_servers[0]!.server_uri, `ipv4:127.0.0.1:${srv.xdsPlaintextPort}`);
  assert.equal(bootstrap.node.id, 'e2e-client');
  assert.deepEqual(bootstrap.node.metadata, { [NODE_CREDENTIAL_KEY]: clientNode.nodeToken });
});

test('grpc-js-xds with that bootstrap reaches every backend through xds:///echo', async (t) => {
  // The first RPC waits for the xDS config (bounded); then 300 more, stopping at the first failures.
  let first: Awaited<ReturnType<typeof call>> = { error: 'none yet' };
  await waitFor(async () => 'nodeId' in (first = await call(3000)), {
    timeoutMs: 15_000,
    intervalMs: 100,
    message: `a first RPC through xds:///echo (last: ${JSON.stringify(first)})`,
  });
  const counts: Record<string, number> = {};
  const errors: string[] = [];
  const started = Date.now();
  for (let i = 0; i < 300 && errors.length < 5; i++) {
    const r = await call();
    if ('error' in r) errors.push(r.error);
    else counts[r.nodeId] = (counts[r.nodeId] ?? 0) + 1;
  }
  t.diagnostic(`300 RPCs in ${Date.now() - started} ms: ${JSON.stringify(counts)}`);
  assert.deepEqual(errors, []);
  assert.deepEqual(Object.keys(counts).sort(), ['site-0', 'site-1', 'site-2']);
  for (const n of Object.values(counts)) assert.ok(n >= 60, `each backend gets a fair share: ${JSON.stringify(counts)}`);
  // Its stream came in on the plaintext listener, authenticated by the token, and ACKed everything.
  const dump = await s.request<{ node: { userAgentName: string }; types: Record<string, { state: string }> }>('/v1/config_dump/e2e-client', { token: s.adminToken });
  assert.equal(dump.status, 200, dump.text);
  assert.match(dump.json.node.userAgentName, /gRPC/);
  for (const k of ['listener', 'route', 'cluster', 'endpoint']) assert.equal(dump.json.types[k]?.state, 'acked', `${k} acked`);
  assert.equal(await authDenials(s, 'xds-plaintext', 'wrong-identity'), 0);
  assert.equal(await authDenials(s, 'xds-plaintext', 'missing-credential'), 0);
  assert.deepEqual(beats.failed, [], 'every heartbeat with its own token was accepted');
  assert.ok(beats.ok >= 3);
});

test("a node's token acts for that node only: site-0's token cannot heartbeat site-1", async () => {
  const r = await s.request('/v1/nodes/site-1/heartbeat', { token: sites[0]!.nodeToken, body: { load: { cpu: 0.9 } } });
  assert.equal(r.status, 403, r.text);
});

/** A grpc-js-xds process with `b` as GRPC_XDS_BOOTSTRAP_CONFIG: waits (bounded) for a backend, then sends a few RPCs. */
async function runClientProcess(b: object): Promise<{ ready: ReadyRecord; summary: SummaryRecord }> {
  const lg = spawnLoadgen({ bootstrap: b, target: 'xds:///echo', rate: 20, durationMs: 1000, warmupMs: 3000, deadlineMs: 1000, reportEveryMs: 250 });
  loadgens.push(lg);
  try {
    const ready = await lg.waitFor<ReadyRecord>((r) => r.type === 'ready', 20_000);
    const summary = await lg.waitForSummary(20_000);
    return { ready, summary };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${lg.stderr()}`);
  } finally {
    await lg.kill();
  }
}

async function refusedCase(t: { diagnostic(m: string): void }, b: object, reason: 'wrong-identity' | 'missing-credential'): Promise<void> {
  const served0 = backends.map((x) => x.served());
  const denied0 = await authDenials(s, 'xds-plaintext', reason);
  const { ready, summary } = await runClientProcess(b);
  t.diagnostic(`ready: ${JSON.stringify(ready)}; summary: ok ${summary.ok}, failed ${summary.failed}, ${JSON.stringify(summary.errorSamples)}`);
  assert.equal(ready.ok, false, 'the client never got a config to reach a backend with');
  assert.equal(summary.ok, 0);
  assert.ok(summary.failed > 0, 'it did try');
  assert.deepEqual(
    backends.map((x) => x.served()),
    served0,
    'no backend served it',
  );
  await waitFor(async () => (await authDenials(s, 'xds-plaintext', reason)) > denied0, {
    timeoutMs: 5000,
    message: `edge_xds_auth_denials_total{channel="xds-plaintext",reason="${reason}"} to grow`,
  });
  // Only the client bootstrapped with its own token holds a stream for e2e-client.
  const conns = await s.request<{ connections: Array<{ node: string }> }>('/v1/xds/connections', { token: s.adminToken });
  assert.equal(conns.status, 200, conns.text);
  assert.equal(conns.json.connections.filter((c) => c.node === 'e2e-client').length, 1, JSON.stringify(conns.json.connections));
}

test("the same bootstrap with another node's token: no config, counted as wrong-identity", async (t) => {
  const stolen = structuredClone(bootstrap);
  stolen.node.metadata = { [NODE_CREDENTIAL_KEY]: sites[0]!.nodeToken };
  await refusedCase(t, stolen, 'wrong-identity');
});

test('the same bootstrap without a credential: no config, counted as missing-credential', async (t) => {
  const bare = structuredClone(bootstrap);
  delete bare.node.metadata;
  await refusedCase(t, bare, 'missing-credential');
});

test('the first client still works after the refused ones', async () => {
  for (let i = 0; i < 20; i++) {
    const r = await call();
    assert.ok('nodeId' in r, JSON.stringify(r));
  }
});
