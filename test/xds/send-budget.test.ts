/**
 * The server-wide send budget: streams beyond it wait their turn (FIFO) and
 * then send their newest state; a reservation that is never released stops
 * counting after a while; streams sharing a tiny budget send one response at
 * a time overall and still send exactly what they send without a budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendBudget, NO_BUDGET } from '../../src/xds/send-budget';
import { DeltaStream } from '../../src/xds/delta';
import { SotwStream } from '../../src/xds/sotw';
import { encodedResource } from '../../src/xds/encoded-resource';
import { resourceSet, type Snapshot } from '../../src/xds/snapshot';
import { TYPE_URL, RESOURCE_KINDS, type ResourceKind } from '../../src/xds/protos';
import type { DeltaDiscoveryRequest, DiscoveryRequest } from '../../src/xds/wire';
import { FakeCall, FakeSource, silentCallbacks } from '../helpers/fake-stream';

/** Lets the budget's send slices run until nothing is queued. */
async function settle(b: SendBudget): Promise<void> {
  for (let i = 0; i < 100_000 && b.queuedTasks > 0; i++) await new Promise((r) => setImmediate(r));
}

test('send budget: admits below the limit, queues beyond it in order, wakes as bytes are released', async () => {
  const b = new SendBudget(100);
  const order: string[] = [];
  assert.equal(
    b.admit(() => order.push('x')),
    true,
  );
  const t1 = b.take(80);
  assert.equal(
    b.admit(() => order.push('y')),
    true,
    'still below the limit',
  );
  const t2 = b.take(50);
  assert.equal(b.bytesInFlight, 130);
  assert.equal(
    b.admit(() => order.push('a')),
    false,
  );
  assert.equal(
    b.admit(() => order.push('b')),
    false,
  );
  assert.equal(b.waitingStreams, 2);
  b.release(t1); // 50 in flight: both may go (neither takes bytes here)
  assert.deepEqual(order, [], 'turns are given in the send slices, not inside release()');
  await settle(b);
  assert.deepEqual(order, ['a', 'b']);
  b.release(t2);
  b.release(t2); // twice is harmless
  assert.equal(b.bytesInFlight, 0);
  // A waiter that writes from its turn is counted before the next one is judged.
  const t3 = b.take(100);
  const got: string[] = [];
  b.admit(() => {
    got.push('c');
    b.take(100);
  });
  b.admit(() => got.push('d'));
  b.release(t3);
  await settle(b);
  assert.deepEqual(got, ['c'], 'd waits: c took the budget');
  assert.equal(
    NO_BUDGET.admit(() => {}),
    true,
  );
});

test('send budget: thousands of waiters are served in order, a few at a time, waiters re-queueing behind the rest', async () => {
  const b = new SendBudget(1000);
  const hold = b.take(1000);
  const served: number[] = [];
  const N = 5000;
  const tickets: ReturnType<SendBudget['take']>[] = [];
  const waiter =
    (i: number, requeue: boolean): (() => void) =>
    () => {
      served.push(i);
      tickets.push(b.take(400)); // each turn writes 400 bytes
      if (requeue) assert.equal(b.admit(waiter(i + N, false)), false, 'over the budget: queued again');
    };
  for (let i = 0; i < N; i++) assert.equal(b.admit(waiter(i, i % 1000 === 0)), false);
  assert.equal(b.waitingStreams, N);
  b.release(hold);
  await settle(b);
  assert.deepEqual(served, [0, 1, 2], 'three turns fit under 1000 bytes');
  while (tickets.length > 0) {
    b.release(tickets.shift()!);
    await settle(b);
  }
  assert.equal(served.length, N + N / 1000);
  assert.deepEqual(served.slice(0, N), [...Array(N).keys()], 'first come, first served');
  assert.deepEqual(
    served.slice(N),
    [0, 1000, 2000, 3000, 4000].map((i) => i + N),
    're-queued waiters come after everyone who was waiting',
  );
  assert.equal(b.waitingStreams, 0);
  assert.equal(b.bytesInFlight, 0);
});

