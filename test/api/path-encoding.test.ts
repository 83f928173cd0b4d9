/**
 * Issue #11.2: a path parameter with bad percent-encoding (`%`, `%ZZ`, a lone
 * surrogate `%ED%A0%80`, ...) is a client error on every route: 400 with the
 * JSON error body naming the parameter, and no error-level log line or stack.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pino from 'pino';
import { defaultServerOptions } from '../../src/config';
import { startServer, type RunningServer } from '../../src/server';
import { makeTempDir, registration, removeDir, request } from '../helpers';

let srv: RunningServer;
let base: string;
let dir: string;
const logLines: Array<{ level: number; msg?: string; err?: { stack?: string }; stack?: string }> = [];

before(async () => {
  dir = makeTempDir('edge-xds-pathenc-');
  // A debug logger that keeps every line, to check what a bad request logs.
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  srv = await startServer(defaultServerOptions({ host: '127.0.0.1', httpPort: 0, xdsPort: 0, insecure: true, db: path.join(dir, 'db.sqlite') }), logger, { defaultMetrics: false });
  base = `http://127.0.0.1:${srv.httpPort}`;
  assert.equal((await request(base, '/v1/nodes', { body: registration({ id: 'known' }) })).status, 201);
});
after(async () => {
  await srv.close();
  removeDir(dir);
});

const BAD = ['%', '%ZZ', '%ED%A0%80', 'a%', '%E0%A4%A', '%C0%AF', '%FF', 'ok%2', '%%41'];

/** Every route with a path parameter: [method, path with P for the parameter, parameter name]. */
const ROUTES: Array<[string, string, string]> = [
  ['GET', '/v1/nodes/P', 'id'],
  ['HEAD', '/v1/nodes/P', 'id'],
  ['DELETE', '/v1/nodes/P', 'id'],
  ['POST', '/v1/nodes/P/heartbeat', 'id'],
  ['GET', '/v1/config_dump/P', 'nodeId'],
  ['GET', '/v1/bootstrap/P', 'nodeId'],
  ['GET', '/v1/bootstrap/P?format=grpc', 'nodeId'],
  ['GET', '/v1/services/P/endpoints?region=cn-east', 'name'],
];

test('bad percent-encoding in a path parameter: 400 naming the parameter on every route', async () => {
  for (const [method, template, param] of ROUTES) {
    for (const bad of BAD) {
      const p = template.replace('P', bad);
      const opts = method === 'POST' ? { method, body: { load: { cpu: 0.1 } } } : { method };
      const r = await request<{ error: { code: string; message: string; field: string | null } }>(base, p, opts);
      assert.equal(r.status, 400, `${method} ${p}: ${r.status} ${r.text}`);
      if (method === 'HEAD') continue;
      assert.match(String(r.headers['content-type']), /application\/json/, `${method} ${p}`);
      assert.equal(r.json.error.code, 'invalid_format', `${method} ${p}: ${r.text}`);
      assert.equal(r.json.error.field, param, `${method} ${p}: ${r.text}`);
      assert.match(r.json.error.message, new RegExp(`^${param}: `), r.text);
    }
  }
  // Good encodings still decode (and reach the handler).
  assert.equal((await request(base, '/v1/nodes/%6Bnown')).status, 200);
  assert.equal((await request(base, '/v1/nodes/%E4%B8%AD')).status, 404);
  // The server is fine afterwards and nothing was deleted.
  assert.equal((await request(base, '/healthz')).status, 200);
  assert.equal((await request(base, '/v1/nodes/known')).status, 200);
});

test('bad percent-encoding logs no error and no stack', () => {
  const errors = logLines.filter((l) => l.level >= 50);
  assert.deepEqual(errors, [], 'no error-level line');
  const stacks = logLines.filter((l) => l.stack !== undefined || l.err?.stack !== undefined);
  assert.deepEqual(stacks, [], 'no stack at any level');
});
