import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Registry, foldHeartbeat } from '../../src/registry';
import { RegistryChange, NodeRegistration } from '../../src/domain';
import { Store, migrateLatest, openDatabase } from '../../src/store';
import { makeTempDir, removeDir, waitFor } from '../helpers';

const dir = makeTempDir();
after(() => removeDir(dir));
let n = 0;

async function openRegistry(opts: { file?: string; intervalMs?: number; drainGraceMs?: number; alpha?: number } = {}) {
  const db = openDatabase({ file: opts.file ?? path.join(dir, `r${n++}.db`) });
  await migrateLatest(db);
  const store = new Store(db);
  const registry = await Registry.open({
    store,
    heartbeatIntervalMs: opts.intervalMs ?? 60_000,
    drainGraceMs: opts.drainGraceMs ?? 60_000,
    ewmaAlpha: opts.alpha,
  });
  return {
    store,
    registry,
    close: async () => {
      await registry.close();
      await store.close();
    },
  };
}

function reg(id: string, services = ['api']): NodeRegistration {
  return {
    id,
    role: 'edge',
    region: 'cn-east',
    zone: 'shanghai-a',
    subZone: '',
    location: { lat: 31.2, lon: 121.4 },
    address: '10.0.0.7',
    services: services.map((name) => ({ name, port: 8080, protocol: 'http' })),
    capacity: {},
    labels: {},
  };
}

test('foldHeartbeat: first sample seeds, then EWMA per reported field', () => {
  const s1 = foldHeartbeat(null, { load: { cpu: 0.5 }, network: { latencyMs: 100 } }, 0.3);
  assert.deepEqual(s1, { cpu: 0.5, memory: 0, network: 0, latencyMs: 100, jitterMs: 0, packetLoss: 0, samples: 1 });
  const s2 = foldHeartbeat(s1, { load: { cpu: 1 } }, 0.3);
  assert.equal(s2.cpu, 0.3 * 1 + 0.7 * 0.5);
  assert.equal(s2.latencyMs, 100, 'unreported field keeps its value');
  assert.equal(s2.samples, 2);
});

test('register, re-register, change notifications after the write is durable', async () => {
  const r = await openRegistry();
  try {
    const changes: RegistryChange[] = [];
    const seenInDb: number[] = [];
    r.registry.onChange((c) => {
      changes.push(c);
      // durable before listeners run: the row is already in the database
      void r.store.loadNodes().then((nodes) => seenInDb.push(nodes.length));
    });
    const a = await r.registry.register(reg('n1', ['api', 'video']));
    assert.equal(a.created, true);
    assert.equal(a.node.state, 'healthy');
    const b = await r.registry.register(reg('n1', ['api', 'audio']));
    assert.equal(b.created, false);
    assert.equal(b.node.registeredAt, a.node.registeredAt);
    assert.deepEqual(
      r.registry.getNode('n1')?.services.map((s) => s.name),
      ['api', 'audio'],
    );
    assert.deepEqual(changes, [
      { what: 'node', nodeId: 'n1', services: ['api', 'video'], event: 'registered' },
      { what: 'node', nodeId: 'n1', services: ['api', 'audio', 'video'], event: 'registered' },
    ]);
    await waitFor(() => seenInDb.length === 2, { timeoutMs: 2000 });
    assert.deepEqual(seenInDb, [1, 1]);
    const events = await r.registry.events(0, 10);
    assert.deepEqual(
      events.map((e) => [e.type, e.detail.created]),
      [
        ['registered', true],
        ['registered', false],
      ],
    );
  } finally {
    await r.close();
  }
});

test('heartbeats are coalesced per batch, EWMA applied in order, unknown ids answer false', async () => {
  const r = await openRegistry({ alpha: 0.5 });
  try {
    await r.registry.register(reg('n1'));
    const changes: RegistryChange[] = [];
    r.registry.onChange((c) => changes.push(c));
    const results = await Promise.all([
      r.registry.heartbeat('n1', { load: { cpu: 0.2 } }),
      r.registry.heartbeat('n1', { load: { cpu: 0.4 } }),
      r.registry.heartbeat('n1', { load: { cpu: 0.8 }, network: { packetLoss: 0.1 } }),
      r.registry.heartbeat('ghost', {}),
    ]);
    assert.deepEqual(results, [true, true, true, false]);
    const node = r.registry.getNode('n1');
    assert.equal(node?.stats?.samples, 3);
    assert.equal(node?.stats?.cpu, 0.5 * 0.8 + 0.5 * (0.5 * 0.4 + 0.5 * 0.2));
    assert.deepEqual(node?.lastHeartbeat?.load, { cpu: 0.8 }, 'latest raw values kept');
    assert.deepEqual(node?.lastHeartbeat?.network, { packetLoss: 0.1 });
    assert.deepEqual(changes, [{ what: 'heartbeat', nodeId: 'n1', services: ['api'] }], 'one change per node per batch');
    // durable: a fresh load from the database sees the same stats
    const fromDb = (await r.store.loadNodes())[0];
    assert.deepEqual(fromDb.stats, node?.stats);
    assert.deepEqual(fromDb.lastHeartbeat, node?.lastHeartbeat);
  } finally {
    await r.close();
  }
});

