/** backend-main as a process: flags, registration through the real server, control endpoint, graceful SIGTERM. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { TestServer, eventually, request, startTestServer } from '../helpers';

const MAIN = path.resolve(__dirname, '../../src/demo/backend-main.js');
let server: TestServer | null = null;
after(async () => server?.stop());

test('backend-main registers, obeys its control endpoint and deregisters on SIGTERM', async () => {
  server = await startTestServer({ drainGraceMs: 60_000 });
  const child = spawn(
    process.execPath,
    [
      MAIN,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--node-id',
      'proc-a',
      '--region',
      'cn-east',
      '--zone',
      'sh-a',
      '--lat',
      '31.2',
      '--lon',
      '121.5',
      '--latency-ms',
      '3',
      '--registry-url',
      server.baseUrl,
      '--heartbeat-interval',
      '200ms',
      '--admin-port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const ready = await eventually(() => (out.includes('\n') ? (JSON.parse(out.split('\n')[0]) as { port: number; adminPort: number }) : null), 10_000);
    const admin = `http://127.0.0.1:${ready?.adminPort}`;
    await eventually(async () => (await request<{ lastHeartbeat: unknown }>(server!.baseUrl, '/v1/nodes/proc-a')).json?.lastHeartbeat != null, 5000);
    assert.equal((await request(admin, '/load', { body: { cpu: 0.9, memory: 0.8 } })).status, 200);
    await eventually(async () => (await request<{ lastHeartbeat: { load: { cpu: number } } }>(server!.baseUrl, '/v1/nodes/proc-a')).json?.lastHeartbeat?.load.cpu === 0.9, 5000);
    assert.equal((await request(admin, '/latency', { body: { ms: 50 } })).status, 200);
    assert.equal((await request(admin, '/latency', { body: { ms: -5 } })).status, 400);
    const status = await request<{ latencyMs: number; registry: { heartbeatsOk: number } }>(admin, '/status');
    assert.equal(status.json.latencyMs, 50);
    assert.ok(status.json.registry.heartbeatsOk >= 1);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.equal((await request<{ state: string }>(server.baseUrl, '/v1/nodes/proc-a')).json.state, 'draining');
  } finally {
    child.kill('SIGKILL');
  }
});

test('backend-main rejects bad flags naming them', async () => {
  const child = spawn(process.execPath, [MAIN, '--node-id', 'x', '--region', 'r', '--zone', 'z', '--lat', '95', '--lon', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.notEqual(code, 0);
  assert.match(err, /--lat/);
});