test('send slices: queued work runs in slices, and I/O callbacks run between them', async () => {
  const b = new SendBudget(0, 5000, 5);
  let ran = 0;
  const busy = (): void => {
    const end = performance.now() + 1; // 1 ms of work per task
    while (performance.now() < end);
    ran++;
  };
  for (let i = 0; i < 200; i++) b.schedule(busy); // ~200 ms of work
  // A timer due now stands for I/O: it must run long before the work is done.
  const firedAfter = await new Promise<number>((resolve) => setTimeout(() => resolve(ran), 0));
  assert.ok(firedAfter < 50, `a timer waited for ${firedAfter} of 200 tasks (slices of 5 ms)`);
  await settle(b);
  assert.equal(ran, 200);
});

test('send budget: a reservation never released stops counting after stuckMs', async () => {
  const b = new SendBudget(10, 100);
  b.take(10);
  let woke = false;
  assert.equal(
    b.admit(() => (woke = true)),
    false,
  );
  await new Promise((r) => setTimeout(r, 350));
  assert.equal(woke, true);
  assert.equal(b.bytesInFlight, 0);
});

function snapshot(): Snapshot {
  const s = {} as Record<ResourceKind, ReturnType<typeof resourceSet>>;
  for (const kind of RESOURCE_KINDS)
    s[kind] = resourceSet(
      kind,
      ['a', 'b', 'c'].map((n) => encodedResource(kind, n, Buffer.alloc(1000, n))),
    );
  return s;
}

test('streams sharing a tiny budget: one response in flight overall, the same responses as unbounded', async () => {
  const source = new FakeSource(snapshot());
  const run = async (budget: SendBudget): Promise<{ out: Buffer[][]; maxPending: number }> => {
    const calls: FakeCall[] = [];
    for (let i = 0; i < 10; i++) {
      const call = new FakeCall();
      calls.push(call);
      if (i % 2 === 0) new SotwStream(call.asServerCall<DiscoveryRequest>(), source, silentCallbacks, 'ads', budget);
      else new DeltaStream(call.asServerCall<DeltaDiscoveryRequest>(), source, silentCallbacks, 'ads', budget);
      for (const kind of RESOURCE_KINDS) {
        const names = kind === 'endpoint' || kind === 'route' ? ['a', 'c'] : [];
        call.emit(
          'data',
          i % 2 === 0
            ? { type_url: TYPE_URL[kind], node: { id: `p${i}` }, resource_names: names, version_info: '', response_nonce: '' }
            : {
                type_url: TYPE_URL[kind],
                node: { id: `p${i}` },
                resource_names_subscribe: names,
                resource_names_unsubscribe: [],
                initial_resource_versions: {},
                response_nonce: '',
              },
        );
      }
    }
    let maxPending = 0;
    for (let round = 0; round < 200; round++) {
      await new Promise((r) => setImmediate(r));
      const pending = calls.reduce((a, c) => a + c.pending.length, 0);
      maxPending = Math.max(maxPending, pending);
      if (pending === 0) break;
      for (const c of calls) c.release();
    }
    for (const c of calls) c.emit('end');
    return { out: calls.map((c) => c.out), maxPending };
  };
  const free = await run(NO_BUDGET);
  const tight = await run(new SendBudget(1));
  assert.equal(free.maxPending, 10, 'unbounded: every stream has one response in flight');
  assert.equal(tight.maxPending, 1, 'a 1-byte budget: one response in flight overall');
  for (let i = 0; i < 10; i++) {
    assert.equal(tight.out[i]!.length, 4, `stream ${i}: one response per type`);
    assert.deepEqual(
      tight.out[i]!.map((b) => b.toString('base64')),
      free.out[i]!.map((b) => b.toString('base64')),
      `stream ${i}: same responses`,
    );
  }
});
