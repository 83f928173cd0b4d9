/**
 * BoundedMap: the "evict the oldest when full" cache the xDS streams share
 * (subscriptions by characters, response bodies and diffs per set by count).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BoundedMap } from '../../src/xds/bounded-map';

test('full by count: inserting a new key evicts the oldest inserted, whatever was read since', () => {
  const m = new BoundedMap<string, number>({ maxEntries: 3 });
  m.set('a', 1);
  m.set('b', 2);
  m.set('c', 3);
  assert.equal(m.get('a'), 1, 'a read does not make an entry newer (insertion order, not LRU)');
  m.set('d', 4);
  assert.deepEqual([...m.keys()], ['b', 'c', 'd']);
  assert.equal(m.get('a'), undefined);
  assert.equal(m.size, 3);
});

test('setting a key again replaces it as the newest entry, evicting nothing else', () => {
  const m = new BoundedMap<string, number>({ maxEntries: 3 });
  m.set('a', 1);
  m.set('b', 2);
  m.set('c', 3);
  m.set('a', 10);
  assert.deepEqual([...m.keys()], ['b', 'c', 'a']);
  assert.equal(m.get('a'), 10);
  m.set('d', 4);
  assert.deepEqual([...m.keys()], ['c', 'a', 'd']);
});

test('bounded by weight: the oldest go until the new entry fits; delete and replace give their weight back', () => {
  const m = new BoundedMap<string, string>({ maxEntries: 100, maxWeight: 10 });
  m.set('a', 'x', 4);
  m.set('b', 'x', 4);
  assert.equal(m.weight, 8);
  m.set('c', 'x', 5);
  assert.deepEqual([...m.keys()], ['b', 'c'], 'a went to make room');
  assert.equal(m.weight, 9);
  m.set('b', 'y', 1);
  assert.equal(m.weight, 6);
  assert.equal(m.delete('c'), true);
  assert.equal(m.delete('c'), false);
  assert.equal(m.weight, 1);
  m.clear();
  assert.equal(m.size, 0);
  assert.equal(m.weight, 0);
});

test('an entry heavier than maxEntryWeight is not kept, and leaves the map as it was', () => {
  const m = new BoundedMap<string, string>({ maxEntries: 10, maxWeight: 100, maxEntryWeight: 20 });
  m.set('a', 'old', 5);
  assert.equal(m.set('a', 'huge', 21), false);
  assert.equal(m.get('a'), 'old');
  assert.equal(m.weight, 5);
  assert.equal(m.set('b', 'ok', 20), true);
  // Without maxEntryWeight the bound is maxWeight itself.
  const n = new BoundedMap<string, string>({ maxEntries: 10, maxWeight: 10 });
  assert.equal(n.set('x', 'too big', 11), false);
  assert.equal(n.size, 0);
});

test('maxEntries below 1 is refused', () => {
  assert.throws(() => new BoundedMap({ maxEntries: 0 }), /maxEntries must be at least 1/);
});

test('against a model: never over its bounds, and always the newest entries that fit', () => {
  const op = fc.oneof(
    fc.record({ set: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), weight: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ del: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f') }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 20 }), fc.array(op, { maxLength: 60 }), (maxEntries, maxWeight, ops) => {
      const m = new BoundedMap<string, number>({ maxEntries, maxWeight });
      let model: Array<{ key: string; weight: number; value: number }> = [];
      ops.forEach((o, i) => {
        if ('del' in o) {
          assert.equal(
            m.delete(o.del),
            model.some((e) => e.key === o.del),
          );
          model = model.filter((e) => e.key !== o.del);
          return;
        }
        const kept = m.set(o.set, i, o.weight);
        assert.equal(kept, o.weight <= maxWeight);
        if (!kept) return;
        model = model.filter((e) => e.key !== o.set);
        while (model.length > 0 && (model.length >= maxEntries || model.reduce((w, e) => w + e.weight, 0) + o.weight > maxWeight)) model.shift();
        model.push({ key: o.set, weight: o.weight, value: i });
      });
      assert.deepEqual(
        [...m.keys()],
        model.map((e) => e.key),
      );
      for (const e of model) assert.equal(m.get(e.key), e.value);
      assert.equal(
        m.weight,
        model.reduce((w, e) => w + e.weight, 0),
      );
      assert.ok(m.size <= maxEntries && m.weight <= maxWeight);
    }),
  );
});
