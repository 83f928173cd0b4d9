/**
 * GET/PUT /v1/config/weights on the real server: defaults, validation errors
 * that name the field (400 JSON), partial merges, persistence across a
 * restart, and a PUT that changes lambda changes the computed table.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startTestServer, makeTempDir, removeDir, request, registration, type TestServer } from '../helpers';
import { DEFAULT_WEIGHTS_CONFIG, type ExplainRow, type WeightsConfig } from '../../src/model';

type ErrorBody = { error: { code: string; message: string; field?: string } };

let dir: string;
let db: string;
let srv: TestServer;

before(async () => {
  dir = makeTempDir('edge-xds-weights-');
  db = path.join(dir, 'edge-xds.db');
  srv = await startTestServer({ db });
});

after(async () => {
  await srv?.stop();
  removeDir(dir);
});

test('GET returns the documented defaults', async () => {
  const r = await request<WeightsConfig>(srv.baseUrl, '/v1/config/weights');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, JSON.parse(JSON.stringify(DEFAULT_WEIGHTS_CONFIG)));
  assert.equal(r.json.lambdaPerKm, 0.01);
  assert.equal(r.json.hysteresisPct, 10);
  assert.equal(r.json.overload.threshold, 0.9);
});

test('invalid PUTs are 400 JSON naming the field, and change nothing', async () => {
  const cases: Array<[unknown, string]> = [
    [{ lambdaPerKm: -1 }, 'lambdaPerKm'],
    [{ lambdaPerKm: 'fast' }, 'lambdaPerKm'],
    [{ epsilon: 0 }, 'epsilon'],
    [{ network: { latencyRefMs: 0 } }, 'network.latencyRefMs'],
    [{ overload: { threshold: 1.5 } }, 'overload.threshold'],
    [{ load: { combine: 'min' } }, 'load.combine'],
    [{ hysteresisPct: 101 }, 'hysteresisPct'],
    [{ weightScale: 100.5 }, 'weightScale'],
    [{ nonHealthyEndpoints: 'drop' }, 'nonHealthyEndpoints'],
    [{ regionFailover: { 'cn-east': ['cn-east'] } }, 'regionFailover.cn-east.0'],
    [{ regionFailover: { 'cn-east': ['cn-north', 'cn-north'] } }, 'regionFailover.cn-east.1'],
    [{ lambda: 0.1 }, 'lambda'],
    [{ network: { latencyRef: 5 } }, 'network.latencyRef'],
  ];
  const before = (await request(srv.baseUrl, '/v1/config/weights')).json;
  for (const [body, field] of cases) {
    const r = await request<ErrorBody>(srv.baseUrl, '/v1/config/weights', { method: 'PUT', body });
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.match(String(r.headers['content-type']), /application\/json/);
    assert.equal(r.json.error.code, 'invalid_config', r.text);
    assert.equal(r.json.error.field, field, `${JSON.stringify(body)}: ${r.text}`);
    assert.ok(r.json.error.message.length > 0);
  }
  // Not an object / not JSON.
  const arr = await request<ErrorBody>(srv.baseUrl, '/v1/config/weights', { method: 'PUT', body: [1, 2] });
  assert.equal(arr.status, 400, arr.text);
  const bad = await request<ErrorBody>(srv.baseUrl, '/v1/config/weights', { method: 'PUT', rawBody: '{"lambdaPerKm":', headers: { 'content-type': 'application/json' } });
  assert.equal(bad.status, 400, bad.text);
  assert.ok(bad.json?.error, bad.text);
  assert.deepEqual((await request(srv.baseUrl, '/v1/config/weights')).json, before);
});

test('a PUT merges over the current config (nested sections field by field) and answers the result', async () => {
  const r = await request<WeightsConfig>(srv.baseUrl, '/v1/config/weights', { method: 'PUT', body: { overload: { threshold: 0.8 }, regionFailover: { 'cn-east': ['cn-north'] } } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.overload.threshold, 0.8);
  assert.equal(r.json.overload.weightFactor, DEFAULT_WEIGHTS_CONFIG.overload.weightFactor);
  assert.deepEqual(r.json.regionFailover, { 'cn-east': ['cn-north'] });
  const r2 = await request<WeightsConfig>(srv.baseUrl, '/v1/config/weights', { method: 'PUT', body: { hysteresisPct: 5 } });
  assert.equal(r2.json.overload.threshold, 0.8, 'earlier PUT kept');
  assert.equal(r2.json.hysteresisPct, 5);
  assert.deepEqual((await request(srv.baseUrl, '/v1/config/weights')).json, r2.json);
});

async function shares(base: string): Promise<Record<string, number>> {
  const r = await request<{ endpoints: ExplainRow[] }>(base, '/v1/services/echo/endpoints?region=cn-east&zone=nowhere&lat=31.23&lon=121.47');
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.json.endpoints.map((e) => [e.nodeId, e.sharePct]));
}

test('a PUT that changes lambda changes the computed table', async () => {
  // Two equal nodes of cn-east, 2.7 km and ~80 km from the requester.
  const nodes = [
    { id: 'near', location: { lat: 31.24, lon: 121.5 }, address: '10.1.0.1' },
    { id: 'far', location: { lat: 31.3, lon: 120.62 }, address: '10.1.0.2' },
  ];
  for (const n of nodes) {
    const r = await request(srv.baseUrl, '/v1/nodes', {
      body: registration({ ...n, zone: 'sh', subZone: '', services: [{ name: 'echo', port: 50051, protocol: 'grpc' }], capacity: { maxRps: 100 } }),
    });
    assert.ok(r.status === 201 || r.status === 200, r.text);
  }
  const withDefault = await shares(srv.baseUrl);
  assert.ok(withDefault.near > 60, `distance matters at lambda 0.01: ${JSON.stringify(withDefault)}`);
  const put = await request<WeightsConfig>(srv.baseUrl, '/v1/config/weights', { method: 'PUT', body: { lambdaPerKm: 0 } });
  assert.equal(put.status, 200, put.text);
  const flat = await shares(srv.baseUrl);
  assert.ok(Math.abs(flat.near - 50) < 0.5 && Math.abs(flat.far - 50) < 0.5, `lambda 0: distance no longer matters: ${JSON.stringify(flat)}`);
  const steep = await request<WeightsConfig>(srv.baseUrl, '/v1/config/weights', { method: 'PUT', body: { lambdaPerKm: 0.05 } });
  assert.equal(steep.status, 200);
  const s = await shares(srv.baseUrl);
  assert.ok(s.near > withDefault.near, `steeper decay favours the near node more: ${JSON.stringify(s)} vs ${JSON.stringify(withDefault)}`);
});

test('the configuration survives a restart of the server', async () => {
  const current = (await request<WeightsConfig>(srv.baseUrl, '/v1/config/weights')).json;
  assert.equal(current.lambdaPerKm, 0.05);
  await srv.stop();
  srv = await startTestServer({ db });
  const r = await request<WeightsConfig>(srv.baseUrl, '/v1/config/weights');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, current);
  // And it is the one in force: the table still uses lambda 0.05.
  const s = await shares(srv.baseUrl);
  assert.ok(s.near > 95, JSON.stringify(s));
});
