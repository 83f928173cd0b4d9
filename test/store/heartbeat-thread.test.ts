import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Store, migrateLatest, openDatabase, heartbeatToRow } from '../../src/store';
import type { HeartbeatRow } from '../../src/store';
import type { EdgeNode } from '../../src/registry';
import { makeTempDir, removeDir } from '../helpers';

const dir = makeTempDir();
after(() => removeDir(dir));

function node(id: string): EdgeNode {
  return {
    id,
    role: 'edge',
    region: 'r',
    zone: 'z',
    subZone: '',
    location: { lat: 1, lon: 2 },
    address: '10.0.0.1',
    services: [{ name: 'api', port: 80, protocol: 'http' }],
    capacity: {},
    labels: {},
    state: 'suspect',
    registeredAt: 1,
    updatedAt: 1,
    lastHeartbeat: null,
    stats: null,
    drainUntil: null,
  };
}

function hb(id: string, i: number): HeartbeatRow {
  // Every other row leaves the optional reports out (NULL columns).
  const full = i % 2 === 0;
  return heartbeatToRow(
    id,
    { at: 1_000_000 + i, load: full ? { cpu: 0.25, memory: i / 2000 } : {}, network: full ? { latencyMs: i, jitterMs: 0, packetLoss: 0.5 } : {} },
    { cpu: 0.1, memory: 0.2, network: 0.3, latencyMs: i + 0.5, jitterMs: 1, packetLoss: 0, samples: i + 1 },
  );
}

async function openStore(name: string, heartbeatThread: boolean): Promise<Store> {
  const db = openDatabase({ file: path.join(dir, name) });
  await migrateLatest(db);
  const store = new Store(db, { heartbeatThread });
  await store.startHeartbeatWriter();
  return store;
}

const sorted = async (store: Store, table: string, key: string): Promise<unknown[]> => store.db(table).select('*').orderBy(key);

test('the writer thread and the inline path write the same rows, for batch sizes that cut into every statement shape', async () => {
  const threaded = await openStore('t.db', true);
  const inline = await openStore('i.db', false);
  try {
    const ids = Array.from({ length: 700 }, (_, i) => `n${i}`);
    for (const s of [threaded, inline]) for (const id of ids) await s.saveNode(node(id), []);
    let start = 0;
    for (const size of [0, 1, 3, 5, 21, 85, 341, 244]) {
      const rows = ids.slice(start, start + size).map((id, i) => hb(id, start + i));
      start += size;
      const states = size > 0 ? [{ nodeId: rows[0].node_id, state: 'healthy' as const, drainUntil: null }] : [];
      const events = states.map((st) => ({ at: 5, nodeId: st.nodeId, type: 'healthy' as const, detail: { from: 'suspect' } }));
      await Promise.all([threaded.writeHeartbeats({ heartbeats: rows, states, events }), inline.writeHeartbeats({ heartbeats: rows, states, events })]);
    }
    // Rewriting existing rows updates them (upsert).
    const again = ids.slice(0, 300).map((id, i) => ({ ...hb(id, i), samples: 99 }));
    await threaded.writeHeartbeats({ heartbeats: again, states: [], events: [] });
    await inline.writeHeartbeats({ heartbeats: again, states: [], events: [] });

    const a = await sorted(threaded, 'node_heartbeats', 'node_id');
    assert.equal(a.length, 700);
    assert.deepEqual(a, await sorted(inline, 'node_heartbeats', 'node_id'));
    assert.deepEqual(await sorted(threaded, 'nodes', 'id'), await sorted(inline, 'nodes', 'id'));
    const ev = (rows: unknown[]) => rows.map((r) => ({ ...(r as object), seq: 0 }));
    assert.deepEqual(ev(await sorted(threaded, 'events', 'seq')), ev(await sorted(inline, 'events', 'seq')));
    const one = (await threaded.db('node_heartbeats').where({ node_id: 'n1' }).first()) as HeartbeatRow;
    assert.equal(one.load_cpu, null);
    assert.equal(one.net_latency_ms, null);
    assert.equal(one.samples, 99);
  } finally {
    await threaded.close();
    await inline.close();
  }
});

