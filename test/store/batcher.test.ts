import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommitBatcher, BatcherClosedError } from '../../src/store';
import { sleep } from '../helpers';

test('batches items submitted together and resolves each after its write', async () => {
  const batches: number[][] = [];
  let committed = 0;
  const b = new GroupCommitBatcher<number, number>({
    maxDelayMs: 5,
    write: async (items) => {
      batches.push([...items]);
      await sleep(5);
      committed += items.length;
      return items.map((x) => x * 2);
    },
  });
  const results = await Promise.all([1, 2, 3, 4].map((x) => b.submit(x).then((r) => ({ r, committedAtResolve: committed }))));
  assert.deepEqual(
    results.map((x) => x.r),
    [2, 4, 6, 8],
  );
  assert.deepEqual(batches, [[1, 2, 3, 4]]);
  for (const r of results) assert.equal(r.committedAtResolve, 4, 'resolved only after the write finished');
});

test('flushes immediately at maxBatch and never runs two writes at once', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const sizes: number[] = [];
  const b = new GroupCommitBatcher<number, boolean>({
    maxDelayMs: 1000,
    maxBatch: 10,
    write: async (items) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      sizes.push(items.length);
      await sleep(3);
      inFlight--;
      return items.map(() => true);
    },
  });
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 35 }, (_, i) => b.submit(i)));
  await b.flush();
  assert.ok(Date.now() - t0 < 900, 'full batches do not wait for maxDelayMs');
  assert.equal(maxInFlight, 1);
  assert.equal(
    sizes.reduce((a, c) => a + c, 0),
    35,
  );
  assert.ok(
    sizes.every((s) => s <= 10),
    `batch sizes ${sizes}`,
  );
});

test('a failed write rejects every item of that batch only', async () => {
  let calls = 0;
  const b = new GroupCommitBatcher<string, string>({
    maxDelayMs: 1,
    write: async (items) => {
      calls++;
      if (calls === 1) throw new Error('disk full');
      return items;
    },
  });
  const first = await Promise.allSettled([b.submit('a'), b.submit('b')]);
  assert.deepEqual(
    first.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.equal(await b.submit('c'), 'c');
});

test('close flushes what is queued and refuses new items', async () => {
  const written: string[] = [];
  const b = new GroupCommitBatcher<string, void>({
    maxDelayMs: 10_000,
    write: async (items) => {
      written.push(...items);
      return items.map(() => undefined);
    },
  });
  const p = b.submit('x');
  await b.close();
  await p;
  assert.deepEqual(written, ['x']);
  await assert.rejects(b.submit('y'), BatcherClosedError);
});
