/**
 * The xDS protocol cases, written once and run against both stream kinds
 * (protocol-sotw.test.ts, protocol-delta.test.ts), with no network: a stream
 * runs on a FakeCall and watches a FakeSource (test/helpers/fake-stream.ts),
 * a FakeProxy drives it (test/helpers/fake-proxy.ts), and a StreamKind
 * adapter says how a proxy speaks that kind (requests in its terms, responses
 * decoded). Where the two protocols differ, a case says what each one sends;
 * everything else is asserted identically for both. Each case runs in
 * milliseconds (go-control-plane's server_test.go, Hono's common.case.test.ts).
 *
 * These pin what the streams do today (docs/XDS.md, "State of the world" and
 * "Delta"): exact responses (versions, resources, removals, order), the
 * per-type status a config dump shows, and the callbacks metrics come from.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TYPE_URL, type ResourceKind } from '../../src/xds/protos';
import type { Snapshot } from '../../src/xds/snapshot';
import type { TypeStatus } from '../../src/xds/protocol-state';
import { FakeSource, fakeSnapshot, type SnapshotSpec } from '../helpers/fake-stream';
import { FakeProxy, type FakeProxyOptions, type Response, type StreamKind } from '../helpers/fake-proxy';

/** A response without its nonce (nonces are checked on their own). */
const content = (r: Response): Omit<Response, 'nonce' | 'resourceVersions'> => ({ kind: r.kind, version: r.version, resources: r.resources, removed: r.removed });
/** The response carrying `resources` (`name:content`) of `s`'s set of `kind`, and naming `removed`. */
const expected = (kind: ResourceKind, s: Snapshot, resources: string[], removed: string[] = []): Omit<Response, 'nonce'> => ({
  kind,
  version: s[kind].version,
  resources,
  removed,
});
/** What the status shows of resources the proxy has, by their version in `s`. */
const held = (kind: ResourceKind, s: Snapshot, names: string[]): TypeStatus['resources'] => names.map((name) => ({ name, version: s[kind].resources.get(name)!.version }));

const S1_SPEC = {
  cluster: { a: 1, b: 1 },
  endpoint: { a: 1, b: 1, c: 1 },
  listener: { l1: 1, l2: 1 },
  route: { r1: 1 },
} satisfies SnapshotSpec;

