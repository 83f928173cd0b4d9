/**
 * Property-based fuzzing of the REST API (issue #11): random and mutated
 * requests against every route of a real in-process server. Properties:
 *  - no 5xx, whatever the request;
 *  - every 4xx carries the JSON error body {error: {code, message, field}};
 *  - a rejected mutating request changes nothing (nodes, weights, events);
 *  - the server still answers /healthz.
 *
 * Bounded by count and time: EDGE_XDS_FUZZ_RUNS (default 200) and
 * EDGE_XDS_FUZZ_TIME_MS (default 6 s, or ~30 ms a run when more runs are asked
 * for). The seed is fixed (EDGE_XDS_FUZZ_SEED to change it) and printed with
 * the counterexample on failure; EDGE_XDS_FUZZ_PATH replays a shrink path.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers';
import { binaryString } from '../helpers/arbitraries';

const DEFAULT_RUNS = 200;
const RUNS = positiveEnv('EDGE_XDS_FUZZ_RUNS') ?? DEFAULT_RUNS;
const TIME_LIMIT_MS = positiveEnv('EDGE_XDS_FUZZ_TIME_MS') ?? (RUNS <= DEFAULT_RUNS ? 6_000 : Math.min(RUNS * 30, 30 * 60_000));
const SEED = Number(process.env.EDGE_XDS_FUZZ_SEED ?? 0x11ed6e);
const PATH = process.env.EDGE_XDS_FUZZ_PATH;

function positiveEnv(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${v}"`);
  return n;
}

// ---------------------------------------------------------------- the server

let srv: TestServer;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

const KNOWN_IDS = ['edge-a', 'edge-b', 'relay-1', 'gw-1'];
const SERVICES = ['echo', 'video', 'constructor'];

before(async () => {
  // Long heartbeat interval and drain grace: no state changes by the clock during a run.
  srv = await startTestServer({ heartbeatIntervalMs: 3_600_000, drainGraceMs: 3_600_000 });
  const seedNodes: Array<Record<string, unknown>> = [
    reg('edge-a', 'cn-east', '10.0.0.1', 'echo'),
    reg('edge-b', 'constructor', '10.0.0.2', 'echo'),
    { ...reg('relay-1', 'cn-east', '10.0.0.3', 'video'), role: 'relay', labels: { 'edge-xds.io/xds-port': '18000' } },
    { ...reg('gw-1', 'cn-north', '10.0.0.4', 'constructor'), role: 'gateway' },
  ];
  for (const body of seedNodes) {
    const r = await send({ method: 'POST', path: '/v1/nodes', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.ok(r.status === 201 || r.status === 200, r.text);
  }
});
after(async () => {
  agent.destroy();
  await srv.stop();
});

function reg(id: string, region: string, address: string, service: string): Record<string, unknown> {
  return {
    id,
    region,
    zone: `${region}-a`,
    location: { lat: 31.2, lon: 121.4 },
    address,
    services: [{ name: service, port: 8080, protocol: 'grpc' }],
    capacity: { cpu: 4, memoryMb: 4096, maxRps: 500 },
  };
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface FuzzResponse {
  status: number;
  contentType: string;
  text: string;
}

/** Sends the path exactly as given (no URL normalisation), over one keep-alive connection. */
function send(r: FuzzRequest): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const payload = r.body === undefined ? undefined : Buffer.from(r.body);
    const headers: Record<string, string> = { ...r.headers };
    if (payload) headers['content-length'] = String(payload.length);
    else if (r.method !== 'GET' && r.method !== 'HEAD') headers['content-length'] = '0';
    const req = http.request({ host: '127.0.0.1', port: srv.httpPort, path: r.path, method: r.method, headers, agent, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${r.method} ${r.path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const get = async (path: string): Promise<FuzzResponse> => send({ method: 'GET', path, headers: {} });

// ---------------------------------------------------------------- arbitraries

const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'length', '__defineGetter__'];
const BAD_ENCODINGS = ['%', '%Z', '%ZZ', '%ED%A0%80', '%C0%AF', '%FF', '%E0%A4%A', 'a%', '%%41', '%u0041', '%00', '%2F', '%2e%2e', '..', '.', '%F0%9F%98'];
/** Characters Node's client sends raw in a path, minus the ones that end a segment. */
const PATH_CHARS = [...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))].filter((c) => !'/?#'.includes(c));

