import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startXdsHarness, node, type XdsHarness } from '../helpers/xds-harness';
import { XdsClient, type Received } from '../helpers/xds-client';
import { checkEnvoyConstraints } from '../helpers/envoy-validate';
import { eventually, sleep, waitFor } from '../helpers/wait';

const envoyNode = (id: string) => ({ id, user_agent_name: 'envoy', locality: { region: 'cn-east', zone: 'shanghai-a' } });

/** Runs an Envoy-like initial exchange: CDS, EDS for every cluster, LDS, RDS; ACKs everything. */
async function initialSync(c: XdsClient): Promise<Record<string, Received>> {
  const got: Record<string, Received> = {};
  c.subscribe('cluster', []);
  const cds = await c.nextOf('cluster');
  got.cluster = cds;
  c.ack(cds);
  c.subscribe(
    'endpoint',
    cds.resources.map((r) => r.name),
  );
  const eds = await c.nextOf('endpoint');
  got.endpoint = eds;
  c.ack(eds);
  c.subscribe('listener', []);
  const lds = await c.nextOf('listener');
  got.listener = lds;
  c.ack(lds);
  c.subscribe('route', ['edge-xds-egress']);
  const rds = await c.nextOf('route');
  got.route = rds;
  c.ack(rds);
  return got;
}

let h: XdsHarness;
before(async () => {
  h = await startXdsHarness({ drainGraceMs: 300 });
  await h.registry.register(node({ id: 'edge-a1', address: '10.0.0.1' }));
  await h.registry.register(node({ id: 'edge-a2', address: '10.0.0.2', services: [{ name: 'camera', port: 8080, protocol: 'http' }] }));
});
after(async () => h.close());

test('SotW ADS: initial config in dependency order, every resource valid for Envoy', async () => {
  const c = new XdsClient(h.target, envoyNode('proxy-1'));
  try {
    const got = await initialSync(c);
    assert.deepEqual(
      c.received.map((r) => r.kind),
      ['cluster', 'endpoint', 'listener', 'route'],
    );
    assert.deepEqual(
      got.cluster!.resources.map((r) => r.name),
      ['camera', 'echo'],
    );
    assert.deepEqual(got.endpoint!.resources.map((r) => r.name).sort(), ['camera', 'echo']);
    assert.deepEqual(
      got.listener!.resources.map((r) => r.name),
      ['edge-xds-egress'],
    );
    for (const r of Object.values(got)) {
      assert.ok(r.version.length > 0, 'version_info is set');
      assert.ok(r.nonce.length > 0, 'nonce is set');
      for (const res of r.resources) assert.deepEqual(checkEnvoyConstraints(r.kind, res.bytes), [], `${r.kind} ${res.name}`);
    }
    const echo = got.endpoint!.resources.find((r) => r.name === 'echo')!.json as {
      endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string } } } }> }>;
    };
    assert.equal(echo.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.address, '10.0.0.1');
    await c.expectSilence(300);
  } finally {
    c.close();
  }
});

test('SotW ADS: a registration and a health change are pushed; an unchanged heartbeat is not', async () => {
  const c = new XdsClient(h.target, envoyNode('proxy-2'));
  try {
    const first = await initialSync(c);
    await h.registry.heartbeat('edge-a1', { load: { cpu: 0.2 } });
    await h.registry.heartbeat('edge-a1', { load: { cpu: 0.2 } });
    await c.expectSilence(300);

    await h.registry.register(node({ id: 'edge-a3', address: '10.0.0.3' }));
    const skipped: Received[] = [];
    const eds = await c.nextOf('endpoint', 3000, skipped);
    // The cluster changed too (capacity-derived thresholds): CDS must come before EDS.
    assert.deepEqual(
      skipped.map((r) => r.kind),
      ['cluster'],
    );
    c.ack(skipped[0]!);
    c.ack(eds);
    const echo = eds.resources.find((r) => r.name === 'echo');
    assert.ok(echo, 'echo assignment present');
    assert.equal(JSON.stringify(echo.json).includes('10.0.0.3'), true);
    assert.notEqual(eds.version, first.endpoint!.version);

    await h.registry.deregister('edge-a3');
    const drained = await c.nextOf('endpoint', 3000);
    c.ack(drained);
    assert.match(JSON.stringify(drained.resources.find((r) => r.name === 'echo')!.json), /DRAINING/);
  } finally {
    c.close();
  }
});

