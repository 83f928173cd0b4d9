import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HEARTBEAT, TestServer, client, registration, seedRegistration, startTestServer } from '../helpers';

const TOKEN = 's3cret-token';
let srv: TestServer;
let http: ReturnType<typeof client>;

before(async () => {
  srv = await startTestServer({ apiToken: TOKEN });
  http = client(srv.baseUrl);
});
after(async () => {
  await srv.stop();
});

test('mutating requests without the bearer token get 401 JSON and write nothing', async () => {
  const attempts: Array<[string, string, unknown]> = [
    ['POST', '/v1/nodes', registration()],
    ['POST', '/v1/nodes/edge-sh-01/heartbeat', HEARTBEAT],
    ['DELETE', '/v1/nodes/edge-sh-01', undefined],
    ['POST', '/register', seedRegistration()],
  ];
  for (const [method, path, body] of attempts) {
    for (const token of [undefined, 'wrong-token']) {
      const res = await http<{ error: { code: string } }>(path, { method, body, token });
      assert.equal(res.status, 401, `${method} ${path} token=${token}`);
      assert.equal(res.json.error.code, 'unauthorized');
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
  }
  const nodes = await http<{ nodes: unknown[] }>('/v1/nodes');
  assert.equal(nodes.status, 200, 'reads need no token');
  assert.deepEqual(nodes.json.nodes, []);
});

test('with the token, mutating requests work', async () => {
  assert.equal((await http('/v1/nodes', { body: registration(), token: TOKEN })).status, 201);
  assert.equal((await http('/v1/nodes/edge-sh-01/heartbeat', { body: HEARTBEAT, token: TOKEN })).status, 204);
  assert.equal((await http('/v1/nodes/edge-sh-01', { method: 'DELETE', token: TOKEN })).status, 202);
  // the token is checked before the body: an unauthenticated bad body is 401, not 400
  assert.equal((await http('/v1/nodes', { rawBody: '{bad', headers: { 'content-type': 'application/json' } })).status, 401);
});
