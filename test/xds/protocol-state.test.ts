/**
 * The protocol state both stream kinds share (src/xds/protocol-state.ts), on
 * its own, as go-control-plane tests its subscription.go: the wildcard rules
 * of each protocol, subscriptions interned by content, and the explicit
 * status an ACK, NACK or stale answer moves a type to (and what the config
 * dump shows of it). The streams themselves: protocol.cases.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_SUBSCRIPTION, SubscriptionTable, TypeState, deltaSubscribes, deltaSubscription, sotwSubscription, typeStatus, type Subscription } from '../../src/xds/protocol-state';
import { fakeSnapshot } from '../helpers/fake-stream';
import { XDS_LIMITS } from '../../src/xds/limits';

const view = (s: Subscription | null): { wildcard: boolean; names: string[] } | null => s && { wildcard: s.wildcard, names: [...s.names] };

describe('subscriptions', () => {
  test('interned by content: the same names in the same order are one object; none is NO_SUBSCRIPTION', () => {
    const t = new SubscriptionTable();
    const a = t.subscription(false, ['a', 'b']);
    assert.equal(t.subscription(false, new Set(['a', 'b'])), a);
    assert.notEqual(t.subscription(false, ['b', 'a']), a, 'delta keeps subscription order');
    assert.notEqual(t.subscription(true, ['a', 'b']).key, a.key);
    assert.equal(t.subscription(false, []), NO_SUBSCRIPTION);
    assert.deepEqual(view(t.subscription(true, [])), { wildcard: true, names: [] });
  });

  test('one too big to be worth sharing is made, not kept', () => {
    const t = new SubscriptionTable();
    const big = Array.from({ length: 3000 }, (_, i) => `${'n'.repeat(1000)}${i}`);
    const s = t.subscription(false, big);
    assert.equal(s.names.size, 3000);
    assert.equal(t.size, 0);
    assert.notEqual(t.subscription(false, big), s);
  });

  describe('SotW: every request names the whole subscription', () => {
    const t = new SubscriptionTable();
    test('[] is wildcard on a first LDS/CDS request, nothing on EDS/RDS; "*" is wildcard anywhere', () => {
      assert.deepEqual(view(sotwSubscription('cluster', null, [], t)), { wildcard: true, names: [] });
      assert.deepEqual(view(sotwSubscription('endpoint', null, [], t)), { wildcard: false, names: [] });
      assert.deepEqual(view(sotwSubscription('endpoint', null, ['*', 'b'], t)), { wildcard: true, names: ['b'] });
    });
    test('names are deduplicated and sorted; repeating them changes nothing', () => {
      const s = sotwSubscription('endpoint', null, ['b', 'a', 'b'], t)!;
      assert.deepEqual(view(s), { wildcard: false, names: ['a', 'b'] });
      assert.equal(sotwSubscription('endpoint', s, ['a', 'b'], t), null);
      assert.equal(sotwSubscription('endpoint', s, ['b', 'a'], t), null, 'the same set of names in another order');
      assert.deepEqual(view(sotwSubscription('endpoint', s, ['a'], t)), { wildcard: false, names: ['a'] });
    });
    test('a wildcard LDS/CDS stays wildcard on []; a named one going to [] subscribes to nothing', () => {
      const wild = sotwSubscription('listener', null, [], t)!;
      assert.equal(sotwSubscription('listener', wild, [], t), null);
      const named = sotwSubscription('listener', null, ['l1'], t)!;
      assert.deepEqual(view(sotwSubscription('listener', named, [], t)), { wildcard: false, names: [] });
    });
  });

  describe('delta: requests subscribe and unsubscribe', () => {
    const t = new SubscriptionTable();
    test('the first LDS/CDS request subscribing nothing is the legacy wildcard', () => {
      assert.equal(deltaSubscribes('cluster', true, [], []), true);
      assert.equal(deltaSubscribes('endpoint', true, [], []), false);
      assert.equal(deltaSubscribes('cluster', false, [], []), false);
      const r = deltaSubscription('cluster', NO_SUBSCRIPTION, true, [], [], new Map(), t);
      assert.deepEqual(view(r.sub), { wildcard: true, names: [] });
    });
    test('names are kept in subscription order; the previous subscription is not changed (it is shared)', () => {
      const r1 = deltaSubscription('endpoint', NO_SUBSCRIPTION, true, ['b', 'a'], [], new Map(), t);
      assert.deepEqual(view(r1.sub), { wildcard: false, names: ['b', 'a'] });
      assert.equal(r1.changed, true);
      const again = deltaSubscription('endpoint', r1.sub, false, ['a'], [], new Map(), t);
      assert.equal(again.changed, false);
      assert.equal(again.sub, r1.sub);
      const r2 = deltaSubscription('endpoint', r1.sub, false, ['c'], ['b'], new Map(), t);
      assert.deepEqual(view(r2.sub), { wildcard: false, names: ['a', 'c'] });
      assert.deepEqual(view(r1.sub), { wildcard: false, names: ['b', 'a'] });
    });
    test('the proxy forgets what it unsubscribes from (no removal is sent for it)', () => {
      const sub = deltaSubscription('endpoint', NO_SUBSCRIPTION, true, ['a', 'b'], [], new Map(), t).sub;
      const has = new Map([
        ['a', 'v1'],
        ['b', 'v1'],
      ]);
      deltaSubscription('endpoint', sub, false, [], ['a'], has, t);
      assert.deepEqual([...has.keys()], ['b']);
    });
    test('under the wildcard, unsubscribing a name keeps it; unsubscribing "*" forgets all but the names subscribed', () => {
      const wild = deltaSubscription('cluster', NO_SUBSCRIPTION, true, ['*', 'a'], [], new Map(), t).sub;
      const has = new Map([
        ['a', 'v1'],
        ['b', 'v1'],
        ['c', 'v1'],
      ]);
      const r1 = deltaSubscription('cluster', wild, false, [], ['b'], has, t);
      assert.deepEqual([...has.keys()], ['a', 'b', 'c']);
      const r2 = deltaSubscription('cluster', r1.sub, false, [], ['*'], has, t);
      assert.deepEqual(view(r2.sub), { wildcard: false, names: ['a'] });
      assert.deepEqual([...has.keys()], ['a']);
    });
  });
});

describe('the status of one type', () => {
  const s1 = fakeSnapshot({ endpoint: { a: 1, b: 1 } });
  const s2 = fakeSnapshot({ endpoint: { a: 2, b: 1 } }, s1);
  const state = (st: TypeState): string => typeStatus(st, []).state;

  test('REQUESTED -> SENT -> ACKED: the accepted set and version; a repeated ACK changes nothing', () => {
    const st = new TypeState('endpoint');
    assert.equal(st.status, 'REQUESTED');
    assert.equal(state(st), 'idle');
    st.sent(s1.endpoint, 'n1');
    assert.equal(st.status, 'SENT');
    assert.equal(state(st), 'pending');
    assert.equal(st.answer('n1', null, s1.endpoint.version), 'ack');
    assert.equal(st.status, 'ACKED');
    assert.equal(st.ackedSet, s1.endpoint);
    assert.equal(st.ackedVersion, s1.endpoint.version);
    assert.equal(state(st), 'acked');
    assert.equal(st.answer('n1', null, s1.endpoint.version), 'repeat');
  });

  test('only the latest nonce is answered: an older one is stale, a stale NACK says so', () => {
    const st = new TypeState('endpoint');
    st.sent(s1.endpoint, 'n1');
    st.sent(s2.endpoint, 'n2');
    assert.equal(st.answer('n1', null, s1.endpoint.version), 'stale');
    assert.equal(st.answer('n1', { code: 3, message: 'bad' }), 'stale-nack');
    assert.equal(st.status, 'SENT');
    assert.equal(st.answer('n1', { code: 0, message: '' }), 'stale', 'an empty error_detail is no NACK');
  });

  test('NACKED keeps what was accepted and the error, which stays shown until the next ACK', () => {
    const st = new TypeState('endpoint');
    st.sent(s1.endpoint, 'n1');
    st.answer('n1', null, s1.endpoint.version);
    st.sent(s2.endpoint, 'n2');
    assert.equal(st.answer('n2', { code: 3, message: 'endpoint a is bad' }, s1.endpoint.version), 'nack');
    assert.equal(st.status, 'NACKED');
    assert.equal(st.ackedVersion, s1.endpoint.version);
    assert.deepEqual({ ...st.lastError, at: 0 }, { version: s2.endpoint.version, message: 'endpoint a is bad', at: 0 });
    assert.equal(state(st), 'nacked');
    st.sent(s2.endpoint, 'n3');
    assert.equal(state(st), 'pending');
    assert.equal(st.lastError?.message, 'endpoint a is bad');
    st.answer('n3', null, s2.endpoint.version);
    assert.equal(st.lastError, null);
    assert.equal(state(st), 'acked');
  });

  test('a NACK without a message, and client versions and messages kept bounded', () => {
    const st = new TypeState('endpoint');
    st.sent(s1.endpoint, 'n1');
    st.answer('n1', { code: 13 });
    assert.equal(st.lastError?.message, 'code 13');
    st.sent(s1.endpoint, 'n2');
    st.answer('n2', { code: 3, message: 'x'.repeat(100_000) });
    assert.equal(st.lastError?.message.length, XDS_LIMITS.maxErrorDetailChars);
    st.sent(s1.endpoint, 'n3');
    st.answer('n3', null, 'v'.repeat(100_000));
    assert.equal(st.ackedVersion?.length, XDS_LIMITS.maxVersionChars, 'what the proxy says it applied, cut short');
    st.sent(s2.endpoint, 'n4');
    st.answer('n4', null);
    assert.equal(st.ackedVersion, s2.endpoint.version, 'delta: no version_info, the version sent');
  });

  test('a proxy presenting the current version on a new stream holds it: ACKED with nothing sent', () => {
    const st = new TypeState('cluster');
    st.holds(s1.cluster);
    assert.equal(st.status, 'ACKED');
    assert.equal(st.sentNonce, null);
    assert.deepEqual(
      { ...typeStatus(st, []), subscribed: null },
      {
        subscribed: null,
        sentVersion: s1.cluster.version,
        ackedVersion: s1.cluster.version,
        state: 'acked',
        lastError: null,
        resources: [],
      },
    );
  });

  test('the dump shows the subscription sorted, or "*"', () => {
    const t = new SubscriptionTable();
    const st = new TypeState('endpoint');
    st.sub = t.subscription(false, ['b', 'a']);
    assert.deepEqual(typeStatus(st, []).subscribed, ['a', 'b']);
    st.sub = t.subscription(true, ['b']);
    assert.equal(typeStatus(st, []).subscribed, '*');
  });
});