test('health state machine: healthy -> suspect -> unhealthy on missed intervals, healthy on heartbeat', async () => {
  const intervalMs = 200;
  const r = await openRegistry({ intervalMs });
  try {
    const events: string[] = [];
    r.registry.onChange((c) => {
      if (c.what === 'node') events.push(c.event);
    });
    const t0 = Date.now();
    await r.registry.register(reg('n1'));
    await r.registry.heartbeat('n1', {});
    assert.equal(r.registry.getNode('n1')?.state, 'healthy');

    await waitFor(() => r.registry.getNode('n1')?.state === 'suspect', { timeoutMs: 3000, message: 'suspect' });
    const suspectAfter = Date.now() - t0;
    assert.ok(suspectAfter >= 2 * intervalMs, `suspect after ${suspectAfter} ms, expected >= ${2 * intervalMs}`);
    await waitFor(() => r.registry.getNode('n1')?.state === 'unhealthy', { timeoutMs: 3000, message: 'unhealthy' });
    const unhealthyAfter = Date.now() - t0;
    assert.ok(unhealthyAfter >= 3 * intervalMs, `unhealthy after ${unhealthyAfter} ms`);

    assert.equal(await r.registry.heartbeat('n1', { load: { cpu: 0.1 } }), true);
    assert.equal(r.registry.getNode('n1')?.state, 'healthy', 'healthy as soon as the heartbeat is durable');
    assert.deepEqual(events, ['registered', 'suspect', 'unhealthy', 'healthy']);

    const log = await r.registry.events(0, 100);
    assert.deepEqual(
      log.map((e) => e.type),
      ['registered', 'suspect', 'unhealthy', 'healthy'],
    );
    assert.equal(log[1].detail.from, 'healthy');
    assert.equal(log[2].detail.from, 'suspect');
    assert.equal(log[3].detail.from, 'unhealthy');
    // the state is persisted
    const fromDb = (await r.store.loadNodes())[0];
    assert.equal(fromDb.state, 'healthy');
  } finally {
    await r.close();
  }
});

test('a node kept alive by heartbeats stays healthy', async () => {
  // Suspect after 2 missed intervals (500 ms): without the heartbeats every 50 ms it would turn within the loop.
  const r = await openRegistry({ intervalMs: 250 });
  try {
    await r.registry.register(reg('n1'));
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline) {
      await r.registry.heartbeat('n1', {});
      assert.equal(r.registry.getNode('n1')?.state, 'healthy');
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.deepEqual(
      (await r.registry.events(0, 100)).map((e) => e.type),
      ['registered'],
    );
  } finally {
    await r.close();
  }
});

test('deregistration drains, then removes after the grace period', async () => {
  const r = await openRegistry({ intervalMs: 60_000, drainGraceMs: 300 });
  try {
    await r.registry.register(reg('n1', ['api']));
    await r.registry.register(reg('n2', ['api']));
    const t0 = Date.now();
    const d = await r.registry.deregister('n1');
    assert.equal(d?.state, 'draining');
    assert.ok(d?.drainUntil !== null && (d?.drainUntil as number) >= t0 + 300);
    assert.equal((await r.registry.deregister('n1'))?.drainUntil, d?.drainUntil, 'second DELETE keeps the deadline');
    assert.equal(await r.registry.deregister('ghost'), undefined);
    assert.deepEqual(
      r.registry.list({ state: 'draining' }).map((x) => x.id),
      ['n1'],
    );
    // heartbeats do not revive a draining node
    assert.equal(await r.registry.heartbeat('n1', {}), true);
    assert.equal(r.registry.getNode('n1')?.state, 'draining');

    await waitFor(() => r.registry.getNode('n1') === undefined, { timeoutMs: 3000, message: 'removal' });
    assert.ok(Date.now() - t0 >= 300);
    assert.deepEqual(
      r.registry.list().map((x) => x.id),
      ['n2'],
    );
    assert.deepEqual(
      (await r.store.loadNodes()).map((x) => x.id),
      ['n2'],
    );
    const types = (await r.registry.events(0, 100, 'n1')).map((e) => e.type);
    assert.deepEqual(types, ['registered', 'draining', 'deregistered']);
    assert.equal(await r.registry.heartbeat('n1', {}), false);
  } finally {
    await r.close();
  }
});

test('the in-memory view is reloaded from the database on open', async () => {
  const file = path.join(dir, 'reload.db');
  const a = await openRegistry({ file });
  await a.registry.register(reg('n1'));
  await a.registry.heartbeat('n1', { network: { latencyMs: 42 } });
  await a.close();
  const b = await openRegistry({ file });
  try {
    const node = b.registry.getNode('n1');
    assert.equal(node?.lastHeartbeat?.network.latencyMs, 42);
    assert.equal(node?.state, 'healthy');
    assert.deepEqual(
      b.registry.services().map((s) => [s.name, s.endpoints.map((e) => e.nodeId)]),
      [['api', ['n1']]],
    );
  } finally {
    await b.close();
  }
});