const dnsLabel = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const rawText = (max: number) => fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: max });

/** A path parameter: mostly names the server knows (`:name` is a service, the others node ids), else anything. */
const paramArb = (name: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...(name === 'name' ? SERVICES : KNOWN_IDS)) },
    { weight: 2, arbitrary: dnsLabel },
    { weight: 3, arbitrary: fc.constantFrom(...PROTO_NAMES, ...BAD_ENCODINGS) },
    { weight: 1, arbitrary: binaryString({ maxLength: 24 }).map(encodeURIComponent) },
    { weight: 2, arbitrary: rawText(24) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...KNOWN_IDS, 'x'), fc.constantFrom(...BAD_ENCODINGS)).map(([a, b]) => a + b) },
  );

const BIG_NUMBERS = [
  '9'.repeat(400),
  '-' + '9'.repeat(400),
  '1e400',
  '1e308',
  '99999999999999999999',
  '9007199254740993',
  '-0',
  '0x10',
  '1e3',
  '0.0000001',
  'NaN',
  'Infinity',
  '-Infinity',
];
const QUERY_VALUES = [
  '',
  'cn-east',
  'constructor',
  'healthy',
  'draining',
  'edge',
  'relay',
  'gateway',
  'envoy',
  'grpc',
  'delta',
  'sotw',
  '31.2,121.4',
  '91,0',
  '1,2,3',
  '%201%20,%202%20',
  '1+,+2',
  '0',
  '1',
  '100',
  '1000',
  '1001',
  '-1',
  '1.5',
  'edge-a',
  'echo',
];
const queryValueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...QUERY_VALUES) },
  { weight: 2, arbitrary: fc.constantFrom(...BIG_NUMBERS, ...PROTO_NAMES, ...BAD_ENCODINGS) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: binaryString({ maxLength: 16 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: rawText(16).map((s) => s.replace(/[&=]/g, '')) },
);

/** Values that mean something to a query key (so requests get past validation and into the handlers). */
const VALUES_OF: Record<string, string[]> = {
  region: ['cn-east', 'cn-north', 'constructor', 'toString', '__proto__'],
  zone: ['cn-east-a', 'constructor'],
  node: [...KNOWN_IDS, 'constructor', 'nobody'],
  state: ['healthy', 'suspect', 'draining'],
  service: SERVICES,
  role: ['edge', 'relay', 'gateway'],
  since: ['0', '1', '5'],
  limit: ['1', '10', '1000'],
  lat: ['31.2', '-90', '0'],
  lon: ['121.4', '-180', '0'],
  kind: ['envoy', 'grpc'],
  near: ['31.2,121.4', '0,0', '-33.9,151.2'],
  format: ['envoy', 'grpc'],
  mode: ['delta', 'sotw'],
};

/** A query that makes sense for the route (each of its keys with a meaningful value, or not at all). */
const sensibleQueryArb = (route: RouteSpec): fc.Arbitrary<Array<[string, string | undefined]>> =>
  fc
    .tuple(...(route.query ?? []).map((k) => fc.option(fc.constantFrom(...VALUES_OF[k]), { nil: undefined, freq: 2 })))
    .map((vs) => (route.query ?? []).flatMap((k, i): Array<[string, string]> => (vs[i] === undefined ? [] : [[k, vs[i] as string]])));

const queryPairArb = (route: RouteSpec): fc.Arbitrary<[string, string | undefined]> =>
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...(route.query ?? ['x'])) }, { weight: 1, arbitrary: fc.constantFrom(...PROTO_NAMES, 'limit[a]', 'x', '%ZZ') }).chain((k) => {
    const known = Object.hasOwn(VALUES_OF, k) ? VALUES_OF[k] : ['x'];
    const value = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 2, arbitrary: queryValueArb });
    return fc.tuple(fc.constant(k), fc.option(value, { nil: undefined, freq: 8 }));
  });

