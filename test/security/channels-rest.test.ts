/**
 * Secure mode, REST channel: every refusal of issue #13 against one real
 * HTTPS server, each with its exact status, error code and message, the proof
 * that nothing was written, and the denial counted in /metrics by channel
 * and reason (the event log is spot-checked). Positive cases show that the
 * same calls succeed with the right credential, so every refusal is about
 * the credential and nothing else.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeNode } from '../../src/domain';
import { HEARTBEAT, registration, seedHeartbeat, seedRegistration, startTestServer, eventually, sleep } from '../helpers';
import {
  authDeniedEvents,
  denialDelta,
  enroll,
  expiredIdentity,
  issueIdentity,
  lastEventSeq,
  otherCa,
  secureFixture,
  type AuthDeniedEvent,
  type ClientIdentity,
  type SecureFixture,
  type TlsResponse,
} from '../helpers/tls-client';

interface ErrorBody {
  error: { code: string; message: string; field: string | null };
}

const A = 'node-a';
const B = 'node-b';
/** Ends up on express instead of the heartbeat fast path (a content type parameter other than charset). */
const EXPRESS_JSON = 'application/vnd.x+json; version=1';

let fx: SecureFixture;
let nodeA: ClientIdentity & { token: string | null };
let readToken: string;

before(async () => {
  fx = secureFixture(await startTestServer({ insecure: false }));
  nodeA = await enroll(fx.srv, 'node', A);
  // B exists (registered by the admin), so every refused call on it would otherwise have succeeded.
  const reg = await fx.http('/v1/nodes', { token: fx.adminToken, body: registration({ id: B }) });
  assert.equal(reg.status, 201, reg.text);
  const rt = await fx.http<{ token: string }>('/v1/tokens', { token: fx.adminToken, body: { kind: 'read' } });
  assert.equal(rt.status, 201, rt.text);
  readToken = rt.json.token;
});
after(async () => {
  await fx?.srv.stop();
});

/** What a refused request could have changed: the nodes (minus health timing), the tokens, the weights. */
async function written(): Promise<string> {
  const nodes = await fx.http<{ nodes: EdgeNode[] }>('/v1/nodes', { token: fx.adminToken });
  const tokens = await fx.http<{ join: Array<{ id: string; usesLeft?: number }>; api: Array<{ id: string; revokedAt: number | null }> }>('/v1/tokens', { token: fx.adminToken });
  const weights = await fx.http('/v1/config/weights', { token: fx.adminToken });
  assert.equal(nodes.status, 200);
  assert.equal(tokens.status, 200);
  assert.equal(weights.status, 200);
  return JSON.stringify({
    nodes: nodes.json.nodes.map((n) => ({
      id: n.id,
      registeredAt: n.registeredAt,
      lastHeartbeat: n.lastHeartbeat,
      address: n.address,
      capacity: n.capacity,
      services: n.services,
    })),
    tokens: { join: tokens.json.join.map((t) => [t.id, t.usesLeft]), api: tokens.json.api.map((t) => [t.id, t.revokedAt]) },
    weights: weights.json,
  });
}

/** Runs `fn` and checks the denial counters moved by exactly `counted` (channel/reason: n) and nothing else. */
async function countedAs(counted: Record<string, number>, fn: () => Promise<void>): Promise<void> {
  assert.deepEqual(await denialDelta(fx, fn), counted, 'edge_xds_auth_denials_total moved by exactly this');
}

/** A refusal that wrote nothing. */
async function refusedAndUnchanged(counted: Record<string, number>, fn: () => Promise<void>): Promise<void> {
  const state = await written();
  await countedAs(counted, fn);
  assert.equal(await written(), state, 'nothing was written');
}

/** The auth-denied events of one reason after `since`: exactly n of them (they are written just after the answer). */
async function deniedEvents(since: number, reason: string, n: number): Promise<AuthDeniedEvent[]> {
  return eventually(async () => {
    const e = (await authDeniedEvents(fx, since)).filter((x) => x.detail.reason === reason);
    assert.equal(e.length, n, `auth-denied events with reason ${reason}`);
    return e;
  });
}

function assertError(r: TlsResponse<ErrorBody>, status: 401 | 403, message: RegExp, field: string | null, what = ''): void {
  assert.equal(r.status, status, `${what}: ${r.text}`);
  assert.deepEqual(Object.keys(r.json.error).sort(), ['code', 'field', 'message']);
  assert.equal(r.json.error.code, status === 401 ? 'unauthorized' : 'forbidden', what);
  assert.match(r.json.error.message, message, what);
  assert.equal(r.json.error.field, field, what);
  if (status === 401) assert.match(String(r.headers['www-authenticate']), /^Bearer realm="edge-xds"/, what);
}

