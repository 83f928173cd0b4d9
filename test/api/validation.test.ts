import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeNode, RegistryEvent } from '../../src/domain';
import { HEARTBEAT, RequestOptions, TestServer, client, registration, startTestServer } from '../helpers';

let srv: TestServer;
let http: ReturnType<typeof client>;

before(async () => {
  srv = await startTestServer();
  http = client(srv.baseUrl);
  assert.equal((await http('/v1/nodes', { body: registration({ id: 'known' }) })).status, 201);
});
after(async () => {
  await srv.stop();
});

interface Case {
  name: string;
  path?: string;
  req: RequestOptions;
  status: number;
  code?: string;
  field?: string | null;
}

const reg = (o: Record<string, unknown>): RequestOptions => ({ body: registration({ id: 'new-node', ...o }) });
const without = (key: string): RequestOptions => {
  const body = registration({ id: 'new-node' });
  delete body[key];
  return { body };
};
const svc = (s: Record<string, unknown>) => reg({ services: [{ name: 'api', port: 80, protocol: 'http', ...s }] });
const hb = (body: unknown): RequestOptions => ({ body });
const HB = '/v1/nodes/known/heartbeat';

const cases: Case[] = [
  // missing fields
  { name: 'missing id', req: without('id'), status: 400, code: 'missing_field', field: 'id' },
  { name: 'missing region', req: without('region'), status: 400, code: 'missing_field', field: 'region' },
  { name: 'missing zone', req: without('zone'), status: 400, code: 'missing_field', field: 'zone' },
  { name: 'missing location', req: without('location'), status: 400, code: 'missing_field', field: 'location' },
  { name: 'missing location.lon', req: reg({ location: { lat: 1 } }), status: 400, code: 'missing_field', field: 'location.lon' },
  { name: 'missing address', req: without('address'), status: 400, code: 'missing_field', field: 'address' },
  { name: 'missing service port', req: reg({ services: [{ name: 'api' }] }), status: 400, code: 'missing_field', field: 'services.0.port' },
  { name: 'empty body', req: { body: {} }, status: 400, code: 'missing_field', field: 'id' },
  // wrong types
  { name: 'lat as string', req: reg({ location: { lat: '31.2', lon: 121 } }), status: 400, code: 'invalid_type', field: 'location.lat' },
  { name: 'lat "NaN"', req: reg({ location: { lat: 'NaN', lon: 121 } }), status: 400, code: 'invalid_type', field: 'location.lat' },
  { name: 'lon "Infinity"', req: reg({ location: { lat: 1, lon: 'Infinity' } }), status: 400, code: 'invalid_type', field: 'location.lon' },
  { name: 'lat null', req: reg({ location: { lat: null, lon: 1 } }), status: 400, code: 'invalid_type', field: 'location.lat' },
  { name: 'services not an array', req: reg({ services: { name: 'api' } }), status: 400, code: 'invalid_type', field: 'services' },
  { name: 'port as string', req: svc({ port: '80' }), status: 400, code: 'invalid_type', field: 'services.0.port' },
  { name: 'labels value number', req: reg({ labels: { tier: 1 } }), status: 400, code: 'invalid_type', field: 'labels.tier' },
  { name: 'body is an array', req: { body: [registration()] }, status: 400, code: 'invalid_type', field: null },
  { name: 'unknown role', req: reg({ role: 'router' }), status: 400, code: 'invalid_value', field: 'role' },
  { name: 'unknown protocol', req: svc({ protocol: 'udp' }), status: 400, code: 'invalid_value', field: 'services.0.protocol' },
  { name: 'unknown field', req: reg({ colour: 'red' }), status: 400, code: 'unknown_field', field: 'colour' },
  // ranges
  { name: 'lat > 90', req: reg({ location: { lat: 90.5, lon: 0 } }), status: 400, code: 'out_of_range', field: 'location.lat' },
  { name: 'lat < -90', req: reg({ location: { lat: -91, lon: 0 } }), status: 400, code: 'out_of_range', field: 'location.lat' },
  { name: 'lon > 180', req: reg({ location: { lat: 0, lon: 180.01 } }), status: 400, code: 'out_of_range', field: 'location.lon' },
  { name: 'lon < -180', req: reg({ location: { lat: 0, lon: -200 } }), status: 400, code: 'out_of_range', field: 'location.lon' },
  { name: 'port 0', req: svc({ port: 0 }), status: 400, code: 'out_of_range', field: 'services.0.port' },
  { name: 'port 65536', req: svc({ port: 65536 }), status: 400, code: 'out_of_range', field: 'services.0.port' },
  { name: 'port not integer', req: svc({ port: 80.5 }), status: 400, field: 'services.0.port' },
  { name: 'negative capacity', req: reg({ capacity: { cpu: -1 } }), status: 400, code: 'out_of_range', field: 'capacity.cpu' },
  // names
  { name: 'id with uppercase', req: reg({ id: 'Edge-1' }), status: 400, code: 'invalid_format', field: 'id' },
  { name: 'id with underscore', req: reg({ id: 'edge_1' }), status: 400, code: 'invalid_format', field: 'id' },
  { name: 'id leading dash', req: reg({ id: '-edge' }), status: 400, code: 'invalid_format', field: 'id' },
  { name: 'id trailing dash', req: reg({ id: 'edge-' }), status: 400, code: 'invalid_format', field: 'id' },
  { name: 'id too long', req: reg({ id: 'a'.repeat(64) }), status: 400, code: 'invalid_format', field: 'id' },
  { name: 'id empty', req: reg({ id: '' }), status: 400, code: 'invalid_format', field: 'id' },
  { name: 'service name with dot', req: svc({ name: 'api.v1' }), status: 400, code: 'invalid_format', field: 'services.0.name' },
  { name: 'zone with space', req: reg({ zone: 'shanghai a' }), status: 400, code: 'invalid_format', field: 'zone' },
  { name: 'address is a hostname', req: reg({ address: 'edge1.example.com' }), status: 400, code: 'invalid_format', field: 'address' },
  { name: 'address 999.1.1.1', req: reg({ address: '999.1.1.1' }), status: 400, code: 'invalid_format', field: 'address' },
  { name: 'bad label key', req: reg({ labels: { 'bad key!': 'x' } }), status: 400, code: 'invalid_format', field: 'labels.bad key!' },
  // arrays
  {
    name: 'duplicate service names',
    req: reg({
      services: [
        { name: 'api', port: 80 },
        { name: 'web', port: 81 },
        { name: 'api', port: 82 },
      ],
    }),
    status: 400,
    code: 'duplicate',
    field: 'services.2.name',
  },
  {
    name: 'too many services (65)',
    req: reg({ services: Array.from({ length: 65 }, (_, i) => ({ name: `s${i}`, port: 1000 + i })) }),
    status: 400,
    code: 'too_many_items',
    field: 'services',
  },
  {
    name: 'too many labels (65)',
    req: reg({ labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }),
    status: 400,
    code: 'too_many_items',
    field: 'labels',
  },
  // heartbeats
  { name: 'load.cpu > 1', path: HB, req: hb({ load: { cpu: 1.5 } }), status: 400, code: 'out_of_range', field: 'load.cpu' },
  { name: 'load.memory < 0', path: HB, req: hb({ load: { memory: -0.1 } }), status: 400, code: 'out_of_range', field: 'load.memory' },
  { name: 'packetLoss > 1', path: HB, req: hb({ network: { packetLoss: 2 } }), status: 400, code: 'out_of_range', field: 'network.packetLoss' },
  { name: 'latency negative', path: HB, req: hb({ network: { latencyMs: -5 } }), status: 400, code: 'out_of_range', field: 'network.latencyMs' },
  { name: 'load "NaN"', path: HB, req: hb({ load: { cpu: 'NaN' } }), status: 400, code: 'invalid_type', field: 'load.cpu' },
  { name: 'unknown heartbeat field', path: HB, req: hb({ ...HEARTBEAT, temp: 3 }), status: 400, code: 'unknown_field', field: 'temp' },
  { name: 'heartbeat unknown node', path: '/v1/nodes/ghost/heartbeat', req: hb(HEARTBEAT), status: 404, code: 'not_found', field: 'id' },
  // transport
  { name: 'malformed JSON', req: { rawBody: '{"id": "x",', headers: { 'content-type': 'application/json' } }, status: 400, code: 'malformed_json', field: null },
  { name: 'malformed JSON heartbeat', path: HB, req: { rawBody: '{load:', headers: { 'content-type': 'application/json' } }, status: 400, code: 'malformed_json' },
  {
    name: 'malformed JSON for an unknown node (JSON is checked first, as in express)',
    path: '/v1/nodes/ghost/heartbeat',
    req: { rawBody: '{', headers: { 'content-type': 'application/json' } },
    status: 400,
    code: 'malformed_json',
  },
  { name: 'heartbeat body is a JSON string', path: HB, req: { rawBody: '"hello"', headers: { 'content-type': 'application/json' } }, status: 400, code: 'malformed_json' },
  { name: 'heartbeat body is an array', path: HB, req: { body: [] }, status: 400, code: 'invalid_type', field: null },
  {
    name: 'heartbeat over 64 KiB',
    path: HB,
    req: { rawBody: `{"load":{"cpu":0.1},"pad":"${'x'.repeat(70_000)}"}`, headers: { 'content-type': 'application/json' } },
    status: 413,
    code: 'payload_too_large',
  },
  { name: 'bare NaN in JSON', path: HB, req: { rawBody: '{"load":{"cpu":NaN}}', headers: { 'content-type': 'application/json' } }, status: 400, code: 'malformed_json' },
  { name: 'text/plain body', req: { rawBody: 'id=x', headers: { 'content-type': 'text/plain' } }, status: 415, code: 'unsupported_media_type' },
  { name: 'form body', path: HB, req: { rawBody: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, status: 415 },
  { name: 'body without content type', req: { rawBody: '{}' }, status: 415 },
  {
    name: 'body over 64 KiB',
    req: { rawBody: JSON.stringify({ ...registration({ id: 'big' }), labels: { x: 'y'.repeat(70_000) } }), headers: { 'content-type': 'application/json' } },
    status: 413,
    code: 'payload_too_large',
  },
];

test('every bad input gets its status, code and field, and writes nothing', async () => {
  const eventsBefore = (await http<{ events: RegistryEvent[] }>('/v1/events?limit=1000')).json.events.length;
  for (const c of cases) {
    const res = await http<{ error: { code: string; message: string; field: string | null } }>(c.path ?? '/v1/nodes', { method: 'POST', ...c.req });
    assert.equal(res.status, c.status, `${c.name}: status (${res.text})`);
    assert.equal(typeof res.json?.error?.message, 'string', `${c.name}: JSON error body (${res.text})`);
    if (c.code !== undefined) assert.equal(res.json.error.code, c.code, `${c.name}: code (${res.text})`);
    if (c.field !== undefined) assert.equal(res.json.error.field, c.field, `${c.name}: field (${res.text})`);
  }
  const nodes = (await http<{ nodes: EdgeNode[] }>('/v1/nodes')).json.nodes;
  assert.deepEqual(
    nodes.map((n) => n.id),
    ['known'],
  );
  assert.equal(nodes[0].lastHeartbeat, null, 'no bad heartbeat was recorded');
  const eventsAfter = (await http<{ events: RegistryEvent[] }>('/v1/events?limit=1000')).json.events.length;
  assert.equal(eventsAfter, eventsBefore);
  assert.equal((await http('/healthz')).status, 200, 'server still up');
});

test('boundary values are accepted', async () => {
  const ok = await http<EdgeNode>('/v1/nodes', {
    body: registration({
      id: 'a'.repeat(63),
      location: { lat: -90, lon: 180 },
      address: '2001:db8::10',
      services: Array.from({ length: 64 }, (_, i) => ({ name: `s${i}`, port: i === 0 ? 1 : 65535 - i, protocol: 'tcp' as const })),
    }),
  });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.services.length, 64);
  const hbRes = await http(`/v1/nodes/${'a'.repeat(63)}/heartbeat`, { body: { load: { cpu: 0, memory: 1, network: 1 }, network: { packetLoss: 0 } } });
  assert.equal(hbRes.status, 204);
  const del = await http(`/v1/nodes/${'a'.repeat(63)}`, { method: 'DELETE' });
  assert.equal(del.status, 202);
});

test('unknown routes answer 404 JSON', async () => {
  const res = await http<{ error: { code: string } }>('/v2/whatever');
  assert.equal(res.status, 404);
  assert.equal(res.json.error.code, 'not_found');
});

test('heartbeat content types: JSON with charset or +json suffix accepted, others 415', async () => {
  const send = (type: string) => http(HB, { rawBody: JSON.stringify(HEARTBEAT), headers: { 'content-type': type } });
  assert.equal((await send('application/json; charset=utf-8')).status, 204);
  assert.equal((await send('application/vnd.edge+json')).status, 204);
  assert.equal((await send('Application/JSON')).status, 204);
  const r = await send('text/json-ish');
  assert.equal(r.status, 415);
  assert.equal((r.json as { error: { code: string } }).error.code, 'unsupported_media_type');
  const chunkedEmpty = await http(HB, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '0' } });
  assert.equal(chunkedEmpty.status, 204);
});
