/** The heartbeat group commit's SQL: the better-sqlite3 fast path against the portable multi-row shapes (oracle), and durability through the registry. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Store, migrateLatest, openDatabase, heartbeatToRow } from '../../src/store';
import type { HeartbeatRow } from '../../src/store';
import type { EdgeNode } from '../../src/domain';
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

async function openStore(name: string): Promise<Store> {
  const db = openDatabase({ file: path.join(dir, name) });
  await migrateLatest(db);
  return new Store(db);
}

const sorted = async (store: Store, table: string, key: string): Promise<unknown[]> => store.db(table).select('*').orderBy(key);

test('the multi-row statement shapes (clients other than better-sqlite3) write the same rows', async () => {
  const { HeartbeatUpsert, packHeartbeats } = await import('../../src/store/heartbeat-sql');
  const a = await openStore('shapes.db');
  const b = await openStore('rows.db');
  try {
    const ids = Array.from({ length: 345 }, (_, i) => `n${i}`);
    for (const s of [a, b]) for (const id of ids) await s.saveNode(node(id), []);
    const rows = ids.map((id, i) => hb(id, i));
    // Outside a transaction HeartbeatUpsert takes the portable path: 256 + 64 + 16 + 4 + 4 + 1 rows.
    await new HeartbeatUpsert(a.db).write(a.db, packHeartbeats(rows));
    await b.writeHeartbeats({ heartbeats: rows, states: [], events: [] });
    assert.deepEqual(await sorted(a, 'node_heartbeats', 'node_id'), await sorted(b, 'node_heartbeats', 'node_id'));
    // Rewriting existing rows updates them (upsert), on both paths; optional reports stay NULL.
    const again = ids.slice(0, 300).map((id, i) => ({ ...hb(id, i), samples: 99 }));
    await new HeartbeatUpsert(a.db).write(a.db, packHeartbeats(again));
    await b.writeHeartbeats({ heartbeats: again, states: [], events: [] });
    assert.deepEqual(await sorted(a, 'node_heartbeats', 'node_id'), await sorted(b, 'node_heartbeats', 'node_id'));
    const one = (await b.db('node_heartbeats').where({ node_id: 'n1' }).first()) as HeartbeatRow;
    assert.equal(one.load_cpu, null);
    assert.equal(one.net_latency_ms, null);
    assert.equal(one.samples, 99);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a registry over the store: group-committed heartbeats durable across a restart, listeners after commit', async () => {
  const { Registry } = await import('../../src/registry');
  const file = path.join(dir, 'registry.db');
  const open = async () => {
    const db = openDatabase({ file, synchronous: 'normal' });
    await migrateLatest(db);
    const store = new Store(db);
    const registry = await Registry.open({ store, heartbeatIntervalMs: 60_000, drainGraceMs: 60_000 });
    return { store, registry };
  };
  const a = await open();
  const seen: string[] = [];
  try {
    await a.registry.register({
      id: 'e1',
      role: 'edge',
      region: 'r',
      zone: 'z',
      subZone: '',
      location: { lat: 1, lon: 2 },
      address: '10.0.0.1',
      services: [],
      capacity: {},
      labels: {},
    });
    a.registry.onChange((c) => seen.push(`${c.what}:${c.nodeId}`));
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
