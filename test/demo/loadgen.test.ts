/**
 * Load generator: as a child process against real echo backends, directly
 * (plain target + authority) and as a proxyless @grpc/grpc-js-xds client of
 * the real edge-xds server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderGrpcBootstrap } from '../../src/bootstrap';
import { EchoBackend, LoadgenHandle, WindowRecord, spawnLoadgen, startEchoBackend } from '../../src/demo';
import { TestServer, startTestServer } from '../helpers';

const base = { host: '127.0.0.1', port: 0, region: 'cn-east', zone: 'shanghai-a', location: { lat: 31.23, lon: 121.47 } };

describe('loadgen against a backend (plain target)', () => {
  let be: EchoBackend;
  const gens: LoadgenHandle[] = [];
  before(async () => {
    be = await startEchoBackend({ ...base, nodeId: 'plain-a', latencyMs: 5 });
  });
  after(async () => {
    await Promise.all(gens.map((g) => g.kill()));
    await be?.close();
  });

  test('sends rate x duration RPCs, reports windows and a summary by node', async () => {
    const g = spawnLoadgen({ target: `127.0.0.1:${be.port}`, authority: 'echo', rate: 100, durationMs: 1000, reportEveryMs: 200 });
    gens.push(g);
    const s = await g.waitForSummary(20_000);
    assert.equal(s.total, 100, g.stderr());
    assert.equal(s.ok, 100);
    assert.deepEqual(s.byNode, { 'plain-a': 100 });
    assert.ok(s.p50Ms !== null && s.p50Ms >= 5 && s.p99Ms !== null && s.p99Ms >= s.p50Ms);
    const windows = g.windows();
    assert.ok(windows.length >= 4, `windows: ${windows.length}`);
    assert.equal(
      windows.reduce((n, w) => n + w.ok, 0),
      100,
      'windows are per-interval and add up to the total',
    );
    assert.ok(g.records.some((r) => r.type === 'ready' && r.ok));
  });

  test('stdin commands: mark emits the phase totals, stop ends early with a summary', async () => {
    const g = spawnLoadgen({ target: `127.0.0.1:${be.port}`, rate: 50, durationMs: 60_000, reportEveryMs: 100 });
    gens.push(g);
    await g.waitFor((r) => r.type === 'window' && r.ok > 0, 10_000);
    const m = g.mark();
    const phase = await g.phase('second');
    assert.equal(phase.name, 'initial');
    assert.ok(phase.ok > 0 && phase.failed === 0);
    await g.waitFor((r) => r.type === 'window' && (r as WindowRecord).t > phase.t + 300, 10_000);
    const s = await g.stop();
    assert.ok(s.total < 50 * 10, 'stopped long before the duration');
    assert.equal(s.failed, 0);
    assert.ok(m.ok > 0 && m.counts['plain-a'] === m.ok, JSON.stringify(m));
  });

  test('failures are visible: errors by code with a sample message', async () => {
    const g = spawnLoadgen({ target: '127.0.0.1:1', rate: 20, durationMs: 300, warmupMs: 0, deadlineMs: 200 });
    gens.push(g);
    const s = await g.waitForSummary(20_000);
    assert.equal(s.ok, 0);
    assert.equal(s.failed, s.total);
    assert.ok(s.errorsByCode.UNAVAILABLE > 0 || s.errorsByCode.DEADLINE_EXCEEDED > 0, JSON.stringify(s));
    assert.ok(Object.values(s.errorSamples).every((m) => m.length > 0));
  });

  test('bad flags exit non-zero and the error names the flag', async () => {
    const g = spawnLoadgen({ target: 'x', rate: -1, durationMs: 100 });
    gens.push(g);
    await assert.rejects(g.waitForSummary(10_000), /--rate/);
  });
});

describe('loadgen as a proxyless xDS client of the real edge-xds server', () => {
  let server: TestServer;
  const backends: EchoBackend[] = [];
  const gens: LoadgenHandle[] = [];
  before(async () => {
    server = await startTestServer();
    for (const id of ['xds-a', 'xds-b']) {
      backends.push(await startEchoBackend({ ...base, nodeId: id, registry: { urls: [server.baseUrl], heartbeatIntervalMs: 500 } }));
    }
    await Promise.all(backends.map((b) => b.registered));
  });
  after(async () => {
    await Promise.all(gens.map((g) => g.kill()));
    await Promise.all(backends.map((b) => b.close()));
    await server?.stop();
  });

  test('xds:///echo reaches the registered backends through grpc-js-xds', async () => {
    const bootstrap = renderGrpcBootstrap({
      nodeId: 'client-shanghai',
      locality: { region: 'cn-east', zone: 'shanghai-a', subZone: '' },
      xdsServers: [{ host: '127.0.0.1', port: server.xdsPort }],
    });
    const g = spawnLoadgen({ bootstrap, target: 'xds:///echo', rate: 100, durationMs: 1500, warmupMs: 15_000 });
    gens.push(g);
    const s = await g.waitForSummary(40_000);
    const ready = g.records.find((r) => r.type === 'ready');
    assert.ok(ready && ready.type === 'ready' && ready.ok, `grpc-js-xds got a config: ${JSON.stringify(ready)}\n${g.stderr()}`);
    assert.equal(s.failed, 0, JSON.stringify(s));
    assert.equal(s.ok, 150);
    assert.deepEqual(Object.keys(s.byNode).sort(), ['xds-a', 'xds-b'], `both same-zone backends get traffic: ${JSON.stringify(s.byNode)}`);
  });
});
