/**
 * The delta stream's compact state and shared diffs change nothing on the
 * wire: random sequences of requests (subscribe, unsubscribe, wildcard,
 * initial_resource_versions, ACK, NACK, stale nonces), snapshot changes
 * (resources added, changed, removed) and write completions are played
 * against the current DeltaStream and the reference (the stream as it was),
 * many streams sharing one source, and every response must be byte for byte
 * the same, with the same status and accepted resources after every step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeltaStream } from '../../src/xds/delta';
import { encodedResource } from '../../src/xds/encoded-resource';
import { resourceSet, type Snapshot } from '../../src/xds/snapshot';
import { TYPE_URL, RESOURCE_KINDS, type ResourceKind } from '../../src/xds/protos';
import type { DeltaDiscoveryRequest } from '../../src/xds/wire';
import { ReferenceDeltaStream } from './delta-reference';
import { prng } from '../helpers/prng';
import { FakeCall, FakeSource, silentCallbacks } from '../helpers/fake-stream';

const POOL = ['a', 'b', 'c', 'd', 'e', 'f'];

function randomSnapshot(rnd: () => number, prev: Snapshot | null): Snapshot {
  const out = {} as Record<ResourceKind, ReturnType<typeof resourceSet>>;
  for (const kind of RESOURCE_KINDS) {
    const before = prev?.[kind];
    if (before && rnd() < 0.5) {
      out[kind] = before; // unchanged set (same object)
      continue;
    }
    const resources = [];
    for (const name of POOL) {
      const old = before?.resources.get(name);
      const r = rnd();
      if (old && r < 0.6)
        resources.push(old); // same resource
      else if (r < 0.85) resources.push(encodedResource(kind, name, Buffer.from(`${kind}/${name}/${Math.floor(rnd() * 3)}`)));
    }
    out[kind] = resourceSet(kind, resources);
  }
  return out;
}

function lastNonce(call: FakeCall, kind: ResourceKind): string {
  // Nonces are base-36 sequence numbers; find the last response of this type.
  for (let i = call.out.length - 1; i >= 0; i--) {
    const b = call.out[i]!;
    if (b.includes(Buffer.from(TYPE_URL[kind]))) {
      // field 5 (nonce) follows field 4 (type_url): tag 0x2a, length, bytes.
      const at = b.lastIndexOf(Buffer.from(TYPE_URL[kind])) + TYPE_URL[kind].length;
      if (b[at] === 0x2a) return b.subarray(at + 2, at + 2 + b[at + 1]!).toString();
    }
  }
  return '';
}

/** Status without the wall-clock time of errors (the two streams see them a moment apart). */
function withoutTimes(s: ReturnType<DeltaStream['status']>): unknown {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, { ...v, lastError: v.lastError && { ...v.lastError, at: 0 } }]));
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('delta stream: same responses, status and accepted resources as the reference, for random sequences', async () => {
  const SEQUENCES = 150;
  const STREAMS = 4;
  const STEPS = 60;
  for (let seq = 1; seq <= SEQUENCES; seq++) {
    const rnd = prng(seq);
    const source = new FakeSource(randomSnapshot(rnd, null));
    const pairs: Array<{ cur: { call: FakeCall; s: DeltaStream }; ref: { call: FakeCall; s: ReferenceDeltaStream }; opened: Set<ResourceKind>; compared: number }> = [];
    for (let i = 0; i < STREAMS; i++) {
      const c1 = new FakeCall();
      const c2 = new FakeCall();
      pairs.push({
        cur: { call: c1, s: new DeltaStream(c1.asServerCall<DeltaDiscoveryRequest>(), source, silentCallbacks, 'ads') },
        ref: { call: c2, s: new ReferenceDeltaStream(c2.asServerCall<DeltaDiscoveryRequest>(), source, silentCallbacks, 'ads') },
        opened: new Set(),
        compared: 0,
      });
    }
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const names = (p: number): string[] => POOL.filter(() => rnd() < p);
    for (let step = 0; step < STEPS; step++) {
      const r = rnd();
      if (r < 0.2) {
        source.publish(randomSnapshot(rnd, source.snapshot));
      } else if (r < 0.35) {
        for (const p of pairs)
          if (rnd() < 0.7) {
            p.cur.call.release();
            p.ref.call.release();
          }
      } else {
        const p = pick(pairs);
        const kind = pick(RESOURCE_KINDS);
        const first = !p.opened.has(kind);
        p.opened.add(kind);
        const sub = rnd() < 0.5 ? names(0.3) : [];
        if (rnd() < 0.1) sub.push('*');
        const unsub = !first && rnd() < 0.25 ? names(0.3) : [];
        if (!first && rnd() < 0.05) unsub.push('*');
        const initial: Record<string, string> = {};
        if (first && rnd() < 0.3) {
          for (const n of names(0.5)) initial[n] = rnd() < 0.5 ? (source.snapshot[kind].resources.get(n)?.version ?? 'gone') : 'old';
        }
        const nr = rnd();
        const nonce = nr < 0.6 ? lastNonce(p.ref.call, kind) : nr < 0.7 ? 'stale' : '';
        const req = {
          type_url: TYPE_URL[kind],
          node: { id: `proxy-${pairs.indexOf(p)}` },
          resource_names_subscribe: sub,
          resource_names_unsubscribe: unsub,
          initial_resource_versions: initial,
          response_nonce: nonce,
          error_detail: rnd() < 0.15 ? { code: 3, message: 'rejected' } : null,
        } as unknown as DeltaDiscoveryRequest;
        p.cur.call.emit('data', req);
        p.ref.call.emit('data', req);
      }
      await tick();
      await tick();
      for (const [i, p] of pairs.entries()) {
        const where = `sequence ${seq}, step ${step}, stream ${i}`;
        assert.equal(p.cur.call.out.length, p.ref.call.out.length, `${where}: number of responses`);
        // Responses are never changed once written: each is compared once, when it is new.
        for (let k = p.compared; k < p.ref.call.out.length; k++) assert.ok(p.cur.call.out[k]!.equals(p.ref.call.out[k]!), `${where}: response ${k} differs`);
        p.compared = p.ref.call.out.length;
        const [cur, ref] = [withoutTimes(p.cur.s.status()), withoutTimes(p.ref.s.status())];
        // Equal JSON is equal status; deepEqual judges (and explains) anything else.
        if (JSON.stringify(cur) !== JSON.stringify(ref)) assert.deepEqual(cur, ref, `${where}: status`);
        for (const kind of RESOURCE_KINDS) {
          const a = p.cur.s.ackedResources(kind);
          const b = p.ref.s.ackedResources(kind);
          const [x, y] = [a && { v: a.set.version, names: a.names }, b && { v: b.set.version, names: b.names }];
          if (JSON.stringify(x) !== JSON.stringify(y)) assert.deepEqual(x, y, `${where}: accepted ${kind}`);
        }
      }
    }
    for (const p of pairs) {
      p.cur.call.emit('end');
      p.ref.call.emit('end');
    }
  }
});