const unauthorized = (r: TlsResponse<ErrorBody>, message: RegExp, what = ''): void => assertError(r, 401, message, 'authorization', what);

/** Every write a node makes for itself, aimed at `id`: the heartbeat on both paths, deregister, register (REST and the seed's routes). */
function writesFor(id: string): Array<{ what: string; method: string; path: string; body?: unknown; headers?: Record<string, string> }> {
  return [
    { what: 'heartbeat (fast path)', method: 'POST', path: `/v1/nodes/${id}/heartbeat`, body: HEARTBEAT },
    { what: 'heartbeat (express)', method: 'POST', path: `/v1/nodes/${id}/heartbeat`, body: HEARTBEAT, headers: { 'content-type': EXPRESS_JSON } },
    { what: 'heartbeat (express, query)', method: 'POST', path: `/v1/nodes/${id}/heartbeat?via=express`, body: HEARTBEAT },
    { what: 'deregister', method: 'DELETE', path: `/v1/nodes/${id}` },
    { what: 'register', method: 'POST', path: '/v1/nodes', body: registration({ id, address: '6.6.6.6' }) },
  ];
}

// ---- no credential, bad credentials ---------------------------------------

test('no credential: 401 on reads and writes, nothing written, counted and written to the event log', async () => {
  const since = await lastEventSeq(fx);
  await refusedAndUnchanged({ 'rest/missing-credential': 4 }, async () => {
    unauthorized(await fx.http('/v1/nodes'), /^this endpoint needs a credential: Authorization: Bearer <token>, or a client certificate/, 'GET /v1/nodes');
    unauthorized(await fx.http('/v1/nodes', { body: registration({ id: 'intruder' }) }), /needs a credential/, 'POST /v1/nodes');
    unauthorized(await fx.http(`/v1/nodes/${B}/heartbeat`, { body: HEARTBEAT }), /needs a credential/, 'heartbeat (fast path)');
    unauthorized(await fx.http('/v1/tokens', { body: { kind: 'admin' } }), /needs a credential/, 'POST /v1/tokens');
  });
  const events = await deniedEvents(since, 'missing-credential', 4);
  assert.deepEqual(events.map((e) => [e.detail.channel, e.detail.what]).sort(), [
    ['rest', 'GET /v1/nodes'],
    ['rest', 'POST /v1/nodes'],
    ['rest', `POST /v1/nodes/${B}/heartbeat`],
    ['rest', 'POST /v1/tokens'],
  ]);
  assert.match(String(events[0].detail.message), /needs a credential/);
});