interface RouteSpec {
  method: string;
  path: string;
  query?: string[];
  body?: keyof typeof BODIES;
  /** How often, relative to the others (default 1): routes that compute more get more. */
  weight?: number;
}

const ROUTES: RouteSpec[] = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/readyz' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/v1/nodes', query: ['region', 'zone', 'state', 'service', 'role'] },
  { method: 'POST', path: '/v1/nodes', body: 'registration', weight: 2 },
  { method: 'GET', path: '/v1/nodes/:id' },
  { method: 'DELETE', path: '/v1/nodes/:id' },
  { method: 'POST', path: '/v1/nodes/:id/heartbeat', body: 'heartbeat', weight: 2 },
  { method: 'GET', path: '/v1/services' },
  { method: 'GET', path: '/v1/events', query: ['since', 'limit', 'node'] },
  { method: 'GET', path: '/v1/xds/connections' },
  { method: 'GET', path: '/v1/config_dump/:nodeId' },
  { method: 'GET', path: '/v1/services/:name/endpoints', query: ['node', 'region', 'zone', 'lat', 'lon', 'kind'], weight: 3 },
  { method: 'GET', path: '/v1/config/weights' },
  { method: 'PUT', path: '/v1/config/weights', body: 'weights', weight: 2 },
  { method: 'GET', path: '/v1/relays', query: ['region', 'near'] },
  { method: 'GET', path: '/v1/bootstrap/:nodeId', query: ['format', 'mode'], weight: 2 },
  { method: 'GET', path: '/v1/tier' },
  { method: 'POST', path: '/register', body: 'seedRegister', weight: 2 },
  { method: 'POST', path: '/heartbeat', body: 'seedHeartbeat' },
];

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const unitArb = fc.double({ min: 0, max: 1, noNaN: true });
const idArb = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...KNOWN_IDS, 'new-1', 'new-2') }, { weight: 1, arbitrary: dnsLabel });

