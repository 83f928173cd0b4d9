/**
 * A snapshot build that throws (here: a weights configuration whose field
 * cannot be read) must not take the process down: the failure is logged with
 * the view, counted in /metrics, and proxies keep the last good snapshot until
 * a build succeeds again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startXdsHarness, node, type XdsHarness } from '../helpers/xds-harness';
import { XdsClient, type Received } from '../helpers/xds-client';
import { DEFAULT_WEIGHTS_CONFIG, type WeightsConfig } from '../../src/model';
import { sleep } from '../helpers/wait';

let h: XdsHarness;
before(async () => {
  h = await startXdsHarness();
});
after(() => h.close());

const hosts = (r: Received): string[] =>
  ((r.resources[0]?.json as { endpoints?: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string } } } }> }> }).endpoints ?? [])
    .flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.address))
    .sort();
const errors = async (): Promise<number> => {
  const text = await h.metrics.render();
  return [...text.matchAll(/^edge_xds_snapshot_build_errors_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
};

test('a throwing build is contained: counted, last good snapshot served, recovery pushes the current state', async () => {
  await h.registry.register(node({ id: 'a', address: '127.0.9.1' }));
  const c = new XdsClient(h.target, { id: 'proxy-1', user_agent_name: 'gRPC Node Pure JS', locality: { region: 'cn-east', zone: 'shanghai-a' } });
  try {
    c.subscribe('endpoint', ['echo']);
    const first = await c.nextOf('endpoint', 5000);
    c.ack(first);
    assert.deepEqual(hosts(first), ['127.0.9.1']);

    // Every later build of this view throws.
    const poisoned = new Proxy(DEFAULT_WEIGHTS_CONFIG, {
      get(target, p, r) {
        if (p === 'overprovisioningFactor') throw new Error('boom: unreadable weights field');
        return Reflect.get(target, p, r) as unknown;
      },
    }) as WeightsConfig;
    h.xds.source.setWeights(poisoned);
    await h.registry.register(node({ id: 'b', address: '127.0.9.2' }));
    await sleep(400);
    assert.ok((await errors()) >= 1, 'the failed build is counted in /metrics');
    // A new proxy of the same view still gets the last good snapshot.
    const c2 = new XdsClient(h.target, { id: 'proxy-2', user_agent_name: 'gRPC Node Pure JS', locality: { region: 'cn-east', zone: 'shanghai-a' } });
    try {
      c2.subscribe('endpoint', ['echo']);
      assert.deepEqual(hosts(await c2.nextOf('endpoint', 5000)), ['127.0.9.1'], 'the last good snapshot is served');
    } finally {
      c2.close();
    }

    h.xds.source.setWeights(DEFAULT_WEIGHTS_CONFIG);
    const next = await c.nextOf('endpoint', 5000);
    assert.deepEqual(hosts(next), ['127.0.9.1', '127.0.9.2'], 'once a build succeeds, the current state is pushed');
  } finally {
    c.close();
  }
});
