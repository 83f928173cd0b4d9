/**
 * Property-based fuzzing of the xDS port, against the real server (REST +
 * gRPC on 127.0.0.1): random bytes, and mutated DiscoveryRequests and
 * DeltaDiscoveryRequests (random type URLs, nonces, versions, names,
 * error_detail, huge and odd node fields, corrupted encodings) on ADS streams,
 * SotW and delta. For every run:
 *   - the server does not crash (it runs in this process: a throw would end it);
 *   - a stream the server ends carries a status with a detail, and only the
 *     codes of a refused request (INVALID_ARGUMENT, RESOURCE_EXHAUSTED): never
 *     INTERNAL or UNKNOWN;
 *   - every response is a well-formed response of a type we serve;
 * and a well-behaved proxy on its own stream keeps converging: it gets each
 * new version while the fuzzer runs, and fresh proxies get their config.
 * Afterwards nothing is left tracked (streams, per-node and per-connection counts).
 *
 * Bounded by count and time: EDGE_XDS_FUZZ_RUNS (default 120) runs within
 * EDGE_XDS_FUZZ_MS (default max(10 s, 50 ms per run)); EDGE_XDS_FUZZ_SEED replays.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers/in-process';
import { node } from '../helpers/xds-harness';
import { XdsClient, type Received } from '../helpers/xds-client';
import { eventually } from '../helpers/wait';
import { ADS_DELTA, ADS_SOTW, openRaw, responseHead, toProtoStruct } from '../helpers/raw-xds';
import { TYPE_URL, kindOfTypeUrl, type ResourceKind } from '../../src/xds/protos';
import { encodeDeltaDiscoveryRequest, encodeDiscoveryRequest } from '../../src/xds/wire';
import { XDS_LIMITS } from '../../src/xds/limits';
import { binaryString } from '../helpers/arbitraries';

const RUNS = Math.max(1, Number(process.env.EDGE_XDS_FUZZ_RUNS ?? 120));
const TIME_LIMIT_MS = Number(process.env.EDGE_XDS_FUZZ_MS ?? Math.max(10_000, RUNS * 50));
const SEED = process.env.EDGE_XDS_FUZZ_SEED === undefined ? undefined : Number(process.env.EDGE_XDS_FUZZ_SEED);
const ALLOWED_REFUSALS = new Set([grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED]);

let srv: TestServer;
let target: string;
let fuzzClient: grpc.Client;
let steady: XdsClient;
let steadyDelta: XdsClient;
let registered = 0;

const envoy = (id: string) => ({ id, user_agent_name: 'envoy', locality: { region: 'cn-east', zone: 'shanghai-a' } });

/** Wildcard CDS, then EDS for every cluster, ACKing both; returns the EDS response. */
async function sync(c: XdsClient): Promise<Received> {
  if (c.delta) {
    c.deltaRequest('cluster', {});
    const cds = await c.nextOf('cluster');
    c.ack(cds);
    c.deltaRequest('endpoint', { subscribe: cds.resources.map((r) => r.name) });
    const eds = await c.nextOf('endpoint');
    c.ack(eds);
    return eds;
  }
  c.subscribe('cluster', []);
  const cds = await c.nextOf('cluster');
  c.ack(cds);
  c.subscribe(
    'endpoint',
    cds.resources.map((r) => r.name),
  );
  const eds = await c.nextOf('endpoint');
  c.ack(eds);
  return eds;
}

/** A registry change, and both steady proxies get it (ACKing whatever comes on the way). */
async function steadyConverges(): Promise<void> {
  registered++;
  const address = `10.1.${Math.floor(registered / 250)}.${(registered % 250) + 1}`;
  await srv.registry.register(node({ id: `fuzz-edge-${registered}`, address }));
  for (const c of [steady, steadyDelta]) {
    for (;;) {
      const r = await c.next(5000);
      c.ack(r);
      if (r.kind === 'endpoint' && JSON.stringify(r.resources.map((x) => x.json)).includes(address)) break;
    }
  }
}