test('SotW: NACK keeps the last ACKed config, is not answered with the same version, and shows in the dump', async () => {
  // Own server: no other test's registrations may cause pushes here.
  const h = await startXdsHarness();
  await h.registry.register(node({ id: 'edge-a1', address: '10.0.0.1' }));
  const c = new XdsClient(h.target, envoyNode('proxy-nack'));
  try {
    const got = await initialSync(c);
    await h.registry.register(node({ id: 'edge-n1', address: '10.0.0.9' }));
    const skipped: Received[] = [];
    const eds = await c.nextOf('endpoint', 3000, skipped);
    for (const r of skipped) c.ack(r);
    c.nack(eds, 'rejected for the test', got.endpoint!.version);
    await c.expectSilence(400);
    const streams = h.xds.server.streamsOf('proxy-nack');
    assert.equal(streams.length, 1);
    const st = streams[0]!.status().endpoint!;
    assert.equal(st.state, 'nacked');
    assert.equal(st.ackedVersion, got.endpoint!.version);
    assert.equal(st.sentVersion, eds.version);
    assert.equal(st.lastError?.message, 'rejected for the test');
    // The next change is pushed as a new version.
    await h.registry.deregister('edge-n1');
    const next = await c.nextOf('endpoint', 3000);
    assert.notEqual(next.version, eds.version);
    c.ack(next);
    const st2 = await eventually(() => {
      const st = h.xds.server.streamsOf('proxy-nack')[0]!.status().endpoint!;
      assert.equal(st.state, 'acked');
      return st;
    });
    assert.equal(st2.lastError, null);
  } finally {
    c.close();
    await h.close();
  }
});

test('SotW: EDS subscription changes answer exactly the requested names', async () => {
  const c = new XdsClient(h.target, envoyNode('proxy-sub'));
  try {
    c.subscribe('endpoint', ['echo']);
    const one = await c.nextOf('endpoint');
    assert.deepEqual(
      one.resources.map((r) => r.name),
      ['echo'],
    );
    c.ack(one);
    c.request('endpoint', ['camera', 'echo'], { version: one.version, nonce: one.nonce });
    const two = await c.nextOf('endpoint');
    assert.deepEqual(two.resources.map((r) => r.name).sort(), ['camera', 'echo']);
    c.request('endpoint', ['camera'], { version: two.version, nonce: two.nonce });
    const three = await c.nextOf('endpoint');
    assert.deepEqual(
      three.resources.map((r) => r.name),
      ['camera'],
    );
    c.request('endpoint', ['camera'], { version: three.version, nonce: three.nonce });
    // A change to a service the proxy no longer watches is not sent to it.
    await h.registry.heartbeat('edge-a1', { load: { cpu: 0.95 } });
    await c.expectSilence(400);
    const unknown = h.xds.server.streamsOf('proxy-sub')[0]!.status().endpoint!;
    assert.deepEqual(unknown.subscribed, ['camera']);
  } finally {
    c.close();
  }
});

test('SotW per-type service (CDS) works like ADS for its type and rejects other types', async () => {
  const c = new XdsClient(h.target, envoyNode('proxy-cds'), { service: 'cluster' });
  try {
    c.subscribe('cluster', []);
    const cds = await c.nextOf('cluster');
    assert.ok(cds.resources.some((r) => r.name === 'echo'));
    c.ack(cds);
    c.subscribe('endpoint', ['echo']);
    // The stream ends with the status (no need to wait out a response timeout); no EDS was sent
    // (CDS pushes caused by the other tests' registrations may have come before the error).
    await waitFor(() => c.error !== null, { timeoutMs: 3000, message: 'the stream error' });
    assert.deepEqual(new Set(c.received.map((r) => r.kind)), new Set(['cluster']));
    assert.match(String(c.error?.message), /INVALID_ARGUMENT|serves/);
  } finally {
    c.close();
  }
});

