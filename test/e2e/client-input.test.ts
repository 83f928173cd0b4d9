/**
 * Memory and streams taken from client input on the xDS port (issue #11,
 * item 5), against the real server (REST + gRPC on 127.0.0.1):
 *  (a) a Node with ~2 MB of metadata, features and locality is kept as a
 *      small bounded identity (config dump and connections show it bounded,
 *      heap growth for 40 such streams stays small); oversized requests and
 *      node ids are refused with a status naming the limit;
 *  (b) more streams than the per-node / per-connection caps are refused with
 *      RESOURCE_EXHAUSTED while a well-behaved proxy keeps converging;
 *  (c) GET /v1/xds/connections pages (limit + cursor) and rejects bad params.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import { startTestServer, type TestServer } from '../helpers/in-process';
import { request } from '../helpers/http';
import { eventually } from '../helpers/wait';
import { node } from '../helpers/xds-harness';
import { XdsClient } from '../helpers/xds-client';
import { ADS_DELTA, delimited, openRaw, stringField, toProtoStruct, type RawStream } from '../helpers/raw-xds';
import { envoyType, TYPE_URL } from '../../src/xds/protos';
import { encodeDiscoveryRequest } from '../../src/xds/wire';
import { XDS_LIMITS } from '../../src/xds/limits';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

const MiB = 1024 * 1024;

async function withServer(fn: (srv: TestServer) => Promise<void>): Promise<void> {
  const srv = await startTestServer();
  try {
    await srv.registry.register(node({ id: 'edge-1', address: '10.0.0.1' }));
    await fn(srv);
  } finally {
    await srv.stop();
  }
}

/** A well-behaved Envoy: wildcard CDS, then EDS for every cluster; true once both arrived. */
async function converges(target: string, id: string): Promise<void> {
  const c = new XdsClient(target, { id, user_agent_name: 'envoy', locality: { region: 'cn-east', zone: 'shanghai-a' } });
  try {
    c.subscribe('cluster', []);
    const cds = await c.nextOf('cluster', 5000);
    assert.ok(cds.resources.length > 0, 'clusters');
    c.ack(cds);
    c.subscribe(
      'endpoint',
      cds.resources.map((r) => r.name),
    );
    const eds = await c.nextOf('endpoint', 5000);
    assert.ok(eds.resources.length > 0, 'endpoints');
  } finally {
    c.close();
  }
}

/**
 * Everything in a Node but its id, ~2 MB: 20,000 metadata fields (plus the
 * location keys the server reads), 2,000 client features, a 100 kB cluster
 * and a 100 kB sub_zone.
 */
function bigNodeRest(): Buffer {
  const md: Record<string, unknown> = { lat: 31.23, lon: 121.47 };
  for (let i = 0; i < 20_000; i++) md[`k${i}`] = `${i}-${'v'.repeat(60)}`;
  const t = envoyType('envoy.config.core.v3.Node');
  return Buffer.from(
    t
      .encode(
        t.fromObject({
          cluster: 'c'.repeat(100_000),
          user_agent_name: 'envoy',
          locality: { region: 'cn-east', zone: 'shanghai-a', sub_zone: 's'.repeat(100_000) },
          metadata: toProtoStruct(md),
          client_features: Array.from({ length: 2_000 }, (_, i) => `feature.${i}.${'f'.repeat(40)}`),
        }),
      )
      .finish(),
  );
}

/** A first SotW request (wildcard CDS) whose node is `id` + `rest`. */
function firstRequest(id: string, rest: Buffer): Buffer {
  return Buffer.concat([delimited(2, Buffer.concat([stringField(1, id), rest])), stringField(4, TYPE_URL.cluster)]);
}