before(async () => {
  srv = await startTestServer();
  await srv.registry.register(node({ id: 'edge-1', address: '10.0.0.1' }));
  target = `127.0.0.1:${srv.xdsPort}`;
  // The fuzzer's own connection, apart from the well-behaved proxies' one.
  fuzzClient = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  steady = new XdsClient(target, envoy('steady-sotw'));
  steadyDelta = new XdsClient(target, envoy('steady-delta'), { delta: true });
  await sync(steady);
  await sync(steadyDelta);
});

after(async () => {
  steady?.close();
  steadyDelta?.close();
  fuzzClient?.close();
  await srv?.stop();
});

// ---- generators ----

const shortText = binaryString({ maxLength: 24 });
const text = fc.oneof({ weight: 5, arbitrary: shortText }, { weight: 1, arbitrary: binaryString({ minLength: 200, maxLength: 3000 }) });
const typeUrl = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...Object.values(TYPE_URL)) },
  { weight: 1, arbitrary: fc.constantFrom('', 'type.googleapis.com/envoy.config.listener.v3.Listenerx', 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret') },
  { weight: 1, arbitrary: text },
);
const resourceName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('echo', '*', 'edge-xds-egress', '', 'camera') }, { weight: 2, arbitrary: text });
const names = fc.array(resourceName, { maxLength: 12 });
const nonce = fc.oneof(fc.constantFrom('', '1', '2', '3', 'a'), shortText);
const version = fc.oneof(fc.constant(''), shortText, fc.string({ minLength: 16, maxLength: 16 }), text);
const errorDetail = fc.option(fc.record({ code: fc.integer({ min: -5, max: 40 }), message: text }, { requiredKeys: [] }), { nil: undefined, freq: 3 });
const jsonish = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.double(),
    text,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(shortText, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const metadata = fc
  .record(
    {
      lat: jsonish,
      lon: jsonish,
      location: fc.oneof(jsonish, fc.constant('31.2,121.4'), fc.record({ lat: jsonish, lon: jsonish }, { requiredKeys: [] })),
      other: fc.dictionary(shortText, jsonish, { maxKeys: 6 }),
      big: fc.nat({ max: 200_000 }).map((n) => 'm'.repeat(n)),
    },
    { requiredKeys: [] },
  )
  .map((m) => toProtoStruct({ ...(m.other ?? {}), ...m, other: undefined }));
const nodeArb = fc.record(
  {
    id: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('fz-1', 'fz-2', 'fz-3') },
      { weight: 2, arbitrary: text },
      { weight: 1, arbitrary: fc.constant('i'.repeat(XDS_LIMITS.maxNodeIdChars + 1)) },
    ),
    cluster: text,
    user_agent_name: fc.oneof(fc.constantFrom('envoy', 'gRPC Node Pure JS'), text),
    user_agent_version: shortText,
    locality: fc.record({ region: fc.oneof(fc.constant('cn-east'), text), zone: fc.oneof(fc.constant('shanghai-a'), text), sub_zone: text }, { requiredKeys: [] }),
    metadata,
    client_features: fc.array(text, { maxLength: 40 }),
    extensions: fc.array(fc.record({ name: shortText, category: shortText }), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

const sotwRequest = fc.record(
  { version_info: version, node: nodeArb, resource_names: names, type_url: typeUrl, response_nonce: nonce, error_detail: errorDetail },
  { requiredKeys: ['type_url'] },
);
const deltaRequest = fc.record(
  {
    node: nodeArb,
    type_url: typeUrl,
    resource_names_subscribe: names,
    resource_names_unsubscribe: names,
    initial_resource_versions: fc.dictionary(resourceName, version, { maxKeys: 6 }),
    response_nonce: nonce,
    error_detail: errorDetail,
  },
  { requiredKeys: ['type_url'] },
);

/** How to spoil an encoded message (or not). */
const corruption = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }) },
);
type Corruption = typeof corruption extends fc.Arbitrary<infer T> ? T : never;