/** Valid bodies of each route, before mutation. */
const BODIES = {
  registration: fc.record({
    id: idArb,
    role: fc.constantFrom('edge', 'relay', 'gateway'),
    region: fc.constantFrom('cn-east', 'cn-north', 'constructor'),
    zone: fc.constantFrom('z1', 'z2', 'constructor'),
    subZone: fc.constantFrom('', 'rack-1'),
    location: fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) }),
    address: fc.constantFrom('10.1.0.1', '10.1.0.2', 'fd00::1'),
    services: fc.uniqueArray(fc.record({ name: fc.constantFrom(...SERVICES), port: fc.integer({ min: 1, max: 65535 }), protocol: fc.constantFrom('http', 'grpc', 'tcp') }), {
      selector: (s) => s.name,
      maxLength: 3,
    }),
    capacity: fc.record({ cpu: fc.double({ min: 0.1, max: 64, noNaN: true }), maxRps: fc.integer({ min: 1, max: 10_000 }) }, { requiredKeys: [] }),
    labels: fc.dictionary(
      fc.constantFrom('tier', 'constructor', 'a.b/c', 'edge-xds.io/xds-port', 'edge-xds.io/http-port'),
      fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('18000', '99999', '1.5', '0', '-1', '1e3', 'abc')),
      { maxKeys: 3 },
    ),
  }),
  heartbeat: fc.record(
    {
      load: fc.record({ cpu: unitArb, memory: unitArb, network: unitArb }, { requiredKeys: [] }),
      network: fc.record({ latencyMs: fc.integer({ min: 0, max: 1000 }), jitterMs: fc.integer({ min: 0, max: 100 }), packetLoss: unitArb }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
  ),
  seedRegister: fc.record({
    node_id: idArb,
    location: fc.tuple(fc.double({ min: -90, max: 90, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true })),
    ip: fc.constantFrom('192.168.1.20', '10.2.0.1'),
    capabilities: fc.dictionary(
      fc.constantFrom('cpu', 'cpus', 'memory', 'memory_mb', 'max_rps', 'gpu', 'arch', 'tags', 'constructor', 'toString', '__proto__'),
      fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom('8Gi', '512MB', '1Ti', 'lots', '99999999999999999999999999Ti'), fc.boolean(), fc.constant(['a', 'b'])),
      { maxKeys: 4 },
    ),
    timestamp: fc.integer({ min: 0, max: 2_000_000_000 }),
  }),
  seedHeartbeat: fc.record({
    node_id: idArb,
    load: fc.record({ cpu: unitArb, memory: unitArb, network: unitArb }, { requiredKeys: [] }),
    network_status: fc.record({ latency: fc.integer({ min: 0, max: 1000 }), jitter: fc.integer({ min: 0, max: 100 }), packet_loss: unitArb }, { requiredKeys: [] }),
    timestamp: fc.integer({ min: 0, max: 2_000_000_000 }),
  }),
  weights: fc.record(
    {
      strategy: fc.constantFrom('edge-aware', 'round-robin'),
      lambdaPerKm: fc.double({ min: 0, max: 1, noNaN: true }),
      epsilon: fc.double({ min: 0.001, max: 10, noNaN: true }),
      load: fc.record({ combine: fc.constantFrom('max', 'weighted'), cpuWeight: fc.integer({ min: 1, max: 100 }) }, { requiredKeys: [] }),
      network: fc.record({ latencyRefMs: fc.integer({ min: 1, max: 1000 }), minFactor: fc.double({ min: 0.01, max: 1, noNaN: true }) }, { requiredKeys: [] }),
      regionFailover: fc.constantFrom({}, { 'cn-east': ['cn-north'] }, { constructor: ['cn-east'] }, { 'cn-north': ['constructor', 'cn-east'] }),
      nonHealthyEndpoints: fc.constantFrom('send', 'omit'),
      hysteresisPct: fc.integer({ min: 0, max: 100 }),
    },
    { requiredKeys: [] },
  ),
};

/** Values that break types, ranges and lookups. */
const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    '',
    0,
    -0,
    -1,
    0.5,
    1.5,
    65536,
    1e300,
    -1e300,
    1e308,
    2 ** 53 + 2,
    '1',
    'NaN',
    'x'.repeat(300),
    [],
    {},
    [1, 2],
    '8Gi',
    '99999999999999999999999999Ti',
    '1.2.3.4',
    '::',
    '0.0.0.0',
    'constructor',
    '__proto__',
  ),
  fc.jsonValue({ maxDepth: 2 }),
  fc.double(),
  fc.string({ maxLength: 12 }),
);

interface Mutation {
  at: number;
  op: 'set' | 'delete' | 'addKey' | 'wrap';
  key: string;
  value: unknown;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom<Mutation['op']>('set', 'set', 'delete', 'addKey', 'wrap'),
  key: fc.oneof(fc.constantFrom(...PROTO_NAMES, 'extra', 'id', 'cpu'), fc.string({ maxLength: 6 })),
  value: weirdValue,
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Sets an own property, also for "__proto__" (so it reaches the JSON text as a key). */
function setOwn(o: object, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Every container in `v` with the key (or index) of each of its entries. */
function slots(v: unknown, out: Array<[object, string]> = []): Array<[object, string]> {
  if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      out.push([v, k]);
      slots((v as Record<string, unknown>)[k], out);
    }
  }
  return out;
}

function mutate(valid: unknown, muts: Mutation[]): unknown {
  const root = structuredClone(valid) as Json;
  const holder = { root };
  for (const m of muts) {
    const all = slots(holder);
    const [obj, key] = all[m.at % all.length];
    const cur = (obj as Record<string, unknown>)[key];
    if (m.op === 'set') setOwn(obj, key, m.value);
    else if (m.op === 'delete' && obj !== holder) delete (obj as Record<string, unknown>)[key];
    else if (m.op === 'addKey' && cur !== null && typeof cur === 'object' && !Array.isArray(cur)) setOwn(cur, m.key, m.value);
    else if (m.op === 'wrap') setOwn(obj, key, [cur]);
  }
  return holder.root;
}

