import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import type { EdgeNode, RegistryEvent } from '../../src/domain';
import { CLI_PATH, HEARTBEAT, client, makeTempDir, registration, removeDir, request, startCliServer, waitFor } from '../helpers';

const dir = makeTempDir('edge-xds-cli-test-');
after(() => removeDir(dir));

function grpcHealth(port: number): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    check(req: { service: string }, opts: grpc.CallOptions, cb: (err: Error | null, res: { status: string | number }) => void): void;
  };
  return new Promise((resolve, reject) => {
    c.check({ service: '' }, { deadline: Date.now() + 5000 }, (err, res) => {
      c.close();
      if (err) reject(err);
      else resolve(String(res.status));
    });
  });
}

test('serve: ports 0, ready file, /readyz, gRPC health on the xDS port, SIGTERM exits 0', async () => {
  const srv = await startCliServer({ logLevel: 'info' });
  try {
    assert.ok(srv.httpPort > 0 && srv.xdsPort > 0 && srv.httpPort !== srv.xdsPort);
    const ready = await request(srv.baseUrl, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(await grpcHealth(srv.xdsPort), 'SERVING');
    // the structured line with the real ports
    const line = srv
      .output()
      .split('\n')
      .find((l) => l.includes('"msg":"listening"'));
    assert.ok(line, srv.output());
    const parsed = JSON.parse(line as string) as { httpPort: number; xdsPort: number };
    assert.equal(parsed.httpPort, srv.httpPort);
    assert.equal(parsed.xdsPort, srv.xdsPort);
  } finally {
    const r = await srv.stop('SIGTERM');
    assert.equal(r.code, 0, srv.output());
    assert.ok(r.ms < 5000, `stopped in ${r.ms} ms`);
  }
});

test('heartbeats survive a restart on the same database file', async () => {
  const d = path.join(dir, 'restart');
  fs.mkdirSync(d);
  const first = await startCliServer({ dir: d });
  const http1 = client(first.baseUrl);
  try {
    assert.equal((await http1('/v1/nodes', { body: registration() })).status, 201);
    assert.equal((await http1('/v1/nodes/edge-sh-01/heartbeat', { body: HEARTBEAT })).status, 204);
  } finally {
    const r = await first.stop('SIGTERM');
    assert.equal(r.code, 0, first.output());
  }
  const second = await startCliServer({ dir: d });
  try {
    const node = (await request<EdgeNode>(second.baseUrl, '/v1/nodes/edge-sh-01')).json;
    assert.deepEqual(node.lastHeartbeat?.load, HEARTBEAT.load);
    assert.deepEqual(node.lastHeartbeat?.network, HEARTBEAT.network);
    assert.equal(node.stats?.samples, 1);
    assert.equal(node.state, 'healthy');
    assert.deepEqual(node.services, [{ name: 'camera-ingest', port: 8080, protocol: 'http' }]);
  } finally {
    assert.equal((await second.stop()).code, 0);
  }
});

test('SIGTERM flushes queued heartbeats: every 204 is durable, exit 0 well within 5 s', async () => {
  const d = path.join(dir, 'flush');
  fs.mkdirSync(d);
  // A 3 s batch delay keeps heartbeats queued until shutdown forces the flush.
  const srv = await startCliServer({ dir: d, args: ['--heartbeat-batch-delay', '3s'] });
  const http = client(srv.baseUrl);
  const ids = Array.from({ length: 20 }, (_, i) => `edge-${i}`);
  let stop: Awaited<ReturnType<typeof srv.stop>>;
  try {
    for (const id of ids) assert.equal((await http('/v1/nodes', { body: registration({ id }) })).status, 201);
    const pending = ids.map((id, i) => http(`/v1/nodes/${id}/heartbeat`, { body: { load: { cpu: i / 100 } } }));
    await new Promise((r) => setTimeout(r, 300)); // all requests reached the server and wait in the batch
    const t0 = Date.now();
    const stopping = srv.stop('SIGTERM');
    const statuses = (await Promise.all(pending)).map((r) => r.status);
    assert.ok(Date.now() - t0 < 2500, 'answered by the shutdown flush, not by the 3 s timer');
    assert.deepEqual(
      statuses,
      ids.map(() => 204),
    );
    stop = await stopping;
  } finally {
    await srv.stop();
  }
  assert.equal(stop.code, 0, srv.output());
  assert.ok(stop.ms < 5000, `stopped in ${stop.ms} ms`);

  const again = await startCliServer({ dir: d });
  try {
    const nodes = (await request<{ nodes: EdgeNode[] }>(again.baseUrl, '/v1/nodes')).json.nodes;
    assert.equal(nodes.length, 20);
    for (const n of nodes) assert.equal(n.lastHeartbeat?.load.cpu, Number(n.id.slice(5)) / 100, n.id);
  } finally {
    await again.stop();
  }
});

test('SIGINT also stops gracefully with exit 0', async () => {
  const srv = await startCliServer();
  const r = await srv.stop('SIGINT');
  assert.equal(r.code, 0, srv.output());
  assert.ok(r.ms < 5000);
});

test('health transitions through the real process (interval from EDGE_XDS_HEARTBEAT_INTERVAL)', async () => {
  const srv = await startCliServer({ env: { EDGE_XDS_HEARTBEAT_INTERVAL: '200ms' } });
  const http = client(srv.baseUrl);
  try {
    assert.equal((await http('/v1/nodes', { body: registration() })).status, 201);
    await waitFor(async () => (await http<EdgeNode>('/v1/nodes/edge-sh-01')).json.state === 'unhealthy', { timeoutMs: 4000, message: 'unhealthy' });
    assert.equal((await http('/v1/nodes/edge-sh-01/heartbeat', { body: HEARTBEAT })).status, 204);
    assert.equal((await http<EdgeNode>('/v1/nodes/edge-sh-01')).json.state, 'healthy');
    const types = (await http<{ events: RegistryEvent[] }>('/v1/events')).json.events.map((e) => e.type);
    assert.deepEqual(types, ['registered', 'suspect', 'unhealthy', 'healthy']);
  } finally {
    await srv.stop();
  }
});

test('migrate applies migrations and exits 0; bad options exit 2 naming the option', () => {
  const db = path.join(dir, 'migrate', 'sub', 'm.db');
  const env = { ...process.env, EDGE_XDS_LOG_LEVEL: 'silent' };
  const ok = spawnSync(process.execPath, [CLI_PATH, 'migrate', '--db', db], { env, encoding: 'utf8', timeout: 20_000 });
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  assert.ok(fs.existsSync(db));
  const again = spawnSync(process.execPath, [CLI_PATH, 'migrate', '--db', db, '--log-level', 'info'], { env, encoding: 'utf8', timeout: 20_000 });
  assert.equal(again.status, 0);
  assert.match(again.stdout, /database up to date/);

  const bad = spawnSync(process.execPath, [CLI_PATH, 'serve', '--http-port', 'eighty', '--db', path.join(dir, 'never.db')], { env, encoding: 'utf8', timeout: 20_000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--http-port: expected a port number/);
  const badEnv = spawnSync(process.execPath, [CLI_PATH, 'serve', '--db', path.join(dir, 'never.db')], {
    env: { ...env, EDGE_XDS_DRAIN_GRACE: 'soon' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(badEnv.status, 2);
  assert.match(badEnv.stderr, /EDGE_XDS_DRAIN_GRACE: expected a duration/);
  assert.equal(fs.existsSync(path.join(dir, 'never.db')), false, 'nothing created on bad options');
});