test('a main-connection transaction holding the write lock and a thread batch wait for each other without deadlock', async () => {
  const store = await openStore('lock.db', true);
  try {
    await store.saveNode(node('a'), []);
    let batchDone = false;
    let batch: Promise<unknown> = Promise.resolve();
    await store.db.transaction(async (trx) => {
      await trx('kv').insert({ key: 'k', value: '1', updated_at: 1 });
      // The main connection now holds the write lock; the batch waits for it (busy timeout).
      batch = store.writeHeartbeats({ heartbeats: [hb('a', 0)], states: [], events: [] }).then(() => (batchDone = true));
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(batchDone, false);
    });
    await batch;
    assert.equal(batchDone, true);
    assert.equal((await store.db('node_heartbeats')).length, 1);
    // And the other way round: the main connection writes right after a batch.
    await Promise.all([store.writeHeartbeats({ heartbeats: [hb('a', 1)], states: [], events: [] }), store.putSetting('x', 1)]);
    assert.equal(((await store.db('node_heartbeats').first()) as HeartbeatRow).samples, 2);
  } finally {
    await store.close();
  }
});

test('close waits for batches in flight, ends the thread, and later writes are refused', async () => {
  const store = await openStore('close.db', true);
  await store.saveNode(node('a'), []);
  const inFlight = store.writeHeartbeats({ heartbeats: [hb('a', 0)], states: [], events: [] });
  const started = Date.now();
  await store.close();
  await inFlight;
  assert.ok(Date.now() - started < 3000);
  const db = openDatabase({ file: path.join(dir, 'close.db') });
  try {
    assert.equal((await db('node_heartbeats')).length, 1);
  } finally {
    await db.destroy();
  }
  await assert.rejects(store.writeHeartbeats({ heartbeats: [hb('a', 1)], states: [], events: [] }));
});

test('an in-memory database is written inline (a second connection would be another database)', async () => {
  const db = openDatabase({ file: ':memory:' });
  await migrateLatest(db);
  const store = new Store(db, { heartbeatThread: true });
  try {
    await store.startHeartbeatWriter();
    await store.saveNode(node('a'), []);
    await store.writeHeartbeats({ heartbeats: [hb('a', 0)], states: [], events: [] });
    assert.equal((await db('node_heartbeats')).length, 1);
  } finally {
    await store.close();
  }
});

test('the multi-row statement shapes (clients other than better-sqlite3) write the same rows', async () => {
  const { HeartbeatUpsert, packHeartbeats } = await import('../../src/store/heartbeat-sql');
  const a = await openStore('shapes.db', false);
  const b = await openStore('rows.db', false);
  try {
    const ids = Array.from({ length: 345 }, (_, i) => `n${i}`);
    for (const s of [a, b]) for (const id of ids) await s.saveNode(node(id), []);
    const rows = ids.map((id, i) => hb(id, i));
    // Outside a transaction HeartbeatUpsert takes the portable path: 256 + 64 + 16 + 4 + 4 + 1 rows.
    await new HeartbeatUpsert(a.db).write(a.db, packHeartbeats(rows));
    await b.writeHeartbeats({ heartbeats: rows, states: [], events: [] });
    assert.deepEqual(await sorted(a, 'node_heartbeats', 'node_id'), await sorted(b, 'node_heartbeats', 'node_id'));
  } finally {
    await a.close();
    await b.close();
  }
});

test('a registry over a store with the writer thread: heartbeats durable across a restart, listeners after commit', async () => {
  const { Registry } = await import('../../src/registry');
  const file = path.join(dir, 'registry.db');
  const open = async () => {
    const db = openDatabase({ file, synchronous: 'normal' });
    await migrateLatest(db);
    const store = new Store(db, { heartbeatThread: true });
    const registry = await Registry.open({ store, heartbeatIntervalMs: 60_000, drainGraceMs: 60_000 });
    return { store, registry };
  };
  const a = await open();
  const seen: string[] = [];
  try {
    await a.registry.register({ id: 'e1', role: 'edge', region: 'r', zone: 'z', subZone: '', location: { lat: 1, lon: 2 }, address: '10.0.0.1', services: [], capacity: {}, labels: {} });
    a.registry.onChange((c) => seen.push(`${c.kind}:${c.nodeId}`));
    const oks = await Promise.all([0.1, 0.2, 0.3].map((cpu) => a.registry.heartbeat('e1', { load: { cpu } })));
    assert.deepEqual(oks, [true, true, true]);
    assert.equal(await a.registry.heartbeat('nope', {}), false);
    assert.deepEqual(seen, ['heartbeat:e1']);
    assert.equal(a.registry.getNode('e1')?.stats?.samples, 3);
  } finally {
    await a.registry.close();
    await a.store.close();
  }
  const b = await open();
  try {
    const n = b.registry.getNode('e1');
    assert.equal(n?.stats?.samples, 3);
    assert.equal(n?.lastHeartbeat?.load.cpu, 0.3);
  } finally {
    await b.registry.close();
    await b.store.close();
  }
});