const GARBAGE_BODIES = [
  '',
  ' ',
  'null',
  '"str"',
  '1',
  'true',
  '[]',
  '{}',
  '{',
  '{"a":',
  '}',
  '{"__proto__":{"x":1}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '['.repeat(3000) + ']'.repeat(3000),
  '{"a":'.repeat(2000) + '1' + '}'.repeat(2000),
  '\u0000',
  '{"id":"\\ud800"}',
  '1e400',
  '{"x":1e400}',
  '{"id":"a","id":"b"}',
  'id=edge-a&region=x',
  '\uFEFF{}',
];

const bodyArb = (kind: keyof typeof BODIES | undefined): fc.Arbitrary<string | undefined> => {
  const random = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...GARBAGE_BODIES) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constant('x'.repeat(70 * 1024)) },
  );
  if (kind === undefined) return fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: random });
  const valid = BODIES[kind] as fc.Arbitrary<unknown>;
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((v) => JSON.stringify(v)) },
    { weight: 6, arbitrary: fc.tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([v, m]) => JSON.stringify(mutate(v, m))) },
    { weight: 2, arbitrary: random },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
};

const contentTypeArb = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/merge-patch+json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      '',
      'application/json; charset',
      ';;;',
      'application/*',
      'APPLICATION/JSON',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const extraHeadersArb = fc.record(
  {
    host: fc.constantFrom('evil.example', '{{NODE_ID}}', ':80', '[::1]', 'x'.repeat(300)),
    authorization: fc.constantFrom('Bearer x', 'Basic Zm9vOmJhcg==', 'Bearer '),
    'content-encoding': fc.constantFrom('identity', 'gzip', 'deflate', 'br', 'x-unknown'),
    accept: fc.constantFrom('application/json', 'text/html', '*/*'),
  },
  { requiredKeys: [] },
);

const PARAM = /:[a-zA-Z]+/g;

const requestArb: fc.Arbitrary<FuzzRequest> = fc.oneof(...ROUTES.map((r) => ({ weight: r.weight ?? 1, arbitrary: fc.constant(r) }))).chain((route) =>
  fc
    .record({
      method: fc.oneof({ weight: 6, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      params: fc.tuple(...(route.path.match(PARAM) ?? []).map((p) => paramArb(p.slice(1)))),
      query: fc
        .tuple(
          fc.oneof({ weight: 3, arbitrary: sensibleQueryArb(route) }, { weight: 1, arbitrary: fc.constant([]) }),
          fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(queryPairArb(route), { minLength: 1, maxLength: 3 }) }),
        )
        .map(([a, b]) => [...a, ...b]),
      pathTweak: fc.oneof({ weight: 12, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('/', '//', '/x', '%2F', '/..') }),
      body: bodyArb(route.body),
      contentType: contentTypeArb,
      extra: fc.option(extraHeadersArb, { nil: undefined, freq: 5 }),
    })
    .map((g): FuzzRequest => {
      const query = g.query.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&');
      let i = 0;
      const path = route.path.replace(PARAM, () => g.params[i++]) + g.pathTweak + (query ? `?${query}` : '');
      const headers: Record<string, string> = { ...(g.extra ?? {}) };
      if (g.body !== undefined && g.contentType !== undefined) headers['content-type'] = g.contentType;
      return { method: g.method, path, headers, body: g.method === 'GET' || g.method === 'HEAD' ? (g.body === undefined ? undefined : g.body.slice(0, 200)) : g.body };
    }),
);

// ---------------------------------------------------------------- the property

interface Stored {
  nodes: string;
  weights: string;
}

let lastSeq = 0;