test('SotW: a stream without node.id is refused with INVALID_ARGUMENT', async () => {
  const c = new XdsClient(h.target, { id: '' });
  try {
    c.subscribe('cluster', []);
    await waitFor(() => c.error !== null, { timeoutMs: 3000, message: 'the stream error' });
    assert.deepEqual(c.received, []);
    assert.match(String(c.error?.message), /node\.id/);
  } finally {
    c.close();
  }
});

test("heartbeats that barely move a node's weight factor do not trigger a recomputation; an overload does", async () => {
  const h = await startXdsHarness();
  try {
    await h.registry.register(node({ id: 'q1', address: '10.0.9.1' }));
    await h.registry.register(node({ id: 'q2', address: '10.0.9.2' }));
    await h.registry.heartbeat('q1', { load: { cpu: 0.4 } });
    await h.registry.heartbeat('q2', { load: { cpu: 0.4 } });
    const c = new XdsClient(h.target, envoyNode('quiet'));
    c.subscribe('endpoint', ['echo']);
    c.ack(await c.nextOf('endpoint'));
    const computeCount = async (): Promise<number> => {
      const m = await h.metrics.render();
      return Number(/edge_xds_snapshot_compute_seconds_count (\d+)/.exec(m)?.[1] ?? NaN);
    };
    await sleep(200);
    const before = await computeCount();
    for (let i = 0; i < 10; i++) await h.registry.heartbeat('q1', { load: { cpu: 0.4 + (i % 2 ? 0.005 : -0.005) } });
    await sleep(200);
    assert.equal(await computeCount(), before, 'noise below half the hysteresis threshold is not recomputed');
    await h.registry.heartbeat('q1', { load: { cpu: 0.95 } });
    const eds = await c.nextOf('endpoint', 3000);
    assert.ok((await computeCount()) > before, 'an overload is recomputed');
    assert.match(JSON.stringify(eds.resources[0]!.json), /"load_balancing_weight":\{"value":1\}/);
    c.close();
  } finally {
    await h.close();
  }
});

