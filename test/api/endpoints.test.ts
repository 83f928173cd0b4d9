/**
 * GET /v1/services/{name}/endpoints on the real server: the table a proxy at
 * a place (or on a registered node) receives, with every factor; 404 for an
 * unknown service or node, 400 for bad query parameters.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, request, registration, type TestServer } from '../helpers';
import type { ExplainRow } from '../../src/model';

type ErrorBody = { error: { code: string; message: string; field?: string } };
interface Table {
  service: string;
  requester: { region: string; zone: string; location: { lat: number; lon: number } | null };
  endpoints: ExplainRow[];
}

let srv: TestServer;
const ECHO = [{ name: 'echo', port: 50051, protocol: 'grpc' as const }];
const NODES = [
  { id: 'sh-1', zone: 'sh', location: { lat: 31.23, lon: 121.47 }, address: '10.2.0.1', capacity: { maxRps: 600 }, cpu: 0.2 },
  { id: 'sh-2', zone: 'sh', location: { lat: 31.2, lon: 121.44 }, address: '10.2.0.2', capacity: { maxRps: 200 }, cpu: 0.6 },
  { id: 'hz-1', zone: 'hz', location: { lat: 30.27, lon: 120.15 }, address: '10.2.0.3', capacity: { maxRps: 400 }, cpu: 0.2 },
  { id: 'bj-1', region: 'cn-north', zone: 'bj', location: { lat: 39.9, lon: 116.4 }, address: '10.2.0.4', capacity: { maxRps: 400 }, cpu: 0.2 },
];

const get = <T>(q: string) => request<T>(srv.baseUrl, q);

before(async () => {
  srv = await startTestServer();
  for (const n of NODES) {
    const r = await request(srv.baseUrl, '/v1/nodes', {
      body: registration({ id: n.id, region: n.region ?? 'cn-east', zone: n.zone, subZone: '', location: n.location, address: n.address, services: ECHO, capacity: n.capacity }),
    });
    assert.ok(r.status === 201 || r.status === 200, r.text);
    const hb = await request(srv.baseUrl, `/v1/nodes/${n.id}/heartbeat`, {
      body: { load: { cpu: n.cpu, memory: 0.1, network: 0.1 }, network: { latencyMs: 10, jitterMs: 2, packetLoss: 0 } },
    });
    assert.equal(hb.status, 204, hb.text);
  }
});

after(async () => {
  await srv?.stop();
});

test('the table for a place: every field, priorities by zone/region, shares summing to 100 per priority', async () => {
  const r = await get<Table>('/v1/services/echo/endpoints?region=cn-east&zone=sh&lat=31.23&lon=121.47&kind=grpc');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.service, 'echo');
  assert.deepEqual(r.json.requester, { region: 'cn-east', zone: 'sh', location: { lat: 31.23, lon: 121.47 } });
  const rows = r.json.endpoints;
  assert.deepEqual(
    rows.map((e) => [e.nodeId, e.priority]),
    [
      ['sh-1', 0],
      ['sh-2', 0],
      ['hz-1', 1],
      ['bj-1', 2],
    ],
  );
  for (const e of rows) {
    for (const f of ['endpoint', 'locality', 'priority', 'weight', 'sharePct', 'health', 'distanceKm', 'load', 'capacity', 'networkFactor'] as const) {
      assert.ok(e[f] !== undefined, `${e.nodeId}: ${f} missing in ${JSON.stringify(e)}`);
    }
    assert.equal(e.health, 'HEALTHY');
    assert.ok(Number.isInteger(e.weight) && e.weight >= 1);
    assert.ok(e.networkFactor > 0 && e.networkFactor <= 1);
    assert.equal(e.locality.subZone, e.nodeId, 'each node is its own locality');
  }
  const sh1 = rows[0];
  assert.equal(sh1.endpoint, '10.2.0.1:50051');
  assert.deepEqual(sh1.locality, { region: 'cn-east', zone: 'sh', subZone: 'sh-1' });
  assert.equal(sh1.distanceKm, 0);
  assert.equal(sh1.capacity, 600);
  assert.equal(sh1.load, 0.2);
  assert.ok(Math.abs(rows[2].distanceKm! - 165) < 10, `Shanghai-Hangzhou ~165 km: ${rows[2].distanceKm}`);
  assert.ok(rows[3].distanceKm! > 1000, `Shanghai-Beijing > 1000 km: ${rows[3].distanceKm}`);
  // sh-1: 600/(0.2+0.25) vs sh-2: 200/(0.6+0.25) (4.4 km apart): about 85/15.
  assert.ok(sh1.sharePct > 80 && sh1.sharePct < 90, JSON.stringify(rows.slice(0, 2)));
  for (const p of [0, 1, 2]) {
    const sum = rows.filter((e) => e.priority === p).reduce((a, e) => a + e.sharePct, 0);
    assert.ok(Math.abs(sum - 100) < 0.1, `priority ${p} shares sum to ${sum}`);
  }
});

test('?node=ID places the requester at that node; kind=envoy answers too; without a location the zone centroid is used', async () => {
  const byNode = await get<Table>('/v1/services/echo/endpoints?node=hz-1');
  assert.equal(byNode.status, 200, byNode.text);
  assert.deepEqual(byNode.json.requester, { region: 'cn-east', zone: 'hz', location: { lat: 30.27, lon: 120.15 } });
  assert.deepEqual(
    byNode.json.endpoints.filter((e) => e.priority === 0).map((e) => e.nodeId),
    ['hz-1'],
  );
  assert.equal(byNode.json.endpoints.find((e) => e.nodeId === 'hz-1')!.distanceKm, 0);

  const envoy = await get<Table>('/v1/services/echo/endpoints?region=cn-north&zone=bj&kind=envoy');
  assert.equal(envoy.status, 200, envoy.text);
  assert.deepEqual(
    envoy.json.endpoints.filter((e) => e.priority === 0).map((e) => e.nodeId),
    ['bj-1'],
  );
  const centroid = envoy.json.requester.location!;
  assert.ok(Math.abs(centroid.lat - 39.9) < 0.01 && Math.abs(centroid.lon - 116.4) < 0.01, JSON.stringify(centroid));
});

test('a node registered just now is in the table at once, and a heartbeat overload shows as weight 1', async () => {
  const r = await request(srv.baseUrl, '/v1/nodes', {
    body: registration({ id: 'sh-3', zone: 'sh', subZone: '', location: { lat: 31.22, lon: 121.46 }, address: '10.2.0.5', services: ECHO, capacity: { maxRps: 500 } }),
  });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  const hb = await request(srv.baseUrl, '/v1/nodes/sh-3/heartbeat', { body: { load: { cpu: 0.95, memory: 0.1, network: 0.1 } } });
  assert.equal(hb.status, 204, hb.text);
  const t = await get<Table>('/v1/services/echo/endpoints?region=cn-east&zone=sh');
  const sh3 = t.json.endpoints.find((e) => e.nodeId === 'sh-3');
  assert.ok(sh3, JSON.stringify(t.json.endpoints.map((e) => e.nodeId)));
  assert.equal(sh3.priority, 0);
  assert.equal(sh3.weight, 1);
  assert.equal(sh3.overloaded, true);
  assert.ok(sh3.sharePct < 0.1);
});

test('404 for an unknown service or node', async () => {
  const svc = await get<ErrorBody>('/v1/services/nope/endpoints?region=cn-east');
  assert.equal(svc.status, 404, svc.text);
  assert.equal(svc.json.error.field, 'name');
  assert.match(svc.json.error.message, /nope/);
  const node = await get<ErrorBody>('/v1/services/echo/endpoints?node=ghost');
  assert.equal(node.status, 404, node.text);
  assert.equal(node.json.error.field, 'node');
  assert.match(node.json.error.message, /ghost/);
});

test('400 naming the parameter for bad lat/lon and other bad queries', async () => {
  const cases: Array<[string, string]> = [
    ['region=cn-east&lat=abc&lon=121', 'lat'],
    ['region=cn-east&lat=91&lon=121', 'lat'],
    ['region=cn-east&lat=-90.5&lon=121', 'lat'],
    ['region=cn-east&lat=31&lon=181', 'lon'],
    ['region=cn-east&lat=31&lon=1e3', 'lon'],
    ['region=cn-east&lat=31', 'lat'],
    ['zone=sh', 'region'],
    ['region=cn-east&kind=istio', 'kind'],
  ];
  for (const [q, field] of cases) {
    const r = await get<ErrorBody>(`/v1/services/echo/endpoints?${q}`);
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.equal(r.json.error.field, field, `${q}: ${r.text}`);
  }
  const unknown = await get<ErrorBody>('/v1/services/echo/endpoints?region=cn-east&color=red');
  assert.equal(unknown.status, 400, unknown.text);
});