/** Every case of the contract, for one stream kind. */
export function protocolCases(kind: StreamKind): void {
  const sotw = kind.protocol === 'sotw';
  const open = (source: FakeSource, opts?: FakeProxyOptions): FakeProxy => new FakeProxy(kind, source, opts);
  /** A proxy that subscribed to CDS (wildcard) and EDS a, b and ACKed both. */
  const synced = async (source: FakeSource): Promise<{ p: FakeProxy; cds: Response; eds: Response }> => {
    const p = open(source);
    p.want('cluster', []);
    p.want('endpoint', ['a', 'b']);
    const [cds, eds] = await p.responses();
    assert.ok(cds && eds);
    p.ack(cds);
    p.ack(eds);
    assert.deepEqual(await p.responses(), []);
    return { p, cds, eds };
  };

  describe(`${kind.protocol} stream: protocol cases`, () => {
    test('the first request of a type is answered with what it subscribes to, a version and a fresh nonce', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const p = open(new FakeSource(s1));
      p.want('cluster', []);
      p.want('endpoint', ['b', 'a']);
      const got = await p.responses();
      // SotW sends named resources sorted; delta in the order they were subscribed.
      assert.deepEqual(got.map(content), [expected('cluster', s1, ['a:1', 'b:1']), expected('endpoint', s1, sotw ? ['a:1', 'b:1'] : ['b:1', 'a:1'])]);
      if (!sotw)
        assert.deepEqual(
          got[0]!.resourceVersions,
          held('cluster', s1, ['a', 'b']).map((r) => r.version),
          'delta: each resource carries its version',
        );
      assert.ok(
        got.every((r) => r.nonce.length > 0),
        'every response has a nonce',
      );
      assert.notEqual(got[0]!.nonce, got[1]!.nonce);
      const eds = p.status('endpoint');
      assert.deepEqual(
        { ...eds, resources: [] },
        {
          subscribed: ['a', 'b'],
          sentVersion: s1.endpoint.version,
          ackedVersion: null,
          state: 'pending',
          lastError: null,
          resources: [],
        },
      );
      assert.equal(p.status('cluster').subscribed, '*');
      assert.deepEqual(p.events, [
        { event: 'open' },
        { event: 'response', kind: 'cluster', version: s1.cluster.version, resources: 2, removed: 0 },
        { event: 'response', kind: 'endpoint', version: s1.endpoint.version, resources: 2, removed: 0 },
      ]);
      assert.equal(p.stream.proxy?.id, 'proxy-1');
      assert.equal(p.stream.view, 'v');
    });

    test('an ACK is answered with nothing, marks the version accepted, and a repeated ACK changes nothing', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const { p, cds, eds } = await synced(new FakeSource(s1));
      assert.deepEqual(p.status('endpoint'), {
        subscribed: ['a', 'b'],
        sentVersion: s1.endpoint.version,
        ackedVersion: s1.endpoint.version,
        state: 'acked',
        lastError: null,
        resources: held('endpoint', s1, ['a', 'b']),
      });
      assert.deepEqual(p.status('cluster').resources, held('cluster', s1, ['a', 'b']));
      assert.deepEqual(p.stream.ackedResources('endpoint')?.names, ['a', 'b']);
      p.ack(eds);
      p.ack(cds);
      assert.deepEqual(await p.responses(), []);
      assert.deepEqual(
        p.events.filter((e) => e.event === 'ack'),
        [
          { event: 'ack', kind: 'cluster', version: s1.cluster.version },
          { event: 'ack', kind: 'endpoint', version: s1.endpoint.version },
        ],
      );
    });

    test('a NACK keeps the last accepted version, is not answered with the rejected one, and the next change is a new version', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const source = new FakeSource(s1);
      const { p } = await synced(source);
      const s2 = fakeSnapshot({ ...S1_SPEC, endpoint: { a: 2, b: 1, c: 1 } }, s1);
      source.publish(s2);
      const [r2, ...more] = await p.responses();
      assert.deepEqual(more, []);
      assert.deepEqual(content(r2!), expected('endpoint', s2, ['a:2']), 'only the changed assignment');
      p.nack(r2!, 'endpoint a is bad');
      assert.deepEqual(await p.responses(), [], 'the rejected version is not sent again');
      const st = p.status('endpoint');
      assert.deepEqual(
        { ...st, lastError: st.lastError && { ...st.lastError, at: 0 }, resources: [] },
        {
          subscribed: ['a', 'b'],
          sentVersion: s2.endpoint.version,
          ackedVersion: s1.endpoint.version,
          state: 'nacked',
          lastError: { version: s2.endpoint.version, message: 'endpoint a is bad', at: 0 },
          resources: [],
        },
      );
      assert.equal(p.stream.ackedResources('endpoint')?.set, s1.endpoint, 'a dump decodes the accepted set');
      assert.deepEqual(p.events.at(-1), { event: 'nack', kind: 'endpoint', version: s2.endpoint.version, detail: 'endpoint a is bad' });
      // A snapshot in which the endpoints are the same sends nothing either.
      source.publish(fakeSnapshot({ ...S1_SPEC, endpoint: { a: 2, b: 1, c: 1 }, listener: { l1: 2 } }, s2));
      assert.deepEqual(await p.responses(), []);
      const s3 = fakeSnapshot({ ...S1_SPEC, endpoint: { a: 2, b: 3, c: 1 } }, source.snapshot);
      source.publish(s3);
      const [r3] = await p.responses();
      // SotW sends the whole subscribed set after a NACK; delta counts the rejected resources as had (not resent).
      assert.deepEqual(content(r3!), expected('endpoint', s3, sotw ? ['a:2', 'b:3'] : ['b:3']));
      p.ack(r3!);
      assert.deepEqual(await p.responses(), []);
      assert.deepEqual(
        { ...p.status('endpoint'), resources: [] },
        {
          subscribed: ['a', 'b'],
          sentVersion: s3.endpoint.version,
          ackedVersion: s3.endpoint.version,
          state: 'acked',
          lastError: null,
          resources: [],
        },
      );
    });

    test('a request answering an older nonce is stale: ignored, counted', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const source = new FakeSource(s1);
      const p = open(source);
      p.want('endpoint', ['a', 'b']);
      const [r1] = await p.responses();
      const s2 = fakeSnapshot({ ...S1_SPEC, endpoint: { a: 2, b: 1, c: 1 } }, s1);
      source.publish(s2);
      const [r2] = await p.responses();
      assert.deepEqual(content(r2!), expected('endpoint', s2, ['a:2']));
      p.ack(r1!); // the ACK of r1 arrives after r2 was sent
      p.nack(r1!, 'too late');
      assert.deepEqual(await p.responses(), []);
      assert.deepEqual(
        p.events.filter((e) => e.event === 'stale' || e.event === 'ack' || e.event === 'nack'),
        [
          { event: 'stale', kind: 'endpoint' },
          { event: 'stale', kind: 'endpoint' },
        ],
      );
      assert.deepEqual(
        { ...p.status('endpoint'), resources: [] },
        {
          subscribed: ['a', 'b'],
          sentVersion: s2.endpoint.version,
          ackedVersion: null,
          state: 'pending',
          lastError: null,
          resources: [],
        },
      );
      p.ack(r2!);
      assert.equal(p.status('endpoint').state, 'acked');
      // A stale NACK drops SotW's knowledge of what the proxy holds: its next push is the whole subscribed set.
      const s3 = fakeSnapshot({ ...S1_SPEC, endpoint: { a: 2, b: 3, c: 1 } }, s2);
      source.publish(s3);
      const [r3] = await p.responses();
      assert.deepEqual(content(r3!), expected('endpoint', s3, sotw ? ['a:2', 'b:3'] : ['b:3']));
      p.ack(r3!);
      // With a stale nonce, SotW ignores the whole request, names too (the proxy repeats them with its next
      // request); delta subscription changes are applied whatever the nonce.
      p.want('endpoint', ['a', 'b', 'c'], r1);
      const r4 = await p.responses();
      assert.deepEqual(r4.map(content), sotw ? [] : [expected('endpoint', s3, ['c:1'])]);
      assert.deepEqual(p.status('endpoint').subscribed, sotw ? ['a', 'b'] : ['a', 'b', 'c']);
      p.ack(r4[0] ?? r3!);
      assert.deepEqual((await p.responses()).map(content), sotw ? [expected('endpoint', s3, ['a:2', 'b:3', 'c:1'])] : []);
      assert.deepEqual(p.status('endpoint').subscribed, ['a', 'b', 'c']);
    });

    test('named subscriptions: additions, removals, names that do not exist yet, and changes outside the subscription', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const source = new FakeSource(s1);
      const p = open(source);
      p.want('endpoint', ['a']);
      const [r1] = await p.responses();
      assert.deepEqual(content(r1!), expected('endpoint', s1, ['a:1']));
      p.want('endpoint', ['a', 'b'], r1);
      const [r2, ...none] = await p.responses();
      assert.deepEqual(none, []);
      // SotW answers a subscription change with the whole subscribed set; delta with what was added.
      assert.deepEqual(content(r2!), expected('endpoint', s1, sotw ? ['a:1', 'b:1'] : ['b:1']));
      assert.deepEqual(p.status('endpoint').subscribed, ['a', 'b']);
      p.want('endpoint', ['b'], r2);
      // SotW: the whole (smaller) set again; delta: nothing (the proxy forgets what it unsubscribes from, no removal).
      assert.deepEqual((await p.responses()).map(content), sotw ? [expected('endpoint', s1, ['b:1'])] : []);
      assert.deepEqual(p.status('endpoint').subscribed, ['b']);
      assert.deepEqual(p.status('endpoint').resources, held('endpoint', s1, ['b']), 'what the proxy has: a is forgotten');
      // A change to a resource the proxy no longer subscribes to is not sent.
      const s2 = fakeSnapshot({ ...S1_SPEC, endpoint: { a: 2, b: 1, c: 1 } }, s1);
      source.publish(s2);
      assert.deepEqual(await p.responses(), []);
      // A name that does not exist is sent once it does.
      p.want('endpoint', ['b', 'new']);
      assert.deepEqual((await p.responses()).map(content), sotw ? [expected('endpoint', s2, ['b:1'])] : []);
      const s3 = fakeSnapshot({ ...S1_SPEC, endpoint: { a: 2, b: 1, c: 1, new: 1 } }, s2);
      source.publish(s3);
      assert.deepEqual((await p.responses()).map(content), [expected('endpoint', s3, ['new:1'])]);
      // No names at all on EDS is an empty subscription, not a wildcard.
      p.want('endpoint', []);
      assert.deepEqual(await p.responses(), []);
      assert.deepEqual(p.status('endpoint').subscribed, []);
      source.publish(fakeSnapshot({ ...S1_SPEC, endpoint: { a: 3, b: 3, c: 3, new: 3 } }, s3));
      assert.deepEqual(await p.responses(), []);
    });

    test('a new snapshot pushes new versions of what changed; removals: CDS/LDS by omission (SotW) or by name (delta)', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const source = new FakeSource(s1);
      const { p } = await synced(source);
      // Something the proxy does not subscribe to: nothing.
      source.publish(fakeSnapshot({ ...S1_SPEC, endpoint: { a: 1, b: 1, c: 2 } }, s1));
      assert.deepEqual(await p.responses(), []);
      const s2 = fakeSnapshot({ ...S1_SPEC, cluster: { a: 2, b: 1 }, endpoint: { a: 2, b: 1, c: 2 } }, source.snapshot);
      source.publish(s2);
      const changed = await p.responses();
      // CDS is state of the world in SotW (every subscribed cluster in every response); EDS only what changed.
      assert.deepEqual(changed.map(content), [expected('cluster', s2, sotw ? ['a:2', 'b:1'] : ['a:2']), expected('endpoint', s2, ['a:2'])]);
      for (const r of changed) p.ack(r);
      const s3 = fakeSnapshot({ ...S1_SPEC, cluster: { a: 2 }, endpoint: { a: 2, c: 2 } }, s2);
      source.publish(s3);
      const removed = await p.responses();
      // SotW cannot remove an assignment (no EDS response at all); delta names both removals.
      assert.deepEqual(removed.map(content), sotw ? [expected('cluster', s3, ['a:2'])] : [expected('cluster', s3, [], ['b']), expected('endpoint', s3, [], ['b'])]);
      for (const r of removed) p.ack(r);
      assert.deepEqual(p.status('endpoint').ackedVersion, sotw ? s2.endpoint.version : s3.endpoint.version);
      assert.deepEqual(p.status('cluster').resources, held('cluster', s3, ['a']));
      assert.deepEqual(
        p.events.filter((e) => e.event === 'response').slice(-removed.length),
        sotw
          ? [{ event: 'response', kind: 'cluster', version: s3.cluster.version, resources: 1, removed: 0 }]
          : [
              { event: 'response', kind: 'cluster', version: s3.cluster.version, resources: 0, removed: 1 },
              { event: 'response', kind: 'endpoint', version: s3.endpoint.version, resources: 0, removed: 1 },
            ],
      );
    });

    test('order within a push: CDS, EDS, LDS, RDS; LDS, RDS, CDS, EDS when something is removed', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const source = new FakeSource(s1);
      const p = open(source);
      p.want('route', ['r1']);
      p.want('listener', []);
      p.want('endpoint', ['a', 'b']);
      p.want('cluster', []);
      const initial = await p.responses();
      assert.deepEqual(
        initial.map((r) => r.kind),
        ['cluster', 'endpoint', 'listener', 'route'],
      );
      for (const r of initial) p.ack(r);
      const s2 = fakeSnapshot({ cluster: { a: 2, b: 1 }, endpoint: { a: 2, b: 1, c: 1 }, listener: { l1: 2, l2: 1 }, route: { r1: 2 } }, s1);
      source.publish(s2);
      const added = await p.responses();
      assert.deepEqual(added.map(content), [
        expected('cluster', s2, sotw ? ['a:2', 'b:1'] : ['a:2']),
        expected('endpoint', s2, ['a:2']),
        expected('listener', s2, sotw ? ['l1:2', 'l2:1'] : ['l1:2']),
        expected('route', s2, ['r1:2']),
      ]);
      for (const r of added) p.ack(r);
      const s3 = fakeSnapshot({ cluster: { a: 2 }, endpoint: { a: 3, b: 1, c: 1 }, listener: { l1: 2 }, route: { r1: 3 } }, s2);
      source.publish(s3);
      assert.deepEqual((await p.responses()).map(content), [
        expected('listener', s3, sotw ? ['l1:2'] : [], sotw ? [] : ['l2']),
        expected('route', s3, ['r1:3']),
        expected('cluster', s3, sotw ? ['a:2'] : [], sotw ? [] : ['b']),
        expected('endpoint', s3, ['a:3']),
      ]);
    });

    test('wildcard: LDS/CDS with no names (or "*") get every resource; "*" on EDS too; leaving the wildcard', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const source = new FakeSource(s1);
      const p = open(source);
      p.want('cluster', []);
      p.want('listener', ['*']);
      p.want('endpoint', ['*']);
      const got = await p.responses();
      assert.deepEqual(got.map(content), [expected('cluster', s1, ['a:1', 'b:1']), expected('endpoint', s1, ['a:1', 'b:1', 'c:1']), expected('listener', s1, ['l1:1', 'l2:1'])]);
      for (const r of got) p.ack(r);
      assert.deepEqual(
        ['cluster', 'listener', 'endpoint'].map((k) => p.status(k as ResourceKind).subscribed),
        ['*', '*', '*'],
      );
      // A resource that appears is sent to a wildcard subscriber.
      const s2 = fakeSnapshot({ ...S1_SPEC, cluster: { a: 1, b: 1, c: 1 } }, s1);
      source.publish(s2);
      const [added] = await p.responses();
      assert.deepEqual(content(added!), expected('cluster', s2, sotw ? ['a:1', 'b:1', 'c:1'] : ['c:1']));
      // Naming resources leaves the wildcard. SotW sends the named set (the rest is deleted by omission);
      // delta sends nothing (the proxy keeps what it has of the named resources and forgets the rest).
      p.want('cluster', ['a'], added);
      assert.deepEqual((await p.responses()).map(content), sotw ? [expected('cluster', s2, ['a:1'])] : []);
      assert.deepEqual(p.status('cluster').subscribed, ['a']);
      assert.deepEqual(p.status('cluster').resources, held('cluster', s2, ['a']));
      source.publish(fakeSnapshot({ ...S1_SPEC, cluster: { a: 1, b: 2, c: 1, d: 1 } }, s2));
      assert.deepEqual(await p.responses(), [], 'new and changed clusters outside the names are not sent');
      // An empty list after named clusters is an empty subscription, not a return to the wildcard.
      p.want('cluster', []);
      assert.deepEqual((await p.responses()).map(content), sotw ? [expected('cluster', source.snapshot, [])] : []);
      assert.deepEqual(p.status('cluster').subscribed, []);
    });

    test('reconnect: a new stream presenting what the proxy holds is sent only what it lacks', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const source = new FakeSource(s1);
      const { p } = await synced(source);
      p.end();
      assert.equal(p.call.ended, true);
      assert.deepEqual(p.events.at(-1), { event: 'close' });
      assert.deepEqual([source.inUse, source.watching], [0, 0], 'the closed stream let go of its view');
      source.publish(fakeSnapshot(S1_SPEC, s1));
      assert.deepEqual(p.call.out.length, 2, 'nothing is sent on a closed stream');

      // Nothing changed: nothing to send.
      const same = open(source, { resuming: p });
      same.want('cluster', []);
      same.want('endpoint', ['a', 'b']);
      assert.deepEqual(await same.responses(), []);
      assert.deepEqual(same.status('endpoint').resources, held('endpoint', s1, ['a', 'b']));
      assert.equal(same.status('endpoint').state, sotw ? 'acked' : 'idle');
      same.end();

      // An assignment outside the subscription changed: SotW's version is per type, so the whole set is sent.
      const s2 = fakeSnapshot({ ...S1_SPEC, endpoint: { a: 1, b: 1, c: 2 } }, s1);
      source.publish(s2);
      const outside = open(source, { resuming: p });
      outside.want('cluster', []);
      outside.want('endpoint', ['a', 'b']);
      assert.deepEqual((await outside.responses()).map(content), sotw ? [expected('endpoint', s2, ['a:1', 'b:1'])] : []);
      outside.end();

      // A subscribed resource changed and a cluster went away.
      const s3 = fakeSnapshot({ ...S1_SPEC, cluster: { a: 1 }, endpoint: { a: 2, b: 1, c: 2 } }, s2);
      source.publish(s3);
      const changed = open(source, { resuming: p });
      changed.want('cluster', []);
      changed.want('endpoint', ['a', 'b']);
      assert.deepEqual(
        (await changed.responses()).map(content),
        sotw ? [expected('cluster', s3, ['a:1']), expected('endpoint', s3, ['a:2', 'b:1'])] : [expected('cluster', s3, [], ['b']), expected('endpoint', s3, ['a:2'])],
      );
      assert.deepEqual([source.inUse, source.watching], [1, 1]);
    });

    test('one response in flight: the next waits until HTTP/2 took it, and a slow reader gets the newest state', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const source = new FakeSource(s1);
      const p = open(source);
      p.want('cluster', []);
      p.want('endpoint', ['a']);
      p.want('listener', []);
      p.want('route', ['r1']);
      assert.deepEqual((await p.responses({ hold: true })).map(content), [expected('cluster', s1, ['a:1', 'b:1'])]);
      assert.equal(p.call.pending.length, 1);
      // Three snapshots while the proxy reads nothing: no queue, only the newest is sent.
      let s = s1;
      for (const n of [2, 3, 4]) source.publish((s = fakeSnapshot({ ...S1_SPEC, cluster: { a: n, b: 1 }, endpoint: { a: n, b: 1, c: 1 } }, s)));
      assert.deepEqual(await p.responses({ hold: true }), []);
      const rest: Response[] = [];
      for (let i = 0; i < 10 && p.call.pending.length > 0; i++) {
        assert.equal(p.call.pending.length, 1, 'one response in flight');
        p.call.release();
        rest.push(...(await p.responses({ hold: true })));
      }
      assert.deepEqual(rest.map(content), [
        expected('cluster', s, sotw ? ['a:4', 'b:1'] : ['a:4']),
        expected('endpoint', s, ['a:4']),
        expected('listener', s, ['l1:1', 'l2:1']),
        expected('route', s, ['r1:1']),
      ]);
    });

    test('stream rules: node.id first, a per-type service serves its type only, unknown types are ignored, no snapshot yet', async () => {
      const s1 = fakeSnapshot(S1_SPEC);
      const noNode = open(new FakeSource(s1), { node: null });
      noNode.want('cluster', []);
      assert.deepEqual(await noNode.responses(), []);
      assert.deepEqual(
        noNode.call.errors.map((e) => [e.code, e.details]),
        [[3, 'the first request on an xDS stream must carry node.id']],
      );
      assert.deepEqual(noNode.events, [{ event: 'open' }, { event: 'close' }]);

      const eds = open(new FakeSource(s1), { service: 'endpoint' });
      eds.want('endpoint', ['a']);
      assert.deepEqual((await eds.responses()).map(content), [expected('endpoint', s1, ['a:1'])]);
      eds.want('cluster', []);
      assert.deepEqual(await eds.responses(), []);
      assert.deepEqual(
        eds.call.errors.map((e) => [e.code, e.details]),
        [[3, `this service serves ${TYPE_URL.endpoint}, not ${TYPE_URL.cluster}`]],
      );

      const ads = open(new FakeSource(s1));
      ads.requestTypeUrl('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret');
      assert.deepEqual(await ads.responses(), []);
      assert.deepEqual(ads.call.errors, []);
      assert.equal(ads.stream.proxy, null, 'an unserved type is ignored before anything else');

      const waiting = new FakeSource(null);
      const early = open(waiting);
      early.want('cluster', []);
      assert.deepEqual(await early.responses(), [], 'nothing before the first snapshot');
      waiting.publish(s1);
      assert.deepEqual((await early.responses()).map(content), [expected('cluster', s1, ['a:1', 'b:1'])]);
    });
  });
}