function spoil(buf: Buffer, c: Corruption): Buffer {
  if (buf.length === 0 || c.kind === 'none') return c.kind === 'append' ? Buffer.from(c.bytes) : buf;
  switch (c.kind) {
    case 'flip': {
      const b = Buffer.from(buf);
      const i = c.at % b.length;
      b[i] = b[i]! ^ c.bits;
      return b;
    }
    case 'truncate':
      return buf.subarray(0, c.at % buf.length);
    case 'append':
      return Buffer.concat([buf, Buffer.from(c.bytes)]);
  }
}

type Message =
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'request'; req: Record<string, unknown>; spoil: Corruption }
  /** An ACK or NACK of the latest response on this stream (reaches the states behind a nonce). */
  | { kind: 'reply'; nack: string | null; names: string[] };

interface Scenario {
  delta: boolean;
  messages: Message[];
  ending: 'half-close' | 'cancel' | 'leave-open-briefly';
}

const scenario: fc.Arbitrary<Scenario> = fc.boolean().chain((delta) =>
  fc.record({
    delta: fc.constant(delta),
    messages: fc.array(
      fc.oneof(
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes): Message => ({ kind: 'raw', bytes })) },
        {
          weight: 4,
          arbitrary: fc.record({ req: delta ? deltaRequest : sotwRequest, spoil: corruption }).map(({ req, spoil: s }): Message => ({ kind: 'request', req, spoil: s })),
        },
        { weight: 2, arbitrary: fc.record({ nack: fc.option(text, { nil: null }), names }).map(({ nack, names: n }): Message => ({ kind: 'reply', nack, names: n })) },
      ),
      { minLength: 1, maxLength: 5 },
    ),
    ending: fc.constantFrom('half-close', 'cancel', 'leave-open-briefly'),
  }),
);

/** A first request that a proper client would send (so replies have something to reply to). */
function opener(delta: boolean, kind: ResourceKind): Buffer {
  const n = { id: 'fz-opener', user_agent_name: 'envoy', locality: { region: 'cn-east', zone: 'shanghai-a' } };
  return delta ? encodeDeltaDiscoveryRequest({ node: n, type_url: TYPE_URL[kind] }) : encodeDiscoveryRequest({ node: n, type_url: TYPE_URL[kind] });
}

function encode(m: Message, delta: boolean, last: { typeUrl: string; nonce: string; version: string } | null): Buffer {
  switch (m.kind) {
    case 'raw':
      return Buffer.from(m.bytes);
    case 'request':
      return spoil(delta ? encodeDeltaDiscoveryRequest(m.req) : encodeDiscoveryRequest(m.req), m.spoil);
    case 'reply': {
      const typeUrl = last?.typeUrl ?? TYPE_URL.cluster;
      const error = m.nack === null ? undefined : { code: 3, message: m.nack };
      return delta
        ? encodeDeltaDiscoveryRequest({ type_url: typeUrl, response_nonce: last?.nonce ?? '', error_detail: error, resource_names_subscribe: m.names })
        : encodeDiscoveryRequest({ type_url: typeUrl, response_nonce: last?.nonce ?? '', version_info: last?.version ?? '', resource_names: m.names, error_detail: error });
    }
  }
}

let runs = 0;
const codes = new Map<string, number>();

