import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startXdsHarness, node } from '../helpers/xds-harness';
import { XdsClient, type Received } from '../helpers/xds-client';
import { checkEnvoyConstraints } from '../helpers/envoy-validate';
import { eventually } from '../helpers/wait';

const envoyNode = (id: string) => ({ id, user_agent_name: 'envoy', locality: { region: 'cn-east', zone: 'shanghai-a' } });

async function deltaSync(c: XdsClient): Promise<Record<string, Received>> {
  const got: Record<string, Received> = {};
  c.deltaRequest('cluster', {});
  got.cluster = await c.nextOf('cluster');
  c.ack(got.cluster);
  c.deltaRequest('endpoint', { subscribe: got.cluster.resources.map((r) => r.name) });
  got.endpoint = await c.nextOf('endpoint');
  c.ack(got.endpoint);
  c.deltaRequest('listener', {});
  got.listener = await c.nextOf('listener');
  c.ack(got.listener);
  c.deltaRequest('route', { subscribe: ['edge-xds-egress'] });
  got.route = await c.nextOf('route');
  c.ack(got.route);
  return got;
}

test('delta ADS: per-resource versions, only what changed, removals named', async () => {
  const h = await startXdsHarness({ drainGraceMs: 200 });
  await h.registry.register(node({ id: 'a1', address: '10.0.0.1' }));
  await h.registry.register(node({ id: 'c1', address: '10.0.0.2', services: [{ name: 'camera', port: 8080, protocol: 'http' }] }));
  const c = new XdsClient(h.target, envoyNode('d-proxy'), { delta: true });
  try {
    const got = await deltaSync(c);
    assert.deepEqual(
      got.cluster!.resources.map((r) => r.name),
      ['camera', 'echo'],
    );
    for (const r of Object.values(got)) {
      for (const res of r.resources) {
        assert.ok(res.version.length > 0, 'each resource has a version');
        assert.deepEqual(checkEnvoyConstraints(r.kind, res.bytes), []);
      }
    }
    await c.expectSilence(300);

    // A load jump on the echo node changes only echo's assignment... weights are relative inside the
    // priority, so register a second echo node: the echo cluster and its assignment change, camera's do not.
    await h.registry.register(node({ id: 'a2', address: '10.0.0.3' }));
    const skipped: Received[] = [];
    const eds = await c.nextOf('endpoint', 3000, skipped);
    assert.deepEqual(
      skipped.map((r) => r.kind),
      ['cluster'],
    );
    assert.deepEqual(
      skipped[0]!.resources.map((r) => r.name),
      ['echo'],
      'only the changed cluster is sent',
    );
    assert.deepEqual(
      eds.resources.map((r) => r.name),
      ['echo'],
      'only the changed assignment is sent',
    );
    c.ack(skipped[0]!);
    c.ack(eds);

    // Remove every camera node: after the drain grace the camera cluster goes away, named in removed_resources.
    await h.registry.deregister('c1');
    const removal = await eventually(
      async () => {
        const r = await c.next(3000);
        c.ack(r);
        return r.kind === 'cluster' && r.removed.includes('camera') ? r : null;
      },
      5000,
      1,
    );
    assert.deepEqual(removal!.resources, []);
  } finally {
    c.close();
    await h.close();
  }
});

test('delta: initial_resource_versions on reconnect sends only what changed; unsubscribe stops updates', async () => {
  const h = await startXdsHarness();
  await h.registry.register(node({ id: 'a1', address: '10.0.0.1' }));
  await h.registry.register(node({ id: 'c1', address: '10.0.0.2', services: [{ name: 'camera', port: 8080, protocol: 'http' }] }));
  const c1 = new XdsClient(h.target, envoyNode('d-re'), { delta: true });
  const got = await deltaSync(c1);
  c1.close();
  const known = (r: Received): Record<string, string> => Object.fromEntries(r.resources.map((x) => [x.name, x.version]));

  // Nothing changed: the reconnecting proxy gets nothing at all.
  const c2 = new XdsClient(h.target, envoyNode('d-re'), { delta: true });
  try {
    c2.deltaRequest('cluster', { initial: known(got.cluster!) });
    c2.deltaRequest('endpoint', { subscribe: ['camera', 'echo'], initial: known(got.endpoint!) });
    await c2.expectSilence(400);
  } finally {
    c2.close();
  }

  // The echo assignment changes while the proxy is away: only it is sent on reconnect.
  await h.registry.register(node({ id: 'a2', address: '10.0.0.3' }));
  const c3 = new XdsClient(h.target, envoyNode('d-re'), { delta: true });
  try {
    c3.deltaRequest('endpoint', { subscribe: ['camera', 'echo'], initial: known(got.endpoint!) });
    const eds = await c3.nextOf('endpoint');
    assert.deepEqual(
      eds.resources.map((r) => r.name),
      ['echo'],
    );
    c3.ack(eds);
    c3.deltaRequest('endpoint', { unsubscribe: ['echo'] });
    await h.registry.register(node({ id: 'a3', address: '10.0.0.4' }));
    await c3.expectSilence(400);
  } finally {
    c3.close();
    await h.close();
  }
});

test('versions are content hashes: a restart on the same database gives the same versions and pushes nothing', async () => {
  const h1 = await startXdsHarness();
  await h1.registry.register(node({ id: 'a1', address: '10.0.0.1' }));
  await h1.registry.register(node({ id: 'a2', address: '10.0.0.2' }));
  const c1 = new XdsClient(h1.target, envoyNode('restart-proxy'));
  c1.subscribe('cluster', []);
  const cds = await c1.nextOf('cluster');
  c1.ack(cds);
  c1.subscribe('endpoint', ['echo']);
  const eds = await c1.nextOf('endpoint');
  c1.ack(eds);
  c1.close();
  const dir = h1.dir;
  await h1.close();

  const h2 = await startXdsHarness({ dir });
  const c2 = new XdsClient(h2.target, envoyNode('restart-proxy'));
  try {
    // Like Envoy after the control plane restarts: it re-sends what it has.
    c2.subscribe('cluster', [], cds.version);
    c2.subscribe('endpoint', ['echo'], eds.version);
    await c2.expectSilence(400);
    // A fresh proxy gets the very same versions and bytes.
    const c3 = new XdsClient(h2.target, envoyNode('restart-proxy-2'));
    c3.subscribe('cluster', []);
    const cds2 = await c3.nextOf('cluster');
    assert.equal(cds2.version, cds.version);
    assert.deepEqual(
      cds2.resources.map((r) => r.bytes),
      cds.resources.map((r) => r.bytes),
    );
    c3.close();
  } finally {
    c2.close();
    await h2.close();
  }
});

test('a proxy that never ACKs gets only the newest version, coalesced, not one response per change', async () => {
  const h = await startXdsHarness({ source: { coalesceMs: 50, maxDelayMs: 500 } });
  await h.registry.register(node({ id: 'a0', address: '10.0.1.1' }));
  const c = new XdsClient(h.target, envoyNode('silent'));
  try {
    c.subscribe('endpoint', ['echo']);
    await c.nextOf('endpoint');
    for (let i = 1; i <= 20; i++) await h.registry.register(node({ id: `burst-${i}`, address: `10.0.1.${i + 1}` }));
    await eventually(() => c.received.some((r) => r.kind === 'endpoint' && JSON.stringify(r.resources[0]?.json).includes('10.0.1.21')), 3000);
    const edsCount = c.received.filter((r) => r.kind === 'endpoint').length;
    assert.ok(edsCount <= 4, `20 registrations in a burst gave ${edsCount} EDS responses`);
  } finally {
    c.close();
    await h.close();
  }
});
