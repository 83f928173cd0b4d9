/**
 * The snapshot builder and the flush scheduler on their own: no server, no
 * registry process, no network. The builder is a pure function of a registry
 * view (an in-memory map here); the scheduler is timers only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeNode, RegistryView } from '../../src/domain';
import { DEFAULT_WEIGHTS_CONFIG } from '../../src/model';
import { SnapshotBuilder } from '../../src/xds/snapshot-builder';
import { FlushScheduler, WeightPushLimiter } from '../../src/xds/flush-scheduler';
import { ViewCache } from '../../src/xds/view-cache';
import { node } from '../model/fixtures';
import { eventually, sleep } from '../helpers/wait';

class MapRegistry implements RegistryView {
  readonly map = new Map<string, EdgeNode>();
  nodes(): ReadonlyMap<string, EdgeNode> {
    return this.map;
  }
  getNode(id: string): EdgeNode | undefined {
    return this.map.get(id);
  }
  onChange(): () => void {
    return () => undefined;
  }
  put(...nodes: EdgeNode[]): void {
    for (const n of nodes) this.map.set(n.id, n);
  }
}

const requester = { region: 'cn-east', zone: 'cn-east-1', subZone: '', location: { lat: 31.2, lon: 121.4 } };

test('builder: a view gets every service, an unchanged rebuild returns the same snapshot object, a removed node changes EDS only', () => {
  const reg = new MapRegistry();
  reg.put(node({ id: 'a', address: '10.0.0.1' }), node({ id: 'b', address: '10.0.0.2' }));
  const b = new SnapshotBuilder(reg, DEFAULT_WEIGHTS_CONFIG);
  b.rebuildTopology();
  const view = b.newViewState('grpc', requester, requester.location);
  const first = b.buildView(view, null, null, Date.now()).snapshot;
  assert.deepEqual([...first.cluster.resources.keys()], ['echo']);
  assert.deepEqual([...first.endpoint.resources.keys()], ['echo']);
  b.newRound();
  assert.equal(b.buildView(view, first, null, Date.now()).snapshot, first, 'nothing changed: the same object');

  reg.map.delete('b');
  b.newRound();
  b.rebuildTopology();
  const next = b.buildView(view, first, new Set(['echo']), Date.now()).snapshot;
  assert.notEqual(next, first);
  assert.equal(next.cluster, first.cluster, 'CDS unchanged (same spec): same ResourceSet');
  assert.notEqual(next.endpoint.version, first.endpoint.version);
});

test('builder: a service that disappears takes its cluster and its assignment with it; a throwing build leaves the topology whole', () => {
  const reg = new MapRegistry();
  reg.put(node({ id: 'a' }));
  const b = new SnapshotBuilder(reg, DEFAULT_WEIGHTS_CONFIG);
  b.rebuildTopology();
  const view = b.newViewState('envoy', requester, requester.location);
  const first = b.buildView(view, null, null, Date.now()).snapshot;
  reg.map.clear();
  b.newRound();
  b.rebuildTopology();
  const empty = b.buildView(view, first, null, Date.now()).snapshot;
  assert.equal(empty.cluster.resources.size, 0);
  assert.equal(empty.endpoint.resources.size, 0);

  reg.put(node({ id: 'a' }));
  b.weights = new Proxy(DEFAULT_WEIGHTS_CONFIG, {
    get(t, p, r) {
      if (p === 'overprovisioningFactor') throw new Error('boom');
      return Reflect.get(t, p, r) as unknown;
    },
  });
  b.newRound();
  b.rebuildTopology();
  assert.throws(() => b.buildView(view, empty, null, Date.now()), /boom/);
  b.weights = DEFAULT_WEIGHTS_CONFIG;
  view.assignments.clear();
  assert.equal(b.buildView(view, empty, null, Date.now()).snapshot.endpoint.resources.size, 1);
});

test('weight push limiter: one push per service per interval, shared by every view of one flush', () => {
  const l = new WeightPushLimiter(1000);
  assert.equal(l.check('s', 5000), 0);
  assert.equal(l.check('s', 5000), 0, 'a second view in the same flush pushes too');
  l.commit(5000);
  assert.equal(l.check('s', 5500), 6000, 'held back until the interval has passed');
  assert.equal(l.check('t', 5500), 0, 'another service is not held');
  l.commit(5500);
  assert.equal(l.check('s', 6000), 0);
});

test('scheduler: leading edge, coalescing, and a throwing flush reported and retried (never thrown)', async () => {
  let runs = 0;
  let fail = false;
  const errors: unknown[] = [];
  const s = new FlushScheduler({
    coalesceMs: 40,
    maxDelayMs: 120,
    run: () => {
      runs++;
      if (fail) throw new Error('bad build');
    },
    onError: (e) => errors.push(e),
  });
  try {
    s.schedule(false); // after a quiet period: at once
    await eventually(() => runs === 1, 2000, 2);
    s.schedule(false);
    s.schedule(false);
    s.schedule(false);
    assert.equal(runs, 1, 'changes right behind a flush are gathered (nothing ran yet)');
    await eventually(() => runs === 2, 2000, 2);
    await sleep(80);
    assert.equal(runs, 2, 'and flushed once');
    let waited = false;
    s.schedule(true);
    s.afterFlush(() => (waited = true));
    await eventually(() => waited, 2000, 2);
    assert.equal(runs, 3, 'afterFlush runs once the flush published');
    fail = true;
    s.schedule(true);
    await eventually(() => errors.length === 1, 2000, 2);
    fail = false;
    await eventually(() => runs >= 5, 3000, 10);
  } finally {
    s.close();
  }
});

test('view cache: reference counts, idle eviction, publish only on change', () => {
  let now = 1000;
  const c = new ViewCache<{ n: number }>(() => now);
  const v = c.ensure('k', () => ({ n: 1 }));
  assert.equal(c.ensure('k', () => ({ n: 2 })).data.n, 1, 'ensure keeps the existing view');
  c.acquire('k');
  const seen: unknown[] = [];
  const off = c.watch('k', (s) => seen.push(s));
  const snap = { cluster: null, endpoint: null, listener: null, route: null } as never;
  c.publish(v, snap);
  c.publish(v, snap);
  assert.equal(seen.length, 1, 'the same snapshot is not published twice');
  assert.equal(c.release('k'), true);
  off();
  now += 500;
  assert.equal(c.collectIdle(1000), 0, 'not idle long enough');
  now += 600;
  const dropped: string[] = [];
  assert.equal(
    c.collectIdle(1000, (x) => dropped.push(x.key)),
    1,
  );
  assert.deepEqual(dropped, ['k']);
  assert.equal(c.has('k'), false);
});