test('a ~2 MB Node is kept as a bounded identity: small dumps and connection lists, small heap growth for 40 streams', async () => {
  await withServer(async (srv) => {
    const target = `127.0.0.1:${srv.xdsPort}`;
    const rest = bigNodeRest();
    assert.ok(rest.length > 1.8e6 && rest.length < XDS_LIMITS.maxRequestBytes, `node of ${rest.length} bytes`);
    const STREAMS = 40;
    const clients = Array.from({ length: 4 }, () => new grpc.Client(target, grpc.credentials.createInsecure()));
    const streams: RawStream[] = [];
    try {
      const before = heapAfterGc();
      for (let i = 0; i < STREAMS; i++) {
        const s = openRaw(clients[i % clients.length]!);
        s.send(firstRequest(`big-${i}`, rest));
        streams.push(s);
        assert.equal(await s.settle(10_000), 'response', `stream ${i} is served: ${JSON.stringify(s.end)}`);
      }
      const after = heapAfterGc();
      const growth = after - before;
      console.log(`heap growth for ${STREAMS} streams with a ${(rest.length / MiB).toFixed(2)} MiB node: ${(growth / MiB).toFixed(2)} MiB`);
      assert.ok(growth < 16 * MiB, `heap grew by ${(growth / MiB).toFixed(1)} MiB for ${STREAMS} streams`);

      const dump = await request<{ node: Record<string, unknown> }>(srv.baseUrl, '/v1/config_dump/big-7');
      assert.equal(dump.status, 200);
      const n = dump.json.node as {
        id: string;
        cluster: string;
        userAgentName: string;
        locality: { subZone: string };
        metadata: Record<string, unknown>;
        clientFeatures: string[];
      };
      assert.equal(n.id, 'big-7');
      assert.equal(n.userAgentName, 'envoy');
      // Only what the server reads is kept, and strings are cut.
      assert.deepEqual(n.metadata, { lat: 31.23, lon: 121.47 });
      assert.ok(n.cluster.length <= XDS_LIMITS.maxNodeStringChars && n.cluster.startsWith('ccc'), `cluster of ${n.cluster.length}`);
      assert.ok(n.locality.subZone.length <= XDS_LIMITS.maxNodeStringChars);
      assert.ok(n.clientFeatures.length <= XDS_LIMITS.maxClientFeatures);
      assert.ok(JSON.stringify(n).length < 16 * 1024, `dump node of ${JSON.stringify(n).length} chars`);

      const t0 = performance.now();
      const list = await request<{ connections: Array<{ node: string; locality: { subZone: string } }>; total: number }>(srv.baseUrl, '/v1/xds/connections');
      const ms = performance.now() - t0;
      assert.equal(list.status, 200);
      assert.equal(list.json.total, STREAMS);
      assert.ok(list.text.length < 200 * 1024, `connections reply of ${list.text.length} bytes`);
      console.log(`GET /v1/xds/connections with ${STREAMS} such streams: ${ms.toFixed(1)} ms, ${list.text.length} bytes`);
    } finally {
      for (const s of streams) s.close();
      for (const c of clients) c.close();
    }
  });
});

test('an oversized DiscoveryRequest and an oversized node id are refused with a status naming the limit', async () => {
  await withServer(async (srv) => {
    const target = `127.0.0.1:${srv.xdsPort}`;
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    try {
      // Over the xDS request limit, under the transport limit of the shared port.
      const names = Array.from({ length: Math.ceil(XDS_LIMITS.maxRequestBytes / 100) + 10 }, (_, i) => `${i}`.padEnd(98, 'n'));
      const big = encodeDiscoveryRequest({ node: { id: 'huge-names' }, type_url: TYPE_URL.endpoint, resource_names: names });
      assert.ok(big.length > XDS_LIMITS.maxRequestBytes && big.length < 4 * MiB, `request of ${big.length}`);
      const s = openRaw(client);
      s.send(big);
      const end = await s.endWithin(5000);
      assert.equal(end.code, grpc.status.RESOURCE_EXHAUSTED, JSON.stringify(end));
      assert.match(end.details, new RegExp(String(XDS_LIMITS.maxRequestBytes)));

      // Delta too.
      const d = openRaw(client, ADS_DELTA);
      d.send(Buffer.concat([delimited(1, stringField(1, 'huge-delta')), stringField(2, TYPE_URL.endpoint), ...names.map((x) => stringField(3, x))]));
      const dEnd = await d.endWithin(5000);
      assert.equal(dEnd.code, grpc.status.RESOURCE_EXHAUSTED, JSON.stringify(dEnd));

      const longId = openRaw(client);
      longId.send(encodeDiscoveryRequest({ node: { id: 'x'.repeat(XDS_LIMITS.maxNodeIdChars + 1) }, type_url: TYPE_URL.cluster }));
      const idEnd = await longId.endWithin(5000);
      assert.equal(idEnd.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(idEnd));
      assert.match(idEnd.details, new RegExp(`node.id .*${XDS_LIMITS.maxNodeIdChars}`));

      // The largest subscription we promise to take fits: 10,000 names of 100 bytes (SotW).
      const many = Array.from({ length: 10_000 }, (_, i) => `${i}`.padEnd(100, 'n'));
      const ok = openRaw(client);
      ok.send(encodeDiscoveryRequest({ node: { id: 'many-names', user_agent_name: 'envoy' }, type_url: TYPE_URL.endpoint, resource_names: [...many, 'echo'] }));
      assert.equal(await ok.settle(5000), 'response', JSON.stringify(ok.end));
      ok.close();
      await converges(target, 'good-after-refusals');
    } finally {
      client.close();
    }
  });
});