test('SotW EDS: after the full set, a change sends only the changed assignment; after a NACK the full set again', async () => {
  // Own server: pushes here come only from this test.
  const h = await startXdsHarness();
  await h.registry.register(node({ id: 'p-e1', address: '10.0.1.1' }));
  await h.registry.register(node({ id: 'p-e2', address: '10.0.1.2' }));
  await h.registry.register(node({ id: 'p-c1', address: '10.0.2.1', services: [{ name: 'camera', port: 8080, protocol: 'http' }] }));
  await h.registry.register(node({ id: 'p-c2', address: '10.0.2.2', services: [{ name: 'camera', port: 8080, protocol: 'http' }] }));
  const c = new XdsClient(h.target, envoyNode('proxy-partial'));
  try {
    const got = await initialSync(c);
    assert.deepEqual(
      got.endpoint!.resources.map((r) => r.name),
      ['camera', 'echo'],
    );
    const held = new Map(got.endpoint!.resources.map((r) => [r.name, r.bytes.toString('base64')]));

    // An overload of one echo node: the response names echo only, under a new version.
    await h.registry.heartbeat('p-e1', { load: { cpu: 0.97 } });
    const one = await c.nextOf('endpoint', 3000);
    assert.deepEqual(
      one.resources.map((r) => r.name),
      ['echo'],
    );
    assert.notEqual(one.version, got.endpoint!.version);
    assert.notEqual(one.resources[0]!.bytes.toString('base64'), held.get('echo'), 'echo changed');
    c.ack(one);
    // What the proxy holds now (camera from the first response, echo from this one) is the server's view.
    const st = await eventually(() => {
      const s = h.xds.server.streamsOf('proxy-partial')[0]!.status().endpoint!;
      assert.equal(s.state, 'acked');
      return s;
    });
    assert.equal(st.ackedVersion, one.version);
    assert.deepEqual(
      st.resources.map((r) => r.name),
      ['camera', 'echo'],
    );

    // The proxy rejects the next change: the one after it carries the whole subscribed set.
    await h.registry.heartbeat('p-e1', { load: { cpu: 0.1 } });
    const two = await c.nextOf('endpoint', 3000);
    assert.deepEqual(
      two.resources.map((r) => r.name),
      ['echo'],
    );
    c.nack(two, 'rejected for the test', one.version);
    await h.registry.heartbeat('p-c1', { load: { cpu: 0.97 } });
    const three = await c.nextOf('endpoint', 3000);
    assert.deepEqual(
      three.resources.map((r) => r.name),
      ['camera', 'echo'],
    );
    c.ack(three);

    // Back to one assignment per change once the full set is held.
    await h.registry.heartbeat('p-c1', { load: { cpu: 0.1 } });
    const four = await c.nextOf('endpoint', 3000);
    assert.deepEqual(
      four.resources.map((r) => r.name),
      ['camera'],
    );
    c.ack(four);
    // A subscription change answers the full (new) subscription.
    c.request('endpoint', ['echo'], { version: four.version, nonce: four.nonce });
    const five = await c.nextOf('endpoint', 3000);
    assert.deepEqual(
      five.resources.map((r) => r.name),
      ['echo'],
    );
    c.request('endpoint', ['camera', 'echo'], { version: five.version, nonce: five.nonce });
    const six = await c.nextOf('endpoint', 3000);
    assert.deepEqual(
      six.resources.map((r) => r.name),
      ['camera', 'echo'],
    );
  } finally {
    c.close();
    await h.close();
  }
});

test('coalescing: a change after a quiet period is pushed at once; the changes that follow it wait out the window together', async () => {
  // A long window makes the two behaviours far apart in time.
  const h = await startXdsHarness({ source: { coalesceMs: 1500, maxDelayMs: 5000 } });
  await h.registry.register(node({ id: 'q-a', address: '10.0.7.1' }));
  const c = new XdsClient(h.target, envoyNode('proxy-leading'));
  try {
    await initialSync(c);
    await sleep(1600); // quiet for longer than the window
    let t0 = Date.now();
    await h.registry.register(node({ id: 'q-b', address: '10.0.7.2' }));
    const skipped: Received[] = [];
    const first = await c.nextOf('endpoint', 3000, skipped);
    const leadMs = Date.now() - t0;
    for (const r of skipped) c.ack(r);
    c.ack(first);
    assert.match(JSON.stringify(first.resources.find((r) => r.name === 'echo')!.json), /10\.0\.7\.2/);
    assert.ok(leadMs < 700, `an isolated change waited ${leadMs} ms (window 1500 ms)`);
    // Right behind it: a burst of 5, coalesced into one push after the window.
    t0 = Date.now();
    const mark = c.received.length;
    for (let i = 3; i <= 7; i++) await h.registry.register(node({ id: `q-${i}`, address: `10.0.7.${i}` }));
    const eds =
      (await eventually((): Received[] | null => {
        const got = c.received.slice(mark).filter((r) => r.kind === 'endpoint');
        return got.some((r) => JSON.stringify(r.resources.find((x) => x.name === 'echo')?.json).includes('10.0.7.7')) ? got : null;
      }, 5000)) ?? [];
    const burstMs = Date.now() - t0;
    assert.ok(burstMs >= 1200, `the burst after a push was held for the window (${burstMs} ms)`);
    assert.equal(eds.length, 1, 'the burst is one EDS push');
  } finally {
    c.close();
    await h.close();
  }
});
