/**
 * `edge-xds explain` as a process against the real server process: the table
 * (text and --json) for a registered node or a place, and clear errors for an
 * unknown service or node, an unreachable server and bad usage. The server
 * runs in secure mode: explain speaks HTTPS with the CA and a read or admin token.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startCliServer, CLI_PATH, registration, type CliServer } from '../helpers';
import { tlsRequest } from '../helpers/tls-client';
import type { ExplainRow } from '../../src/model';

let server: CliServer;

/** The CA and admin token of the secure server, added to every call to it (`auth: false` leaves them out). */
const credentials = (): string[] => ['--cacert', path.join(server.dir, 'pki', 'ca.pem'), '--token-file', path.join(server.dir, 'admin-token')];

function explain(args: string[], auth = true): Promise<{ code: number; stdout: string; stderr: string }> {
  const all = auth && args.some((a) => a.startsWith('https://')) && !args.includes('--token-file') ? [...args, ...credentials()] : args;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_PATH, 'explain', ...all], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  server = await startCliServer({ secure: true });
  const nodes = [
    { id: 'sh-1', zone: 'sh', location: { lat: 31.23, lon: 121.47 }, address: '10.3.0.1', capacity: { maxRps: 300 } },
    { id: 'sh-2', zone: 'sh', location: { lat: 31.2, lon: 121.44 }, address: '10.3.0.2', capacity: { maxRps: 100 } },
    { id: 'hz-1', zone: 'hz', location: { lat: 30.27, lon: 120.15 }, address: '10.3.0.3', capacity: { maxRps: 100 } },
  ];
  for (const n of nodes) {
    const r = await tlsRequest(server.baseUrl, '/v1/nodes', {
      ca: server.caPem(),
      token: server.adminToken(),
      body: registration({ ...n, subZone: '', services: [{ name: 'echo', port: 50051, protocol: 'grpc' }] }),
    });
    assert.ok(r.status === 201 || r.status === 200, r.text);
  }
});

after(async () => {
  await server?.stop();
});

test('explain SERVICE --node ID prints the table a proxy on that node receives', async () => {
  const r = await explain(['echo', '--node', 'sh-1', '--server', server.baseUrl]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^service echo as seen by a grpc proxy at node sh-1 at cn-east\/sh \(31\.23, 121\.47\)$/);
  assert.match(lines[1], /^PRIO\s+NODE\s+ENDPOINT\s+LOCALITY\s+HEALTH\s+WEIGHT\s+SHARE%\s+DIST_KM\s+LOAD\s+LATEST\s+CAPACITY\s+NET_Q\s+OVERLOAD$/);
  assert.equal(lines.length, 5, r.stdout);
  assert.match(lines[2], /^\s+0\s+sh-1\s+10\.3\.0\.1:50051\s+cn-east\/sh\s+HEALTHY\s+\d+\s+7\d\.\d\d\s+0\.0\s/);
  assert.match(lines[3], /^\s+0\s+sh-2\s+10\.3\.0\.2:50051\s+cn-east\/sh\s+HEALTHY\s/);
  assert.match(lines[4], /^\s+1\s+hz-1\s+10\.3\.0\.3:50051\s+cn-east\/hz\s+HEALTHY\s+\d+\s+100\.00\s/);
});

test('explain --region/--zone/--lat/--lon --kind envoy --json prints the JSON answer', async () => {
  const r = await explain(['echo', '--region', 'cn-east', '--zone', 'hz', '--lat', '30.27', '--lon', '120.15', '--kind', 'envoy', '--json', '--server', `${server.baseUrl}/`]);
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout) as { service: string; requester: { zone: string }; endpoints: ExplainRow[] };
  assert.equal(body.service, 'echo');
  assert.equal(body.requester.zone, 'hz');
  assert.deepEqual(
    body.endpoints.map((e) => [e.nodeId, e.priority]),
    [
      ['hz-1', 0],
      ['sh-1', 1],
      ['sh-2', 1],
    ],
  );
  assert.equal(body.endpoints[0].distanceKm, 0);
});

test('clear errors: unknown service, unknown node, bad query, unreachable server, bad usage', async () => {
  const svc = await explain(['nope', '--node', 'sh-1', '--server', server.baseUrl]);
  assert.equal(svc.code, 1);
  assert.match(svc.stderr, /^edge-xds explain: unknown service "nope"/);
  assert.equal(svc.stdout, '');

  const node = await explain(['echo', '--node', 'ghost', '--server', server.baseUrl]);
  assert.equal(node.code, 1);
  assert.match(node.stderr, /unknown node "ghost"/);

  const lat = await explain(['echo', '--region', 'cn-east', '--lat', '95', '--lon', '0', '--server', server.baseUrl]);
  assert.equal(lat.code, 1);
  assert.match(lat.stderr, /HTTP 400 \(lat\)/);

  // A port nobody listens on.
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const down = await explain(['echo', '--node', 'sh-1', '--server', `http://127.0.0.1:${port}`]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, new RegExp(`cannot reach the edge-xds server at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));

  const usage = await explain(['echo', '--server', server.baseUrl]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /give --node ID, or --region R/);
  const both = await explain(['echo', '--node', 'sh-1', '--region', 'cn-east', '--server', server.baseUrl]);
  assert.equal(both.code, 2);
  const kind = await explain(['echo', '--node', 'sh-1', '--kind', 'istio', '--server', server.baseUrl]);
  assert.notEqual(kind.code, 0);
  assert.match(kind.stderr, /istio/);
});

test("secure mode: a read token is enough; no credential or a node token is refused with the server's reason", async () => {
  const read = await tlsRequest<{ token: string }>(server.baseUrl, '/v1/tokens', { ca: server.caPem(), token: server.adminToken(), body: { kind: 'read' } });
  assert.equal(read.status, 201, read.text);
  const file = path.join(server.dir, 'read-token');
  fs.writeFileSync(file, read.json.token, { mode: 0o600 });
  const ok = await explain(['echo', '--node', 'sh-1', '--server', server.baseUrl, '--cacert', path.join(server.dir, 'pki', 'ca.pem'), '--token-file', file]);
  assert.equal(ok.code, 0, ok.stderr);
  const bad = await explain(['echo', '--node', 'sh-1', '--server', server.baseUrl, '--cacert', path.join(server.dir, 'pki', 'ca.pem'), '--token', 'exa.0000000000000000.wrong']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /401/);
  const noCa = await explain(['echo', '--node', 'sh-1', '--server', server.baseUrl, '--cacert', path.join(server.dir, 'nope.pem'), '--token-file', file]);
  assert.notEqual(noCa.code, 0);
  assert.match(noCa.stderr, /--cacert/);
});