test('streams over the per-node cap are refused with RESOURCE_EXHAUSTED; a freed slot is reusable; others converge', async () => {
  await withServer(async (srv) => {
    const target = `127.0.0.1:${srv.xdsPort}`;
    const cap = XDS_LIMITS.maxStreamsPerNode;
    const client = new grpc.Client(target, grpc.credentials.createInsecure());
    const open: RawStream[] = [];
    try {
      const req = encodeDiscoveryRequest({ node: { id: 'dup', user_agent_name: 'envoy' }, type_url: TYPE_URL.cluster });
      for (let i = 0; i < cap; i++) {
        const s = openRaw(client);
        s.send(req);
        open.push(s);
      }
      for (const s of open) assert.equal(await s.settle(5000), 'response', JSON.stringify(s.end));
      const extra = openRaw(client);
      extra.send(req);
      const end = await extra.endWithin(5000);
      assert.equal(end.code, grpc.status.RESOURCE_EXHAUSTED, JSON.stringify(end));
      assert.match(end.details, new RegExp(`${cap}`));
      assert.match(end.details, /node/);
      // Someone else is not affected.
      await converges(target, 'good-node');
      // Closing one frees its slot.
      open.shift()!.close();
      await eventually(async () => {
        const again = openRaw(client);
        again.send(req);
        const r = await again.settle(2000);
        if (r === 'response') {
          open.push(again);
          return true;
        }
        return false;
      }, 5000);
      const metrics = await request(srv.baseUrl, '/metrics');
      assert.match(metrics.text, /edge_xds_refused_streams_total\{reason="streams_per_node"\} 1\b/);
    } finally {
      for (const s of open) s.close();
      client.close();
    }
  });
});

test('streams over the per-connection cap are refused with RESOURCE_EXHAUSTED; another connection converges', async () => {
  await withServer(async (srv) => {
    const target = `127.0.0.1:${srv.xdsPort}`;
    const cap = XDS_LIMITS.maxStreamsPerConnection;
    const EXTRA = 4;
    // Its own connection: grpc-js clients of one target otherwise share one (and the good proxy would be on it).
    const client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    const open: RawStream[] = [];
    try {
      for (let i = 0; i < cap + EXTRA; i++) {
        const s = openRaw(client);
        s.send(encodeDiscoveryRequest({ node: { id: `conn-${i}`, user_agent_name: 'envoy' }, type_url: TYPE_URL.cluster }));
        open.push(s);
      }
      const outcomes = await Promise.all(open.map((s) => s.settle(10_000)));
      const refused = open.filter((s) => s.end?.code === grpc.status.RESOURCE_EXHAUSTED);
      assert.equal(outcomes.filter((o) => o === 'response').length, cap, 'the first `cap` streams are served');
      assert.equal(refused.length, EXTRA, `refused: ${refused.length}`);
      for (const s of refused) assert.match(s.end!.details, new RegExp(`${cap}.*connection|connection.*${cap}`));
      await converges(target, 'good-conn');
      const metrics = await request(srv.baseUrl, '/metrics');
      assert.match(metrics.text, new RegExp(`edge_xds_refused_streams_total\\{reason="streams_per_connection"\\} ${EXTRA}\\b`));
    } finally {
      for (const s of open) s.close();
      client.close();
    }
  });
});

test('GET /v1/xds/connections pages with limit and cursor, and rejects bad parameters naming the field', async () => {
  await withServer(async (srv) => {
    const target = `127.0.0.1:${srv.xdsPort}`;
    const clients: XdsClient[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const c = new XdsClient(target, { id: `page-${i}`, user_agent_name: 'envoy' });
        c.subscribe('cluster', []);
        await c.nextOf('cluster');
        clients.push(c);
      }
      type Page = { connections: Array<{ stream: number; node: string }>; total: number; limit: number; nextCursor: string | null };
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: { status: number; json: Page } = await request<Page>(srv.baseUrl, `/v1/xds/connections?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(r.status, 200);
        assert.equal(r.json.total, 5);
        assert.equal(r.json.limit, 2);
        assert.ok(r.json.connections.length <= 2);
        seen.push(...r.json.connections.map((c) => c.node));
        cursor = r.json.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(seen, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);

      // Default page size, and a stream closing between pages does not shift the next page.
      const all = await request<Page>(srv.baseUrl, '/v1/xds/connections');
      assert.equal(all.json.limit, 100);
      assert.equal(all.json.connections.length, 5);
      assert.equal(all.json.nextCursor, null);
      const first = await request<Page>(srv.baseUrl, '/v1/xds/connections?limit=2');
      clients[0]!.close();
      await eventually(async () => (await request<Page>(srv.baseUrl, '/v1/xds/connections')).json.total === 4);
      const second = await request<Page>(srv.baseUrl, `/v1/xds/connections?limit=2&cursor=${first.json.nextCursor}`);
      assert.deepEqual(
        second.json.connections.map((c) => c.node),
        ['page-2', 'page-3'],
      );

      for (const [query, field] of [
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=abc', 'limit'],
        ['limit=1.5', 'limit'],
        ['limit=-3', 'limit'],
        ['limit=1&limit=2', 'limit'],
        ['cursor=abc', 'cursor'],
        ['cursor=-1', 'cursor'],
        ['cursor=', 'cursor'],
        ['offset=3', 'offset'],
      ] as const) {
        const r = await request<{ error: { code: string; message: string; field: string } }>(srv.baseUrl, `/v1/xds/connections?${query}`);
        assert.equal(r.status, 400, `${query}: ${r.status} ${r.text}`);
        assert.equal(r.json.error.field, field, `${query}: ${r.text}`);
      }
    } finally {
      for (const c of clients) c.close();
    }
  });
});
