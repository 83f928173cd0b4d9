/**
 * Demo echo backend: Echo + health over real gRPC on 127.0.0.1, registration
 * and heartbeats against the real edge-xds server (in process), heartbeat
 * failover from a closed port to the real server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { EchoBackend, EchoClient, EchoReply, ECHO_SERVICE, loadEcho, startEchoBackend } from '../../src/demo';
import { TestServer, eventually, request, startTestServer } from '../helpers';

interface NodeJson {
  id: string;
  state: string;
  address: string;
  services: Array<{ name: string; port: number; protocol: string }>;
  lastHeartbeat: { at: number; load: { cpu?: number; memory?: number } } | null;
}

function echo(client: EchoClient, message = 'hi'): Promise<EchoReply> {
  return new Promise((resolve, reject) =>
    client.Echo({ message, sentAtMs: Date.now() }, new grpc.Metadata(), { deadline: Date.now() + 3000 }, (err, reply) => (err ? reject(err) : resolve(reply as EchoReply))),
  );
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const base = { host: '127.0.0.1', port: 0, region: 'cn-east', zone: 'shanghai-a', location: { lat: 31.23, lon: 121.47 } };

describe('echo backend without a registry', () => {
  const backends: EchoBackend[] = [];
  const clients: grpc.Client[] = [];
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  test('two backends answer with their own identity and server-side time', async () => {
    backends.push(await startEchoBackend({ ...base, nodeId: 'site-a', subZone: 'rack-1' }));
    backends.push(await startEchoBackend({ ...base, nodeId: 'site-b', zone: 'shanghai-b', latencyMs: 40 }));
    const { Client } = loadEcho();
    const [a, b] = backends.map((be) => new Client(`127.0.0.1:${be.port}`, grpc.credentials.createInsecure()));
    clients.push(a, b);
    const ra = await echo(a, 'one');
    assert.deepEqual(
      { ...ra, serverProcessingMs: 0, sentAtMs: 0 },
      { message: 'one', nodeId: 'site-a', region: 'cn-east', zone: 'shanghai-a', subZone: 'rack-1', serverProcessingMs: 0, sentAtMs: 0 },
    );
    const rb = await echo(b);
    assert.equal(rb.nodeId, 'site-b');
    assert.equal(rb.zone, 'shanghai-b');
    assert.ok(rb.serverProcessingMs >= 39, `artificial latency shows in serverProcessingMs: ${rb.serverProcessingMs}`);
    assert.ok(rb.sentAtMs > 0, 'sentAtMs is echoed');
    assert.equal(backends[1].served(), 1);
  });

  test('setLatency changes the delay at runtime', async () => {
    const [, b] = clients as EchoClient[];
    backends[1].setLatency(0);
    const fast = await echo(b);
    assert.ok(fast.serverProcessingMs < 30, `no delay after setLatency(0): ${fast.serverProcessingMs}`);
    backends[1].setLatency(120);
    const t0 = Date.now();
    const slow = await echo(b);
    assert.ok(slow.serverProcessingMs >= 119 && Date.now() - t0 >= 119);
    assert.throws(() => backends[1].setLatency(-1), /latencyMs/);
  });

  test('serves grpc.health.v1 for the server and the Echo service; setServing flips it', async () => {
    const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
    const h = new Health(`127.0.0.1:${backends[0].port}`, grpc.credentials.createInsecure());
    clients.push(h);
    const check = (svc: string): Promise<string> =>
      new Promise((resolve, reject) =>
        (h as unknown as { Check(r: object, cb: (e: Error | null, r?: { status: string }) => void): void }).Check({ service: svc }, (e, r) =>
          e ? reject(e) : resolve(String(r?.status)),
        ),
      );
    assert.equal(await check(''), 'SERVING');
    assert.equal(await check(ECHO_SERVICE), 'SERVING');
    backends[0].setServing(false);
    assert.equal(await check(ECHO_SERVICE), 'NOT_SERVING');
    backends[0].setServing(true);
    assert.equal(await check(''), 'SERVING');
  });
});

describe('echo backend registering with the real edge-xds server', () => {
  let server: TestServer;
  const backends: EchoBackend[] = [];
  before(async () => {
    server = await startTestServer({ drainGraceMs: 200 });
  });
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await server?.stop();
  });

  const getNode = async (id: string): Promise<NodeJson | null> => {
    const res = await request<NodeJson>(server.baseUrl, `/v1/nodes/${id}`);
    return res.status === 200 ? res.json : null;
  };

  test('registers (address, echo service, grpc) and heartbeats with the load it is given', async () => {
    const be = await startEchoBackend({
      ...base,
      nodeId: 'reg-a',
      registry: { urls: [server.baseUrl], heartbeatIntervalMs: 100, load: () => ({ cpu: 0.25, memory: 0.5, network: 0.1 }) },
    });
    backends.push(be);
    await be.registered;
    const node = await getNode('reg-a');
    assert.ok(node);
    assert.equal(node.address, '127.0.0.1');
    assert.deepEqual(node.services, [{ name: 'echo', port: be.port, protocol: 'grpc' }]);
    const beat = await eventually(async () => {
      const n = await getNode('reg-a');
      return n?.lastHeartbeat && Date.now() - n.lastHeartbeat.at < 2000 ? n.lastHeartbeat : null;
    }, 5000);
    assert.equal(beat?.load.cpu, 0.25);
    be.setLoad({ cpu: 0.97, memory: 0.9, network: 0.8 });
    await eventually(async () => (await getNode('reg-a'))?.lastHeartbeat?.load.cpu === 0.97, 5000);
  });

  test('stopHeartbeats stops them; resumeHeartbeats resumes', async () => {
    const be = backends[0];
    be.stopHeartbeats();
    await new Promise((r) => setTimeout(r, 150));
    const ok = be.registryStats()?.heartbeatsOk ?? 0;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(be.registryStats()?.heartbeatsOk, ok, 'no heartbeat while stopped');
    be.resumeHeartbeats();
    await eventually(() => (be.registryStats()?.heartbeatsOk ?? 0) > ok, 3000);
  });

  test('registration retries until the server answers; heartbeats fail over from a closed port', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const be = await startEchoBackend({ ...base, nodeId: 'reg-failover', registry: { urls: [dead, server.baseUrl], heartbeatIntervalMs: 100 } });
    backends.push(be);
    await be.registered;
    await eventually(async () => {
      const n = await getNode('reg-failover');
      return n?.lastHeartbeat !== null && n?.lastHeartbeat !== undefined && Date.now() - n.lastHeartbeat.at < 2000;
    }, 5000);
    const stats = be.registryStats();
    assert.equal(stats?.lastUrl, server.baseUrl);
    assert.ok((stats?.heartbeatsOk ?? 0) >= 1);
  });

  test('registration keeps retrying while every URL is down', async () => {
    const be = await startEchoBackend({ ...base, nodeId: 'reg-down', registry: { urls: [`http://127.0.0.1:${await closedPort()}`], heartbeatIntervalMs: 100 } });
    backends.push(be);
    const state = await Promise.race([be.registered.then(() => 'registered'), new Promise((r) => setTimeout(() => r('pending'), 500))]);
    assert.equal(state, 'pending');
    assert.equal(be.registryStats()?.registrations, 0);
  });

  test('deregister drains the node; resumeHeartbeats registers it again', async () => {
    const be = await startEchoBackend({ ...base, nodeId: 'reg-again', registry: { urls: [server.baseUrl], heartbeatIntervalMs: 100 } });
    backends.push(be);
    await be.registered;
    assert.equal(await be.deregister(), 202);
    assert.equal((await getNode('reg-again'))?.state, 'draining');
    await eventually(async () => (await getNode('reg-again')) === null, 5000);
    be.resumeHeartbeats();
    await eventually(async () => (await getNode('reg-again'))?.lastHeartbeat != null, 5000);
    assert.equal(be.registryStats()?.registrations, 2);
  });

  test('a node the server forgot registers again after a 404 heartbeat', async () => {
    const be = await startEchoBackend({ ...base, nodeId: 'reg-forgot', registry: { urls: [server.baseUrl], heartbeatIntervalMs: 100 } });
    backends.push(be);
    await be.registered;
    be.stopHeartbeats();
    assert.equal((await request(server.baseUrl, '/v1/nodes/reg-forgot', { method: 'DELETE' })).status, 202);
    await eventually(async () => (await getNode('reg-forgot')) === null, 5000);
    be.resumeHeartbeats();
    await eventually(async () => (await getNode('reg-forgot'))?.state !== undefined && (be.registryStats()?.registrations ?? 0) === 2, 5000);
    assert.ok((be.registryStats()?.heartbeatsFailed ?? 0) >= 1, 'the 404 heartbeat counts as failed');
  });
});
