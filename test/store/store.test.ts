import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Store, appliedMigrations, migrateLatest, migrationsDirectory, openDatabase, heartbeatToRow } from '../../src/store';
import type { EdgeNode } from '../../src/domain';
import { makeTempDir, removeDir } from '../helpers';

const dir = makeTempDir();
after(() => removeDir(dir));

function node(id: string, services: string[] = ['api']): EdgeNode {
  return {
    id,
    role: 'edge',
    region: 'cn-east',
    zone: 'shanghai-a',
    subZone: '',
    location: { lat: 31.2, lon: 121.4 },
    address: '10.0.0.1',
    services: services.map((name, i) => ({ name, port: 8000 + i, protocol: 'http' as const })),
    capacity: { cpu: 2 },
    labels: { a: 'b' },
    state: 'healthy',
    registeredAt: 1000,
    updatedAt: 2000,
    lastHeartbeat: null,
    stats: null,
    drainUntil: null,
  };
}

test('migrations create the schema with WAL and foreign keys on', async () => {
  const db = openDatabase({ file: path.join(dir, 'a', 'nested', 'm.db') });
  try {
    const files = fs
      .readdirSync(migrationsDirectory())
      .filter((f) => f.endsWith('.js'))
      .sort();
    assert.equal(files[0], '20250101000000_initial.js');
    assert.deepEqual(await migrateLatest(db), files, 'every migration file, in order');
    assert.deepEqual(await migrateLatest(db), [], 'idempotent');
    assert.equal((await appliedMigrations(db)).length, files.length);
    const mode = (await db.raw('PRAGMA journal_mode')) as Array<{ journal_mode: string }>;
    assert.equal(mode[0].journal_mode, 'wal');
    const fk = (await db.raw('PRAGMA foreign_keys')) as Array<{ foreign_keys: number }>;
    assert.equal(fk[0].foreign_keys, 1);
    for (const t of ['nodes', 'node_services', 'node_heartbeats', 'events', 'kv']) assert.ok(await db.schema.hasTable(t), t);
  } finally {
    await db.destroy();
  }
});

test('nodes, services, heartbeats and events round-trip; delete cascades', async () => {
  const db = openDatabase({ file: path.join(dir, 'rt.db') });
  await migrateLatest(db);
  const store = new Store(db);
  try {
    await store.saveNode(node('n1', ['api', 'video']), [{ at: 1, nodeId: 'n1', type: 'registered', detail: { created: true } }]);
    await store.saveNode(node('n2'), [{ at: 2, nodeId: 'n2', type: 'registered', detail: {} }]);
    // re-save replaces services
    await store.saveNode(node('n1', ['video']), []);
    await store.writeHeartbeats({
      heartbeats: [
        heartbeatToRow(
          'n1',
          { at: 5000, load: { cpu: 0.5 }, network: { latencyMs: 20 } },
          { cpu: 0.5, memory: 0, network: 0, latencyMs: 20, jitterMs: 0, packetLoss: 0, samples: 1 },
        ),
      ],
      states: [{ nodeId: 'n2', state: 'suspect', drainUntil: null }],
      events: [{ at: 3, nodeId: 'n2', type: 'suspect', detail: { from: 'healthy' } }],
    });
    // upsert of the same node's heartbeat
    await store.writeHeartbeats({
      heartbeats: [
        heartbeatToRow('n1', { at: 6000, load: { cpu: 0.1 }, network: {} }, { cpu: 0.38, memory: 0, network: 0, latencyMs: 20, jitterMs: 0, packetLoss: 0, samples: 2 }),
      ],
      states: [],
      events: [],
    });
    const nodes = await store.loadNodes();
    assert.deepEqual(
      nodes.map((n) => n.id),
      ['n1', 'n2'],
    );
    const n1 = nodes[0];
    assert.deepEqual(n1.services, [{ name: 'video', port: 8000, protocol: 'http' }]);
    assert.deepEqual(n1.lastHeartbeat, { at: 6000, load: { cpu: 0.1 }, network: {} });
    assert.equal(n1.stats?.samples, 2);
    assert.equal(n1.stats?.cpu, 0.38);
    assert.deepEqual(n1.labels, { a: 'b' });
    assert.equal(nodes[1].state, 'suspect');

    await store.deleteNodes(['n1'], [{ at: 4, nodeId: 'n1', type: 'deregistered', detail: {} }]);
    assert.equal((await db('node_services').where({ node_id: 'n1' })).length, 0, 'services cascade');
    assert.equal((await db('node_heartbeats').where({ node_id: 'n1' })).length, 0, 'heartbeat cascades');

    const events = await store.listEvents(0, 100);
    assert.deepEqual(
      events.map((e) => [e.seq, e.nodeId, e.type]),
      [
        [1, 'n1', 'registered'],
        [2, 'n2', 'registered'],
        [3, 'n2', 'suspect'],
        [4, 'n1', 'deregistered'],
      ],
    );
    assert.deepEqual(
      (await store.listEvents(2, 1)).map((e) => e.seq),
      [3],
    );
    assert.equal(await store.lastEventSeq(), 4);

    await store.putSetting('weights', { alpha: 1 });
    await store.putSetting('weights', { alpha: 2 });
    assert.deepEqual(await store.getSetting('weights'), { alpha: 2 });
    assert.equal(await store.getSetting('missing'), undefined);
  } finally {
    await store.close();
  }
});

test('a heartbeat batch for a missing node fails as a whole and writes nothing', async () => {
  const db = openDatabase({ file: path.join(dir, 'fk.db') });
  await migrateLatest(db);
  const store = new Store(db);
  try {
    await store.saveNode(node('n1'), []);
    const stats = { cpu: 0, memory: 0, network: 0, latencyMs: 0, jitterMs: 0, packetLoss: 0, samples: 1 };
    await assert.rejects(
      store.writeHeartbeats({
        heartbeats: [heartbeatToRow('n1', { at: 1, load: {}, network: {} }, stats), heartbeatToRow('ghost', { at: 1, load: {}, network: {} }, stats)],
        states: [],
        events: [],
      }),
    );
    assert.equal((await db('node_heartbeats')).length, 0);
  } finally {
    await store.close();
  }
});
