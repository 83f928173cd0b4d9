/**
 * Issue #11.2 (other client input): names that are also Object.prototype
 * members (`constructor`, `toString`, `__proto__`) are ordinary names or a
 * 4xx naming the field, never a 500; odd query values are 4xx naming the field.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { WeightsConfig } from '../../src/model';
import { TestServer, client, registration, startTestServer } from '../helpers';

let srv: TestServer;
let http: ReturnType<typeof client>;

type ErrorBody = { error: { code: string; message: string; field: string | null } };

before(async () => {
  srv = await startTestServer();
  http = client(srv.baseUrl);
  const svc = [{ name: 'echo', port: 50051, protocol: 'grpc' as const }];
  // `constructor` is a valid DNS label, so a region, zone or service may be called that.
  for (const [id, region, address] of [
    ['ctor-1', 'constructor', '10.0.0.1'],
    ['plain-1', 'cn-east', '10.0.0.2'],
  ]) {
    const r = await http('/v1/nodes', { body: registration({ id, region, address, zone: 'constructor', subZone: 'constructor', services: svc }) });
    assert.equal(r.status, 201, r.text);
  }
  const r = await http('/v1/nodes', { body: registration({ id: 'ctor-svc', services: [{ name: 'constructor', port: 80, protocol: 'http' }] }) });
  assert.equal(r.status, 201, r.text);
});
after(async () => {
  await srv.stop();
});

test('prototype names as region, zone, service or query value: answered, no 500', async () => {
  const paths = [
    '/v1/services/echo/endpoints?node=ctor-1',
    '/v1/services/echo/endpoints?node=plain-1',
    '/v1/services/echo/endpoints?region=constructor',
    '/v1/services/echo/endpoints?region=toString&zone=constructor',
    '/v1/services/echo/endpoints?region=hasOwnProperty&lat=1&lon=2',
    '/v1/services/echo/endpoints?region=__proto__&kind=envoy',
    '/v1/services/constructor/endpoints?region=constructor',
    '/v1/nodes?region=constructor',
    '/v1/relays?region=constructor',
    '/v1/bootstrap/ctor-1',
    '/v1/bootstrap/ctor-1?format=grpc',
  ];
  for (const p of paths) {
    const r = await http(p);
    assert.equal(r.status, 200, `${p}: ${r.text}`);
  }
  for (const p of ['/v1/services/toString/endpoints?region=x', '/v1/services/__proto__/endpoints?region=x', '/v1/nodes/constructor', '/v1/config_dump/constructor']) {
    const r = await http<ErrorBody>(p);
    assert.equal(r.status, 404, `${p}: ${r.text}`);
    assert.ok(r.json.error.field, r.text);
  }
  const table = (await http<{ endpoints: Array<{ nodeId: string; priority: number }> }>('/v1/services/echo/endpoints?region=constructor')).json;
  assert.deepEqual(table.endpoints.map((e) => e.nodeId).sort(), ['ctor-1', 'plain-1']);
  assert.equal(table.endpoints.find((e) => e.nodeId === 'ctor-1')?.priority, 0, 'the same-region node comes first');
});

test('PUT /v1/config/weights: a `__proto__` key is an unknown field, and nothing changes', async () => {
  const before = (await http<WeightsConfig>('/v1/config/weights')).json;
  const cases: Array<[string, string]> = [
    ['{"__proto__": {"strategy": "round-robin"}}', '__proto__'],
    ['{"load": {"__proto__": {"cpuWeight": 5}}}', 'load.__proto__'],
    ['{"network": {"__proto__": {"x": 1}}}', 'network.__proto__'],
    ['{"constructor": {"x": 1}}', 'constructor'],
    ['{"load": {"constructor": 1}}', 'load.constructor'],
  ];
  for (const [body, field] of cases) {
    const r = await http<ErrorBody>('/v1/config/weights', { method: 'PUT', rawBody: body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, `${body}: ${r.text}`);
    assert.equal(r.json.error.field, field, `${body}: ${r.text}`);
  }
  // A region called `constructor` in regionFailover is a region like any other.
  const ok = await http<WeightsConfig>('/v1/config/weights', { method: 'PUT', body: { regionFailover: { 'cn-east': ['constructor'] } } });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.regionFailover, { 'cn-east': ['constructor'] });
  assert.equal((await http('/v1/services/echo/endpoints?node=plain-1')).status, 200);
  assert.equal((await http('/v1/services/echo/endpoints?region=constructor')).status, 200);
  const reset = await http<WeightsConfig>('/v1/config/weights', { method: 'PUT', body: { regionFailover: before.regionFailover } });
  assert.deepEqual(reset.json, before);
});

test('odd query values: 400 naming the field', async () => {
  const cases: Array<[string, string, string?]> = [
    ['/v1/events?limit=abc&limit=1', 'limit'],
    ['/v1/events?since=0x10', 'since', 'invalid_format'],
    ['/v1/events?since=1e3', 'since', 'invalid_format'],
    ['/v1/events?since=%20', 'since', 'invalid_format'],
    ['/v1/events?since=', 'since', 'invalid_format'],
    ['/v1/events?limit=', 'limit', 'invalid_format'],
    ['/v1/events?since=99999999999999999999', 'since', 'out_of_range'],
    ['/v1/events?since=1&since=2', 'since'],
    ['/v1/events?node=a&node=b', 'node'],
    ['/v1/nodes?region=a&region=b', 'region'],
    ['/v1/nodes?__proto__=x', '__proto__', 'unknown_field'],
    ['/v1/relays?near=' + '9'.repeat(400) + ',2', 'near.lat', 'out_of_range'],
    ['/v1/relays?near=1,' + '9'.repeat(400), 'near.lon', 'out_of_range'],
    ['/v1/relays?near=1,2&near=3,4', 'near'],
    ['/v1/services/echo/endpoints?region=a&lat=' + '9'.repeat(400) + '&lon=1', 'lat', 'out_of_range'],
    ['/v1/services/echo/endpoints?node=a&node=b', 'node'],
    ['/v1/bootstrap/ctor-1?format=envoy&format=grpc', 'format'],
  ];
  for (const [p, field, code] of cases) {
    const r = await http<ErrorBody>(p);
    assert.equal(r.status, 400, `${p.slice(0, 80)}: ${r.text}`);
    assert.equal(r.json.error.field, field, `${p.slice(0, 80)}: ${r.text}`);
    if (code) assert.equal(r.json.error.code, code, `${p.slice(0, 80)}: ${r.text}`);
  }
  // Plain decimal values still work.
  assert.equal((await http('/v1/events?since=0&limit=5')).status, 200);
});
