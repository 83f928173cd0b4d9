/**
 * Issue #11.4: POST /register (seed compatibility) applies the limits of
 * POST /v1/nodes to what `capabilities` maps to, reads client keys as own
 * properties only, and stores nothing when it rejects.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeNode } from '../../src/domain';
import { mapCapabilities } from '../../src/api';
import { TestServer, client, registration, seedRegistration, startTestServer } from '../helpers';

let srv: TestServer;
let http: ReturnType<typeof client>;

before(async () => {
  srv = await startTestServer();
  http = client(srv.baseUrl);
});
after(async () => {
  await srv.stop();
});

type ErrorBody = { error: { code: string; message: string; field: string | null } };

/** [capabilities, field named, code]; raw JSON so `__proto__` arrives as an own key. */
const JUNK: Array<[string, string, string]> = [
  ['{"constructor": 4}', 'capabilities.constructor', 'invalid_format'],
  ['{"toString": 4}', 'capabilities.toString', 'invalid_format'],
  ['{"hasOwnProperty": 4}', 'capabilities.hasOwnProperty', 'invalid_format'],
  ['{"valueOf": "x"}', 'capabilities.valueOf', 'invalid_format'],
  ['{"__proto__": {"cpu": 4}}', 'capabilities.__proto__', 'invalid_format'],
  ['{"__proto__": 4}', 'capabilities.__proto__', 'invalid_format'],
  ['{"cpu": 1e300}', 'capabilities.cpu', 'out_of_range'],
  ['{"cpus": 100001}', 'capabilities.cpus', 'out_of_range'],
  ['{"cpu_cores": 0}', 'capabilities.cpu_cores', 'out_of_range'],
  ['{"cpu": -2}', 'capabilities.cpu', 'out_of_range'],
  ['{"cpu": "4"}', 'capabilities.cpu', 'invalid_type'],
  ['{"cpu": null}', 'capabilities.cpu', 'invalid_type'],
  ['{"max_rps": 1e308}', 'capabilities.max_rps', 'out_of_range'],
  ['{"maxRps": 1000000001}', 'capabilities.maxRps', 'out_of_range'],
  ['{"memory": "99999999999999999999999999Ti"}', 'capabilities.memory', 'out_of_range'],
  [
    '{"memory": "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"}',
    'capabilities.memory',
    'out_of_range',
  ],
  ['{"memory_mb": 1e10}', 'capabilities.memory_mb', 'out_of_range'],
  ['{"memoryMb": 0}', 'capabilities.memoryMb', 'out_of_range'],
  ['{"memory": "8constructor"}', 'capabilities.memory', 'invalid_format'],
  ['{"memory": "8toString"}', 'capabilities.memory', 'invalid_format'],
  ['{"memory": "lots"}', 'capabilities.memory', 'invalid_format'],
  ['{"memory": true}', 'capabilities.memory', 'invalid_type'],
];

function seedBody(nodeId: string, capabilities: string): string {
  const base = JSON.stringify({ ...seedRegistration(nodeId), capabilities: '@CAPS@' });
  return base.replace('"@CAPS@"', capabilities);
}

test('junk capabilities: 400 naming the field, and no node is stored', async () => {
  let i = 0;
  for (const [caps, field, code] of JUNK) {
    const id = `junk-${i++}`;
    const r = await http<ErrorBody>('/register', { rawBody: seedBody(id, caps), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, `${caps}: ${r.status} ${r.text}`);
    assert.equal(r.json.error.field, field, `${caps}: ${r.text}`);
    assert.equal(r.json.error.code, code, `${caps}: ${r.text}`);
    assert.ok(r.json.error.message.startsWith(`${field}: `), r.text);
    assert.equal((await http(`/v1/nodes/${id}`)).status, 404, `${caps}: nothing stored`);
  }
  assert.deepEqual((await http<{ nodes: EdgeNode[] }>('/v1/nodes')).json.nodes, []);
});

test('junk capabilities on a registered node leave its stored row unchanged', async () => {
  assert.equal((await http('/register', { body: seedRegistration('seeded') })).status, 200);
  const before = (await http<EdgeNode>('/v1/nodes/seeded')).json;
  for (const [caps, field] of JUNK) {
    const r = await http<ErrorBody>('/register', { rawBody: seedBody('seeded', caps), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, `${caps}: ${r.text}`);
    assert.equal(r.json.error.field, field, r.text);
  }
  const afterRow = (await http<EdgeNode>('/v1/nodes/seeded')).json;
  assert.deepEqual(afterRow.capacity, before.capacity);
  assert.deepEqual(afterRow.labels, before.labels);
  assert.equal(afterRow.updatedAt, before.updatedAt);
});

test('the seed path and POST /v1/nodes agree on capacity limits', async () => {
  const pairs: Array<[Record<string, unknown>, Record<string, unknown>, string]> = [
    [{ cpu: 1e300 }, { cpu: 1e300 }, 'cpu'],
    [{ max_rps: 1e308 }, { maxRps: 1e308 }, 'maxRps'],
    [{ memory_mb: 2e9 }, { memoryMb: 2e9 }, 'memoryMb'],
  ];
  for (const [caps, capacity, key] of pairs) {
    const seed = await http<ErrorBody>('/register', { body: { ...seedRegistration('agree-1'), capabilities: caps } });
    const v1 = await http<ErrorBody>('/v1/nodes', { body: registration({ id: 'agree-2', capacity }) });
    assert.equal(seed.status, 400, seed.text);
    assert.equal(v1.status, 400, v1.text);
    assert.equal(seed.json.error.code, v1.json.error.code);
    assert.equal(seed.json.error.message.replace(/^capabilities\.\w+/, ''), v1.json.error.message.replace(`capacity.${key}`, ''));
  }
  // positive() is a strict bound, and the message says so.
  const zero = await http<ErrorBody>('/register', { body: { ...seedRegistration('agree-1'), capabilities: { cpu: 0 } } });
  assert.equal(zero.json.error.message, 'capabilities.cpu: must be > 0');
  // Values within the limits are stored exactly.
  const ok = await http<{ node: EdgeNode }>('/register', { body: { ...seedRegistration('agree-3'), capabilities: { cpu: 100000, max_rps: 1e9, memory: '953Mi' } } });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.node.capacity, { cpu: 100000, maxRps: 1e9, memoryMb: 953 });
});

test('a long memory string is answered at once (no regex backtracking)', async () => {
  const started = performance.now();
  const r = await http<ErrorBody>('/register', { body: { ...seedRegistration('slow-1'), capabilities: { memory: `1${' '.repeat(60_000)}!` } } });
  const ms = performance.now() - started;
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.field, 'capabilities.memory');
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
  assert.equal((await http('/v1/nodes/slow-1')).status, 404);
});

test('mapCapabilities reads own keys only and builds plain labels', () => {
  const caps = JSON.parse('{"gpu": true, "arch": "arm64"}') as Record<string, unknown>;
  const { capacity, labels } = mapCapabilities(caps);
  assert.deepEqual(capacity, {});
  assert.deepEqual(labels, { 'cap.gpu': 'true', 'cap.arch': 'arm64' });
  assert.deepEqual(Object.keys(capacity), []);
  assert.throws(() => mapCapabilities({ constructor: 4 }), /capabilities\.constructor/);
});