test('a malformed Authorization header or bearer token: 401 malformed-credential', async () => {
  // A join token is not an API credential.
  const join = await fx.srv.guard!.createJoinToken({ kind: 'node', nodeId: 'someone' });
  await refusedAndUnchanged({ 'rest/malformed-credential': 3 }, async () => {
    unauthorized(
      await fx.http('/v1/nodes', { headers: { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` } }),
      /^the Authorization header must be "Bearer <token>"$/,
      'Basic',
    );
    unauthorized(await fx.http('/v1/nodes', { token: 'not-a-token' }), /^the bearer token is not an edge-xds API token$/, 'garbage');
    unauthorized(await fx.http(`/v1/nodes/${B}/heartbeat`, { token: join.token, body: HEARTBEAT }), /is not an edge-xds API token/, 'join token');
  });
});

test('an unknown token (well formed, never issued): 401 unknown-credential, naming only the token id', async () => {
  const id = 'deadbeefdeadbeef';
  const forged = `exa.${id}.${'A'.repeat(43)}`;
  await refusedAndUnchanged({ 'rest/unknown-credential': 2 }, async () => {
    const r = await fx.http<ErrorBody>('/v1/nodes', { token: forged });
    unauthorized(r, new RegExp(`^token ${id} is unknown or revoked$`));
    assert.ok(!r.text.includes('A'.repeat(43)), 'the secret is never echoed');
    unauthorized(await fx.http(`/v1/nodes/${B}/heartbeat`, { token: forged, body: HEARTBEAT }), /is unknown or revoked/, 'fast path');
  });
  // The right id with a wrong secret answers the same.
  const real = readToken.split('.')[1];
  await countedAs({ 'rest/unknown-credential': 1 }, async () => unauthorized(await fx.http('/v1/nodes', { token: `exa.${real}.${'B'.repeat(43)}` }), /unknown or revoked/));
});

test('a revoked token (DELETE /v1/tokens/{id}): 401 at once', async () => {
  const t = await fx.http<{ id: string; token: string }>('/v1/tokens', { token: fx.adminToken, body: { kind: 'read' } });
  assert.equal(t.status, 201);
  assert.equal((await fx.http('/v1/nodes', { token: t.json.token })).status, 200, 'works before');
  assert.equal((await fx.http(`/v1/tokens/${t.json.id}`, { method: 'DELETE', token: fx.adminToken })).status, 204);
  await refusedAndUnchanged({ 'rest/unknown-credential': 1 }, async () => {
    unauthorized(await fx.http('/v1/nodes', { token: t.json.token }), new RegExp(`^token ${t.json.id} is unknown or revoked$`));
  });
});

test('an expired API token (POST /v1/tokens ttl 1s): 401 expired', async () => {
  const t = await fx.http<{ id: string; token: string; expiresAt: number }>('/v1/tokens', { token: fx.adminToken, body: { kind: 'read', ttl: '1s' } });
  assert.equal(t.status, 201, t.text);
  assert.ok(t.json.expiresAt - Date.now() <= 1000);
  // Works before it expires (checked only while clearly before: a busy machine may take a second to get here).
  if (Date.now() < t.json.expiresAt - 300) assert.equal((await fx.http('/v1/nodes', { token: t.json.token })).status, 200, 'works before it expires');
  await sleep(Math.max(0, t.json.expiresAt - Date.now()) + 30);
  await refusedAndUnchanged({ 'rest/expired': 1 }, async () => {
    unauthorized(await fx.http('/v1/nodes', { token: t.json.token }), new RegExp(`^token ${t.json.id} has expired$`));
  });
});

// ---- known callers without the right (403) --------------------------------

test('a read token reads, but every write is 403 forbidden and writes nothing', async () => {
  assert.equal((await fx.http('/v1/nodes', { token: readToken })).status, 200);
  assert.equal((await fx.http('/v1/config/weights', { token: readToken })).status, 200);
  await refusedAndUnchanged({ 'rest/forbidden': 5 }, async () => {
    const cases: Array<[string, string, unknown, string | undefined]> = [
      ['POST', '/v1/nodes', registration({ id: 'intruder' }), undefined],
      ['PUT', '/v1/config/weights', { lambdaPerKm: 0.5 }, undefined],
      ['POST', `/v1/nodes/${B}/heartbeat`, HEARTBEAT, undefined],
      ['DELETE', `/v1/nodes/${B}`, undefined, undefined],
      ['POST', '/v1/tokens', { kind: 'admin' }, undefined],
    ];
    for (const [method, path, body] of cases) {
      const r = await fx.http<ErrorBody>(path, { method, body, token: readToken });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.error.code, 'forbidden');
      // The fast path answers heartbeats itself (field "id"); the gate every other write (field null).
      const fast = path.endsWith('/heartbeat');
      assert.match(
        r.json.error.message,
        fast ? /^read token [0-9a-f]{16} may not heartbeat for node "node-b"/ : new RegExp(`^read token [0-9a-f]{16} may not ${method} ${path} \\(a read token only reads\\)$`),
        `${method} ${path}`,
      );
      assert.equal(r.json.error.field, fast ? 'id' : null);
    }
  });
});

async function nodeActsForB(as: { token?: string; identity?: ClientIdentity }, caller: RegExp): Promise<void> {
  const since = await lastEventSeq(fx);
  const writes = writesFor(B);
  await refusedAndUnchanged({ 'rest/wrong-identity': writes.length }, async () => {
    for (const w of writes) {
      const r = await fx.http<ErrorBody>(w.path, { method: w.method, body: w.body, headers: w.headers, ...as });
      const verb = w.what.startsWith('heartbeat') ? 'heartbeat for' : w.what;
      assertError(r, 403, new RegExp(`^${caller.source} may not ${verb} node "${B}": a node credential acts only for its own node$`), 'id', w.what);
    }
  });
  assert.ok(fx.srv.registry.getNode(B), 'B is still registered');
  const events = await deniedEvents(since, 'wrong-identity', writes.length);
  for (const e of events) {
    assert.equal(e.nodeId, A, 'the event names the identity that tried');
    assert.equal(e.detail.channel, 'rest');
    assert.match(String(e.detail.caller), caller);
  }
}

test("node A's token may not heartbeat (fast path and express), deregister or register node B: 403", async () => {
  await nodeActsForB({ token: nodeA.token! }, /node node-a \(token [0-9a-f]{16}\)/);
});

test("node A's client certificate may not heartbeat (fast path and express), deregister or register node B: 403", async () => {
  await nodeActsForB({ identity: nodeA }, /node node-a \(certificate [0-9a-f]+\)/);
});

test("the seed's /register and /heartbeat: node A may not speak for node B either", async () => {
  await refusedAndUnchanged({ 'rest/wrong-identity': 2 }, async () => {
    const reg = await fx.http<ErrorBody>('/register', { token: nodeA.token!, body: seedRegistration(B) });
    assertError(reg, 403, /may not register node "node-b"/, 'id', '/register');
    const hb = await fx.http<ErrorBody>('/heartbeat', { identity: nodeA, body: seedHeartbeat(B) });
    assertError(hb, 403, /may not heartbeat for node "node-b"/, 'id', '/heartbeat');
  });
});

test('a node credential may not read the fleet or create tokens: 403', async () => {
  await refusedAndUnchanged({ 'rest/forbidden': 6 }, async () => {
    for (const as of [{ token: nodeA.token! }, { identity: nodeA }]) {
      for (const [method, path, body] of [
        ['GET', '/v1/nodes', undefined],
        ['GET', `/v1/nodes/${A}`, undefined],
        ['POST', '/v1/tokens', { kind: 'node', node: A }],
      ] as const) {
        const r = await fx.http<ErrorBody>(path, { method, body, ...as });
        assertError(
          r,
          403,
          new RegExp(`^node node-a \\((token|certificate) [0-9a-f]+\\) may not ${method} ${path} \\(a node credential acts only for its own node\\)$`),
          null,
          `${method} ${path}`,
        );
      }
    }
  });
});

// ---- certificates the handshake did not verify, revocation ---------------

test('a client certificate from another CA: 401 untrusted-certificate (also where the node itself would be allowed)', async () => {
  const forged = await issueIdentity(await otherCa(fx.trustDomain), 'node', A);
  const since = await lastEventSeq(fx);
  await refusedAndUnchanged({ 'rest/untrusted-certificate': 3 }, async () => {
    const msg = /^the client certificate was not accepted: UNABLE_TO_VERIFY_LEAF_SIGNATURE$/;
    unauthorized(await fx.http('/v1/nodes', { identity: forged }), msg, 'GET');
    unauthorized(await fx.http('/v1/nodes', { identity: forged, body: registration({ id: A }) }), msg, 'register A');
    unauthorized(await fx.http(`/v1/nodes/${B}/heartbeat`, { identity: forged, body: HEARTBEAT }), msg, 'heartbeat (fast path)');
  });
  const [e] = await deniedEvents(since, 'untrusted-certificate', 3);
  assert.equal(e.detail.channel, 'rest');
  assert.match(String(e.detail.message), /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
});

test('an expired client certificate from the server CA: 401 expired', async () => {
  const expired = await expiredIdentity(fx.ca, 'node', A);
  await refusedAndUnchanged({ 'rest/expired': 3 }, async () => {
    const msg = /^the client certificate was not accepted: CERT_HAS_EXPIRED$/;
    unauthorized(await fx.http('/v1/nodes', { identity: expired, body: registration({ id: A }) }), msg, 'register A');
    unauthorized(await fx.http(`/v1/nodes/${A}/heartbeat`, { identity: expired, body: HEARTBEAT }), msg, 'heartbeat (fast path)');
    unauthorized(await fx.http(`/v1/nodes/${A}/heartbeat`, { identity: expired, body: HEARTBEAT, headers: { 'content-type': EXPRESS_JSON } }), msg, 'heartbeat (express)');
  });
});

test('after POST /v1/nodes/{id}/revoke the node certificate and the node token are refused at once (401)', async () => {
  const R = 'node-r';
  const r = await enroll(fx.srv, 'node', R);
  assert.equal((await fx.http('/v1/nodes', { token: r.token!, body: registration({ id: R }) })).status, 201);
  assert.equal((await fx.http(`/v1/nodes/${R}/heartbeat`, { identity: r, body: HEARTBEAT })).status, 204, 'works before');
  // Only the admin revokes: the node itself may not.
  await refusedAndUnchanged({ 'rest/forbidden': 1 }, async () => {
    assertError(await fx.http(`/v1/nodes/${R}/revoke`, { method: 'POST', token: r.token! }), 403, /may not POST \/v1\/nodes\/node-r\/revoke/, null);
  });
  const rev = await fx.http<{ kind: string; id: string; apiTokens: number }>(`/v1/nodes/${R}/revoke`, { method: 'POST', token: fx.adminToken });
  assert.equal(rev.status, 200, rev.text);
  assert.deepEqual([rev.json.kind, rev.json.id, rev.json.apiTokens], ['node', R, 1]);
  const lastBefore = fx.srv.registry.getNode(R)!.lastHeartbeat;
  await refusedAndUnchanged({ 'rest/revoked': 2, 'rest/unknown-credential': 2 }, async () => {
    const certMsg = new RegExp(`^the certificate of node ${R} \\(serial [0-9a-f]+\\) was revoked$`);
    unauthorized(await fx.http(`/v1/nodes/${R}/heartbeat`, { identity: r, body: HEARTBEAT }), certMsg, 'cert, fast path');
    unauthorized(await fx.http(`/v1/nodes/${R}`, { method: 'DELETE', identity: r }), certMsg, 'cert, deregister');
    unauthorized(await fx.http(`/v1/nodes/${R}/heartbeat`, { token: r.token!, body: HEARTBEAT }), /is unknown or revoked$/, 'token, fast path');
    unauthorized(await fx.http('/v1/nodes', { token: r.token!, body: registration({ id: R }) }), /is unknown or revoked$/, 'token, register');
  });
  assert.deepEqual(fx.srv.registry.getNode(R)!.lastHeartbeat, lastBefore, 'no heartbeat applied');
});

test('a revocation, or a new token, made while the guard reloads credentials from the database is not undone by the reload', async () => {
  const g = fx.srv.guard!;
  const n = await enroll(fx.srv, 'node', 'node-race');
  assert.equal((await fx.http('/v1/nodes', { token: n.token!, body: registration({ id: 'node-race' }) })).status, 201);
  // The periodic reload reads the database while the revocation is written (same order as the timer and a REST call).
  await Promise.all([g.refresh(), g.revoke({ kind: 'node', id: 'node-race' }, 'test')]);
  await refusedAndUnchanged({ 'rest/unknown-credential': 1, 'rest/revoked': 1 }, async () => {
    unauthorized(await fx.http('/v1/nodes/node-race/heartbeat', { token: n.token!, body: HEARTBEAT }), /is unknown or revoked$/, 'token');
    unauthorized(await fx.http('/v1/nodes/node-race/heartbeat', { identity: n, body: HEARTBEAT }), /was revoked$/, 'certificate');
  });
  const [, created] = await Promise.all([g.refresh(), g.createApiToken('read')]);
  assert.equal((await fx.http('/v1/nodes', { token: created.token })).status, 200, 'a token created during a reload works at once');
});

// ---- open endpoints ---------------------------------------------------------

test('/healthz and /readyz are open; /metrics is open on loopback; nothing is counted for them', async () => {
  await countedAs({}, async () => {
    assert.deepEqual((await fx.http('/healthz')).json, { status: 'ok' });
    assert.deepEqual((await fx.http('/readyz')).json, { status: 'ready' });
    const m = await fx.http('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /^# HELP edge_xds_auth_denials_total /m);
  });
});

// ---- positive: a node speaks for itself ----------------------------------

async function selfService(id: string, as: { token?: string; identity?: ClientIdentity }): Promise<void> {
  await countedAs({}, async () => {
    const reg = await fx.http<EdgeNode>('/v1/nodes', { body: registration({ id }), ...as });
    assert.equal(reg.status, 201, reg.text);
    assert.equal(reg.json.id, id);
    for (const w of writesFor(id).filter((x) => x.what.startsWith('heartbeat'))) {
      const hb = await fx.http(w.path, { method: w.method, body: { load: { cpu: 0.42 } }, headers: w.headers, ...as });
      assert.equal(hb.status, 204, `${w.what}: ${hb.text}`);
    }
    assert.equal(fx.srv.registry.getNode(id)?.lastHeartbeat?.load?.cpu, 0.42, 'the heartbeat was applied');
    const seed = await fx.http('/heartbeat', { body: seedHeartbeat(id), ...as });
    assert.equal(seed.status, 200, `seed heartbeat: ${seed.text}`);
    const del = await fx.http(`/v1/nodes/${id}`, { method: 'DELETE', ...as });
    assert.equal(del.status, 202, del.text);
    assert.equal(fx.srv.registry.getNode(id)?.state, 'draining', 'deregistered (drains, then goes)');
  });
}

test('positive: a node registers, heartbeats (both paths) and deregisters itself with its node token', async () => {
  const self = await enroll(fx.srv, 'node', 'self-token');
  await selfService('self-token', { token: self.token! });
});

test('positive: a node registers, heartbeats (both paths) and deregisters itself with its client certificate', async () => {
  const self = await enroll(fx.srv, 'node', 'self-cert');
  await selfService('self-cert', { identity: self });
});