async function stored(): Promise<Stored> {
  const [nodes, weights] = await Promise.all([get('/v1/nodes'), get('/v1/config/weights')]);
  assert.equal(nodes.status, 200, nodes.text);
  assert.equal(weights.status, 200, weights.text);
  return { nodes: nodes.text, weights: weights.text };
}

/** Events appended since the last call. */
async function newEvents(): Promise<unknown[]> {
  const r = await get(`/v1/events?since=${lastSeq}&limit=1000`);
  assert.equal(r.status, 200, r.text);
  const page = JSON.parse(r.text) as { events: unknown[]; next: number };
  lastSeq = page.next;
  return page.events;
}

function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? '' : ` body(${r.body.length})=${JSON.stringify(r.body.slice(0, 300))}`;
  return `${r.method} ${r.path.slice(0, 300)} headers=${JSON.stringify(r.headers).slice(0, 300)}${body}`;
}

async function checkOne(r: FuzzRequest): Promise<void> {
  const mutating = MUTATING.has(r.method);
  let before: Stored | null = null;
  if (mutating) {
    await newEvents();
    before = await stored();
  }
  const res = await send(r);
  const what = `${describeRequest(r)} -> ${res.status} ${res.text.slice(0, 300)}`;
  assert.ok(res.status >= 200 && res.status < 500, `no 5xx: ${what}`);
  if (res.status >= 400 && r.method !== 'HEAD') {
    assert.match(res.contentType, /^application\/json/, `4xx is JSON: ${what}`);
    const body = JSON.parse(res.text) as { error?: { code?: unknown; message?: unknown; field?: unknown } };
    assert.equal(typeof body.error?.code, 'string', `error.code: ${what}`);
    assert.equal(typeof body.error?.message, 'string', `error.message: ${what}`);
    assert.ok(body.error?.field === null || typeof body.error?.field === 'string', `error.field: ${what}`);
  }
  if (before !== null && res.status >= 400) {
    const afterwards = await stored();
    assert.equal(afterwards.nodes, before.nodes, `a rejected request changed the nodes: ${what}`);
    assert.equal(afterwards.weights, before.weights, `a rejected request changed the weights: ${what}`);
    assert.deepEqual(await newEvents(), [], `a rejected request logged events: ${what}`);
  }
  const health = await get('/healthz');
  assert.equal(health.status, 200, `/healthz after ${what}`);
}

test(`REST fuzz: ${RUNS} requests (time limit ${TIME_LIMIT_MS} ms, seed ${SEED})`, { timeout: TIME_LIMIT_MS + 120_000 }, async () => {
  let firstFailure: string | null = null;
  const started = performance.now();
  let runs = 0;
  const details = await fc.check(
    fc.asyncProperty(requestArb, async (r) => {
      runs++;
      try {
        await checkOne(r);
      } catch (err) {
        firstFailure ??= `${(err as Error).message}`;
        throw err;
      }
    }),
    { numRuns: RUNS, seed: SEED, path: PATH, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false, endOnFailure: false },
  );
  const ms = performance.now() - started;
  if (details.failed) {
    const replay = `EDGE_XDS_FUZZ_SEED=${details.seed} EDGE_XDS_FUZZ_PATH=${details.counterexamplePath ?? ''}`;
    const counter = details.counterexample ? describeRequest(details.counterexample[0]) : '(none)';
    const message = [
      `REST fuzz failed after ${details.numRuns} runs (seed ${details.seed}); replay with ${replay}`,
      `first failure: ${firstFailure}`,
      `shrunk counterexample: ${counter}`,
      `error: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`,
    ].join('\n');
    console.error(message);
    assert.fail(message);
  }
  // Interrupted by the time limit is fine; but it must have done real work.
  assert.ok(runs >= Math.min(RUNS, 50), `only ${runs} runs in ${ms.toFixed(0)} ms`);
  console.log(`REST fuzz: ${runs} requests in ${ms.toFixed(0)} ms (seed ${SEED}${details.interrupted ? ', stopped by the time limit' : ''})`);
});
