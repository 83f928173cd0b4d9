/**
 * A relay lets go of the views it no longer serves: many short-lived proxies
 * from many places come and go, and once they are gone (and the idle time has
 * passed) the relay holds none of their views, has stopped watching them on
 * the global tier, and the global tier has dropped them too.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { relayArgs, startCliServer, type CliServer } from '../helpers/cli-server';
import { makeTempDir, removeDir } from '../helpers/tmp';
import { eventually } from '../helpers/wait';
import { request } from '../helpers/http';
import { registration } from '../helpers/fixtures';
import { XdsClient } from '../helpers/xds-client';

const root = makeTempDir('edge-xds-relay-views-');
const common = ['--heartbeat-interval', '1s', '--coalesce', '20ms', '--view-idle', '1s'];
let g: CliServer;
let r: CliServer;
const PLACES = 30;

const gauge = async (base: string, name: string): Promise<number> => {
  const text = (await request(base, '/metrics')).text;
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};
const relayViews = async (): Promise<number> => Object.keys((await request<{ views: Record<string, string> }>(r.baseUrl, '/v1/tier')).json.views).length;

before(async () => {
  fs.mkdirSync(`${root}/g`, { recursive: true });
  fs.mkdirSync(`${root}/r`, { recursive: true });
  g = await startCliServer({ dir: `${root}/g`, args: common });
  r = await startCliServer({
    dir: `${root}/r`,
    args: [...common, ...relayArgs(g.xdsPort, 'relay-v')],
  });
  const res = await request(r.baseUrl, '/v1/nodes', { body: registration({ id: 'svc-1', address: '10.2.0.1', services: [{ name: 'echo', port: 50051, protocol: 'grpc' }] }) });
  assert.ok(res.status < 300, res.text);
});

after(async () => {
  await r?.stop().catch(() => undefined);
  await g?.stop().catch(() => undefined);
  removeDir(root);
});

test('views of short-lived proxies from many places are let go by the relay and the global tier', async () => {
  // Two waves of proxies, each from PLACES places at once; every proxy leaves after its first answer.
  for (const wave of [0, 1]) {
    const clients = Array.from(
      { length: PLACES },
      (_, i) =>
        new XdsClient(`127.0.0.1:${r.xdsPort}`, { id: `cam-${wave}-${i}`, user_agent_name: 'gRPC Node Pure JS', locality: { region: 'cn-east', zone: `site-${wave}-${i}` } }),
    );
    try {
      await Promise.all(
        clients.map(async (c) => {
          c.subscribe('cluster', ['echo']);
          assert.equal((await c.nextOf('cluster', 15_000)).resources.length, 1);
        }),
      );
      assert.ok((await relayViews()) >= PLACES, `the relay holds a view per place while in use (${await relayViews()})`);
      await eventually(async () => (await gauge(g.baseUrl, 'edge_xds_views')) >= PLACES, 5000, 100);
    } finally {
      for (const c of clients) c.close();
    }
  }

  await eventually(async () => (await relayViews()) === 0, 10_000, 200).catch(async () => {
    throw new Error(`the relay still holds ${await relayViews()} views after every proxy left`);
  });
  await eventually(async () => (await gauge(r.baseUrl, 'edge_xds_views')) === 0, 10_000, 200).catch(async () => {
    throw new Error(`the relay's own mesh source still computes ${await gauge(r.baseUrl, 'edge_xds_views')} views`);
  });
  await eventually(async () => (await gauge(g.baseUrl, 'edge_xds_views')) === 0, 10_000, 200).catch(async () => {
    throw new Error(`the global tier still computes ${await gauge(g.baseUrl, 'edge_xds_views')} views for the relay`);
  });
});