async function runScenario(sc: Scenario): Promise<void> {
  runs++;
  const s = openRaw(fuzzClient, sc.delta ? ADS_DELTA : ADS_SOTW);
  try {
    // Half the runs start like a real client, so that later messages hit an identified stream.
    if (runs % 2 === 0) {
      s.send(opener(sc.delta, 'cluster'));
      await s.settle(500);
    }
    for (const m of sc.messages) {
      if (s.end) break;
      const lastBuf = s.responses[s.responses.length - 1];
      const last = lastBuf ? responseHead(lastBuf, sc.delta) : null;
      const before = s.responses.length;
      s.send(encode(m, sc.delta, last));
      // Until an answer or the end, or a short quiet (an ignored or ACKed request gets nothing).
      const deadline = Date.now() + 15;
      while (!s.end && s.responses.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    }
    if (!s.end) {
      if (sc.ending === 'half-close') s.call.end();
      else if (sc.ending === 'cancel') s.close();
      else await s.settle(5);
      if (sc.ending !== 'half-close') s.close();
    }
    const end = await s.endWithin(3000);
    const key = grpc.status[end.code] ?? String(end.code);
    codes.set(key, (codes.get(key) ?? 0) + 1);
    if (end.code !== grpc.status.OK && end.code !== grpc.status.CANCELLED) {
      assert.ok(ALLOWED_REFUSALS.has(end.code), `ended with ${key}: ${end.details}`);
      assert.ok(end.details.length > 0, `a ${key} status without a detail`);
    }
    for (const b of s.responses) {
      const head = responseHead(b, sc.delta);
      assert.ok(kindOfTypeUrl(head.typeUrl), `response of type ${head.typeUrl}`);
      assert.ok(head.nonce.length > 0, 'a response carries a nonce');
    }
  } finally {
    s.close();
  }
}

test('fuzz: random and mutated xDS requests never crash the server, get a status with a detail, and do not stop others converging', async () => {
  const started = Date.now();
  let checks = 0;
  await fc.assert(
    fc.asyncProperty(scenario, async (sc) => {
      await runScenario(sc);
      // Now and then, and at the end: the well-behaved proxies still get every change.
      if (runs % 50 === 0) {
        checks++;
        await steadyConverges();
      }
    }),
    { numRuns: RUNS, seed: SEED, includeErrorInReport: true, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
  );
  await steadyConverges();
  // A fresh proxy of each protocol converges too.
  for (const delta of [false, true]) {
    const fresh = new XdsClient(target, envoy(`fresh-${delta ? 'delta' : 'sotw'}`), { delta });
    try {
      const eds = await sync(fresh);
      assert.ok(eds.resources.length > 0);
    } finally {
      fresh.close();
    }
  }
  // Nothing left behind: only the two steady proxies are tracked once the fuzz streams are gone.
  await eventually(() => {
    const t = srv.xds.server.tracked();
    return t.streams === 2 && t.nodes === 2 && t.connections === 1;
  }, 5000);
  const health = await (await fetch(`http://127.0.0.1:${srv.httpPort}/healthz`)).json();
  assert.deepEqual(health, { status: 'ok' });
  console.log(
    `fuzz: ${runs} runs (${RUNS} asked) in ${((Date.now() - started) / 1000).toFixed(1)} s, ${checks + 1} convergence checks; statuses ${JSON.stringify(Object.fromEntries(codes))}`,
  );
  assert.ok(runs >= Math.min(RUNS, 20), `only ${runs} runs in ${TIME_LIMIT_MS} ms`);
});

test('oversized messages: over the xDS limit and over the port limit both end the stream with RESOURCE_EXHAUSTED and a detail', async () => {
  for (const [size, path] of [
    [XDS_LIMITS.maxRequestBytes + 1, ADS_SOTW],
    [XDS_LIMITS.maxRequestBytes + 1, ADS_DELTA],
    [XDS_LIMITS.transportMaxReceiveBytes + 1, ADS_SOTW],
  ] as const) {
    const s = openRaw(fuzzClient, path);
    // resource_names (SotW field 3) / resource_names_subscribe (delta field 3): one name making the message `size` bytes.
    const len = size - 1 - varint(size).length;
    const msg = Buffer.concat([Buffer.from([0x1a, ...varint(len)]), Buffer.alloc(len, 0x61)]);
    assert.equal(msg.length, size);
    s.send(msg);
    const end = await s.endWithin(5000);
    assert.equal(end.code, grpc.status.RESOURCE_EXHAUSTED, `${size} on ${path}: ${JSON.stringify(end)}`);
    assert.ok(end.details.length > 0);
  }
  await steadyConverges();
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
