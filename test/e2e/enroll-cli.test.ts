/**
 * `edge-xds token`, `enroll` and `revoke` as processes against a real
 * secure-mode server process: a join token, enrollment that pins the CA by
 * fingerprint (files, modes, SPIFFE identity, chain), what the node token may
 * do, every refusal of a join token, renewal by client certificate and by
 * node token, --watch renewing on a 6 s certificate, revocation, a read
 * token, and clear usage and connection errors.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { X509Certificate, createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { makeTempDir, removeDir, registration, sleep } from '../helpers';
import { runCli, spawnCli, startSecureServer, tlsRequest, type SecureServer } from '../helpers/secure-cli';

let s: SecureServer;
let work: string;
/** Every secret created by a test: `token list` must show none of them. */
const secrets: string[] = [];

before(async () => {
  s = await startSecureServer();
  work = makeTempDir('edge-xds-enroll-');
});

after(async () => {
  await s?.server.stop();
  if (work) removeDir(work);
});

const mode = (p: string): number => fs.statSync(p).mode & 0o777;
const fingerprintOf = (pem: string): string => `sha256:${createHash('sha256').update(new X509Certificate(pem).raw).digest('hex')}`;

/** `token create --node ID ...` as the admin; returns the token and the printed enroll command's arguments. */
async function createJoinToken(id: string, extra: string[] = [], srv: SecureServer = s): Promise<{ token: string; enrollArgs: string[] }> {
  const r = await runCli(['token', 'create', '--node', id, ...extra, ...srv.adminFlags]);
  assert.equal(r.code, 0, r.stderr);
  const token = r.stdout.trim();
  assert.match(token, /^exj\.[0-9a-f]+\.\S+$/, 'stdout is the token alone');
  secrets.push(token);
  const line = r.stderr.split('\n').find((l) => l.trim().startsWith('edge-xds enroll '));
  assert.ok(line, `the enroll command is printed:\n${r.stderr}`);
  return { token, enrollArgs: line.trim().split(/\s+/).slice(2) };
}

/** The printed enroll command, with --out pointing into the test's folder. */
function withOut(args: string[], dir: string): string[] {
  const i = args.indexOf('--out');
  assert.ok(i > 0);
  return [...args.slice(0, i + 1), dir, ...args.slice(i + 2)];
}

function readDir(dir: string): { cert: X509Certificate; certPem: string; keyPem: string; caPem: string; nodeToken: string | null } {
  const certPem = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  const tokenFile = path.join(dir, 'node-token');
  return {
    cert: new X509Certificate(certPem),
    certPem,
    keyPem: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'),
    caPem: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    nodeToken: fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : null,
  };
}

function assertChainsToCa(dir: string, id: string, caPem = s.caPem): void {
  const d = readDir(dir);
  const ca = new X509Certificate(caPem);
  assert.equal(d.cert.subjectAltName, `URI:spiffe://edge-xds.local/node/${id}`);
  assert.ok(d.cert.checkIssued(ca), 'issued by the deployment CA');
  assert.ok(d.cert.verify(ca.publicKey), 'signed by the deployment CA');
  assert.ok(d.cert.checkPrivateKey(createPrivateKey(d.keyPem)), 'cert.pem is the certificate of key.pem');
}

test('GET /v1/ca is open: the CA bundle as text, with no credential or a bad one', async () => {
  for (const token of [undefined, 'exa.bogus.bogus']) {
    const r = await tlsRequest(s.url, '/v1/ca', { ca: s.caPem, token });
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^text\/plain/);
    assert.equal(r.text, s.caPem);
  }
});

test('token create -> enroll --ca-fingerprint: key made locally, files with modes 0600/0700, SPIFFE identity, chains to ca.pem', async () => {
  const { token, enrollArgs } = await createJoinToken('edge-a');
  assert.deepEqual(enrollArgs.slice(0, 6), ['--server', s.url, '--token', token, '--node-id', 'edge-a']);
  assert.equal(enrollArgs[enrollArgs.indexOf('--ca-fingerprint') + 1], fingerprintOf(s.caPem), 'the pin is the SHA-256 of the CA certificate');

  const dir = path.join(work, 'edge-a');
  const r = await runCli(['enroll', ...withOut(enrollArgs, dir)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^enrolled node edge-a: certificate serial [0-9a-f]+, valid until \d{4}-/);
  assert.equal(mode(dir), 0o700);
  // The key, certificate and CA, the node token, and the two filesystem-SDS files an Envoy bootstrap points at.
  assert.deepEqual(fs.readdirSync(dir).sort(), ['ca.pem', 'cert.pem', 'envoy-sds-ca.yaml', 'envoy-sds-cert.yaml', 'key.pem', 'node-token'], 'no temporary file left');
  assert.equal(mode(path.join(dir, 'key.pem')), 0o600);
  assert.equal(mode(path.join(dir, 'node-token')), 0o600);
  const d = readDir(dir);
  assert.equal(d.caPem, s.caPem);
  assert.match(d.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  assert.match(d.nodeToken ?? '', /^exa\.[0-9a-f]+\.\S+$/);
  secrets.push(d.nodeToken!);
  assertChainsToCa(dir, 'edge-a');
});

test('the node token (and the node certificate) act for that node only: its heartbeat 204, another node 403', async () => {
  const d = readDir(path.join(work, 'edge-a'));
  const token = d.nodeToken!;
  const own = await tlsRequest(s.url, '/v1/nodes', { ca: s.caPem, token, body: registration({ id: 'edge-a' }) });
  assert.equal(own.status, 201, own.text);
  const other = await tlsRequest(s.url, '/v1/nodes', { ca: s.caPem, token: s.adminToken, body: registration({ id: 'edge-b', address: '10.0.0.6' }) });
  assert.equal(other.status, 201, other.text);

  const hb = await tlsRequest(s.url, '/v1/nodes/edge-a/heartbeat', { ca: s.caPem, token, body: { load: { cpu: 0.2 } } });
  assert.equal(hb.status, 204, hb.text);
  const theirs = await tlsRequest(s.url, '/v1/nodes/edge-b/heartbeat', { ca: s.caPem, token, body: { load: { cpu: 0.2 } } });
  assert.equal(theirs.status, 403, theirs.text);
  assert.match(theirs.json.error.message, /node edge-a .* may not heartbeat for node "edge-b"/);

  const viaCert = await tlsRequest(s.url, '/v1/nodes/edge-a/heartbeat', { ca: s.caPem, cert: d.certPem, key: d.keyPem, body: { load: { cpu: 0.3 } } });
  assert.equal(viaCert.status, 204, viaCert.text);
  const certOther = await tlsRequest(s.url, '/v1/nodes/edge-b/heartbeat', { ca: s.caPem, cert: d.certPem, key: d.keyPem, body: { load: { cpu: 0.3 } } });
  assert.equal(certOther.status, 403, certOther.text);
  const list = await tlsRequest(s.url, '/v1/nodes', { ca: s.caPem, token });
  assert.equal(list.status, 403, 'a node token does not read the fleet');
});

test('enroll refuses: a wrong fingerprint (nothing written), a token for another id (403 naming both), a spent token (401), an expired token (401)', async () => {
  const { token, enrollArgs } = await createJoinToken('edge-c');
  const wrongPin = `sha256:${randomBytes(32).toString('hex')}`;
  const pinned = enrollArgs.map((a, i) => (enrollArgs[i - 1] === '--ca-fingerprint' ? wrongPin : a));
  const dirC = path.join(work, 'edge-c');
  const bad = await runCli(['enroll', ...withOut(pinned, dirC)]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, new RegExp(`^edge-xds enroll: refusing to trust ${s.url}: its CA has fingerprint ${fingerprintOf(s.caPem)}, not the pinned ${wrongPin}`));
  assert.equal(fs.existsSync(dirC), false, 'nothing written');

  const wrongId = await runCli(['enroll', '--server', s.url, '--token', token, '--node-id', 'edge-x', '--cacert', s.caFile, '--out', path.join(work, 'edge-x')]);
  assert.equal(wrongId.code, 1);
  assert.match(wrongId.stderr, /HTTP 403 forbidden: join token [0-9a-f]+ enrolls "edge-c", not "edge-x"/);
  assert.equal(fs.existsSync(path.join(work, 'edge-x')), false);

  // The refusals spent nothing: the token still enrolls edge-c (trusting --cacert this time), once.
  const ok = await runCli(['enroll', '--server', s.url, '--token', token, '--node-id', 'edge-c', '--cacert', s.caFile, '--out', dirC]);
  assert.equal(ok.code, 0, ok.stderr);
  assertChainsToCa(dirC, 'edge-c');
  const again = await runCli(['enroll', '--server', s.url, '--token', token, '--node-id', 'edge-c', '--cacert', s.caFile, '--out', path.join(work, 'edge-c2')]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /HTTP 401 unauthorized: join token [0-9a-f]+ has no use left/);

  const short = await createJoinToken('edge-d', ['--ttl', '1s']);
  await sleep(1500);
  const expired = await runCli(['enroll', ...withOut(short.enrollArgs, path.join(work, 'edge-d'))]);
  assert.equal(expired.code, 1);
  assert.match(expired.stderr, /HTTP 401 unauthorized: join token [0-9a-f]+ expired at /);
});

test('enroll --renew: a new key and certificate (new serial), authenticated by the client certificate, or by node-token alone', async () => {
  const dir = path.join(work, 'edge-a');
  const before = readDir(dir);
  const byCert = path.join(work, 'edge-a-cert-only');
  fs.mkdirSync(byCert, { mode: 0o700 });
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.copyFileSync(path.join(dir, f), path.join(byCert, f));
  const r = await runCli(['enroll', '--server', s.url, '--out', byCert, '--renew']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^renewed node edge-a: certificate serial [0-9a-f]+/);
  const after1 = readDir(byCert);
  assert.notEqual(after1.cert.serialNumber, before.cert.serialNumber);
  assert.notEqual(after1.keyPem, before.keyPem, 'the key is replaced');
  assert.equal(mode(path.join(byCert, 'key.pem')), 0o600);
  assert.deepEqual(fs.readdirSync(byCert).sort(), ['ca.pem', 'cert.pem', 'key.pem'], 'no temporary file left, no node token invented');
  assertChainsToCa(byCert, 'edge-a');

  const byToken = path.join(work, 'edge-a-token-only');
  fs.mkdirSync(byToken, { mode: 0o700 });
  for (const f of ['ca.pem', 'node-token']) fs.copyFileSync(path.join(dir, f), path.join(byToken, f));
  const needsId = await runCli(['enroll', '--server', s.url, '--out', byToken, '--renew']);
  assert.equal(needsId.code, 2);
  assert.match(needsId.stderr, /--node-id/);
  const t = await runCli(['enroll', '--server', s.url, '--out', byToken, '--renew', '--node-id', 'edge-a']);
  assert.equal(t.code, 0, t.stderr);
  assertChainsToCa(byToken, 'edge-a');
  assert.notEqual(readDir(byToken).cert.serialNumber, after1.cert.serialNumber);

  const wrong = await runCli(['enroll', '--server', s.url, '--out', byCert, '--renew', '--node-id', 'edge-b']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /holds the certificate of node edge-a, not node edge-b/);
});

test('a relay join token for an id prefix with --san: enroll --relay writes the relay identity (and the name), renewal keeps it', async () => {
  const r = await runCli(['token', 'create', '--prefix', 'relay-', '--relay', '--san', 'relay.example.com', '--uses', '2', '--json', ...s.adminFlags]);
  assert.equal(r.code, 0, r.stderr);
  const t = JSON.parse(r.stdout) as { token: string; kind: string; prefix: string; usesLeft: number; caFingerprint: string; enrollCommand: string };
  secrets.push(t.token);
  assert.equal(t.kind, 'relay');
  assert.equal(t.prefix, 'relay-');
  assert.equal(t.usesLeft, 2);
  assert.equal(t.caFingerprint, fingerprintOf(s.caPem));
  assert.equal(t.enrollCommand, `edge-xds enroll --server ${s.url} --token ${t.token} --node-id relay-ID --relay --ca-fingerprint ${t.caFingerprint} --out ./edge-xds-tls`);
  const dir = path.join(work, 'relay-1');
  const args = withOut(t.enrollCommand.split(' ').slice(2), dir);
  const unedited = await runCli(['enroll', ...args]);
  assert.equal(unedited.code, 2, 'the placeholder id is refused until replaced');
  const e = await runCli(['enroll', ...args.map((a) => (a === 'relay-ID' ? 'relay-1' : a))]);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^enrolled relay relay-1: /);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['ca.pem', 'cert.pem', 'envoy-sds-ca.yaml', 'envoy-sds-cert.yaml', 'key.pem'], 'a relay gets no node token');
  const cert = new X509Certificate(fs.readFileSync(path.join(dir, 'cert.pem')));
  assert.equal(cert.subjectAltName, 'URI:spiffe://edge-xds.local/relay/relay-1, DNS:relay.example.com');
  const renew = await runCli(['enroll', '--server', s.url, '--out', dir, '--renew']);
  assert.equal(renew.code, 0, renew.stderr);
  assert.match(renew.stdout, /^renewed relay relay-1: /);
  const renewed = new X509Certificate(fs.readFileSync(path.join(dir, 'cert.pem')));
  assert.equal(renewed.subjectAltName, cert.subjectAltName);
  assert.notEqual(renewed.serialNumber, cert.serialNumber);
});

test('token list shows ids, bindings and state, never a secret', async () => {
  const plain = await runCli(['token', 'list', ...s.adminFlags]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^join tokens \(\d+\):\nID\s+KIND\s+ENROLLS\s+USES LEFT\s+EXPIRES\s+STATE\s+DESCRIPTION\n/);
  assert.match(plain.stdout, /\n[0-9a-f]+\s+node\s+edge-c\s+0\s+\S+\s+used\b/);
  assert.match(plain.stdout, /API tokens \(\d+\):\nID\s+ROLE\s+NODE/);
  assert.match(plain.stdout, /\n[0-9a-f]+\s+node\s+edge-a\s+never\s+live\s+issued at enrollment/);
  const json = await runCli(['token', 'list', '--json', ...s.adminFlags]);
  assert.equal(json.code, 0, json.stderr);
  const l = JSON.parse(json.stdout) as { join: Array<Record<string, unknown>>; api: Array<Record<string, unknown>> };
  assert.ok(l.join.length >= 3 && l.api.length >= 2);
  for (const out of [plain.stdout, json.stdout]) {
    assert.ok(secrets.length >= 4);
    for (const secret of [...secrets, s.adminToken]) assert.ok(!out.includes(secret.split('.')[2]!), 'no secret in the listing');
    assert.doesNotMatch(out, /ex[aj]\.[0-9a-f]+\./, 'no token text');
    assert.doesNotMatch(out, /hash|secret/i);
  }
});

test('token create --read: the token reads the fleet, writes nothing (403), creates no tokens', async () => {
  const r = await runCli(['token', 'create', '--read', '--ttl', '1h', ...s.adminFlags]);
  assert.equal(r.code, 0, r.stderr);
  const read = r.stdout.trim();
  assert.match(read, /^exa\.[0-9a-f]+\.\S+$/);
  secrets.push(read);
  assert.match(r.stderr, /^read token [0-9a-f]+, expires \d{4}-/);
  const get = await tlsRequest(s.url, '/v1/nodes', { ca: s.caPem, token: read });
  assert.equal(get.status, 200, get.text);
  assert.ok(Array.isArray(get.json.nodes ?? get.json), get.text);
  const post = await tlsRequest(s.url, '/v1/nodes', { ca: s.caPem, token: read, body: registration({ id: 'edge-r' }) });
  assert.equal(post.status, 403, post.text);
  assert.match(post.json.error.message, /read token .* may not POST \/v1\/nodes/);
  const create = await runCli(['token', 'create', '--node', 'edge-r', '--server', s.url, '--cacert', s.caFile, '--token', read]);
  assert.equal(create.code, 1);
  assert.match(create.stderr, /^edge-xds token create: the server answered HTTP 403 forbidden: read token [0-9a-f]+ may not/);
  const viaEnv = await runCli(['token', 'list', '--server', s.url, '--cacert', s.caFile], { env: { EDGE_XDS_TOKEN: read } });
  assert.equal(viaEnv.code, 1);
  assert.match(viaEnv.stderr, /HTTP 403/);
});

test('revoke --node: the node token gets 401, renewal with the still-valid certificate fails, a new join token enrolls again', async () => {
  const { enrollArgs } = await createJoinToken('edge-v');
  const dir = path.join(work, 'edge-v');
  assert.equal((await runCli(['enroll', ...withOut(enrollArgs, dir)])).code, 0);
  const token = readDir(dir).nodeToken!;
  secrets.push(token);
  assert.equal((await tlsRequest(s.url, '/v1/nodes', { ca: s.caPem, token, body: registration({ id: 'edge-v', address: '10.0.0.9' }) })).status, 201);

  const r = await runCli(['revoke', '--node', 'edge-v', ...s.adminFlags]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^revoked node edge-v at \d{4}-.*: \d+ join token\(s\) and 1 API token\(s\) revoked, \d+ xDS stream\(s\) closed\n$/);

  const hb = await tlsRequest(s.url, '/v1/nodes/edge-v/heartbeat', { ca: s.caPem, token, body: { load: { cpu: 0.1 } } });
  assert.equal(hb.status, 401, hb.text);
  const renew = await runCli(['enroll', '--server', s.url, '--out', dir, '--renew']);
  assert.equal(renew.code, 1);
  assert.match(renew.stderr, /renewal refused: the server answered HTTP 401 unauthorized: the certificate of node edge-v \(serial [0-9a-f]+\) was revoked/);

  const fresh = await createJoinToken('edge-v');
  const again = await runCli(['enroll', ...withOut(fresh.enrollArgs, dir)]);
  assert.equal(again.code, 0, again.stderr);
  assertChainsToCa(dir, 'edge-v');
  const hb2 = await tlsRequest(s.url, '/v1/nodes/edge-v/heartbeat', { ca: s.caPem, token: readDir(dir).nodeToken!, body: { load: { cpu: 0.1 } } });
  assert.equal(hb2.status, 204, hb2.text);

  const bad = await runCli(['revoke', '--node', 'ghost-not-enrolled', '--relay', 'r', ...s.adminFlags]);
  assert.equal(bad.code, 2);
});

test('token revoke ID: the token stops working; an unknown id is a clear 404', async () => {
  const r = await runCli(['token', 'create', '--read', ...s.adminFlags]);
  const read = r.stdout.trim();
  secrets.push(read);
  const id = read.split('.')[1]!;
  const rv = await runCli(['token', 'revoke', id, ...s.adminFlags]);
  assert.equal(rv.code, 0, rv.stderr);
  assert.equal(rv.stdout, `revoked token ${id}\n`);
  assert.equal((await tlsRequest(s.url, '/v1/nodes', { ca: s.caPem, token: read })).status, 401);
  const unknown = await runCli(['token', 'revoke', 'feedfeedfeedfeed', ...s.adminFlags]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /HTTP 404 not_found: no live token with id "feedfeedfeedfeed"/);
});

test('usage errors exit 2; a missing CA file, a missing credential and a closed port exit 1 with a clear message', async () => {
  const cases: Array<{ args: string[]; code: number; err: RegExp; cwd?: string }> = [
    { args: ['token', 'create', ...s.adminFlags], code: 2, err: /give exactly one of --node ID, --prefix P, --admin, --read/ },
    { args: ['token', 'create', '--node', 'a', '--read', ...s.adminFlags], code: 2, err: /exactly one of .* \(got --node, --read\)/ },
    { args: ['token', 'create', '--node', 'a', '--ttl', '3600', ...s.adminFlags], code: 2, err: /--ttl: give a unit/ },
    { args: ['token', 'create', '--node', 'Not_An_Id', ...s.adminFlags], code: 2, err: /--node: "Not_An_Id" is not a node id/ },
    { args: ['token', 'create', '--node', 'a', '--no-such-flag', ...s.adminFlags], code: 2, err: /unknown option '--no-such-flag'/ },
    { args: ['token', 'list', '--server', `http://127.0.0.1:${s.server.httpPort}`], code: 2, err: /plain HTTP/ },
    {
      args: ['enroll', '--server', s.url, '--node-id', 'a', '--token', 'exj.a.b', '--out', path.join(work, 'u1')],
      code: 2,
      err: /give --cacert FILE or --ca-fingerprint sha256:HEX/,
    },
    {
      args: ['enroll', '--server', s.url, '--node-id', 'a', '--token', 'exj.a.b', '--cacert', s.caFile, '--ca-fingerprint', fingerprintOf(s.caPem), '--out', path.join(work, 'u1')],
      code: 2,
      err: /not both/,
    },
    {
      args: ['enroll', '--server', s.url, '--node-id', 'a', '--token', 'exj.a.b', '--ca-fingerprint', 'md5:abcd', '--out', path.join(work, 'u1')],
      code: 2,
      err: /--ca-fingerprint: expected sha256:<64 hex digits>/,
    },
    {
      args: ['enroll', '--server', s.url, '--node-id', 'a', '--token', 'exj.a.b', '--renew', '--out', path.join(work, 'u1')],
      code: 2,
      err: /--renew authenticates with the current certificate/,
    },
    { args: ['enroll', '--server', s.url, '--node-id', 'a', '--token', 'exj.a.b', '--cacert', s.caFile], code: 2, err: /required option '--out <dir>'/ },
    {
      args: ['token', 'list', '--server', s.url, '--cacert', path.join(work, 'nope.pem'), '--token-file', s.adminTokenFile],
      code: 1,
      err: /--cacert: cannot read .*nope\.pem \(no such file\)/,
    },
    { args: ['token', 'list', '--server', s.url, '--cacert', s.caFile], code: 1, err: /credential: cannot read \.\/data\/admin-token \(no such file\).*--token-file/, cwd: work },
    { args: ['token', 'list'], code: 1, err: /--cacert: cannot read \.\/data\/pki\/ca\.pem/, cwd: work },
  ];
  const closed = await closedPort();
  cases.push({
    args: ['token', 'list', '--server', `https://127.0.0.1:${closed}`, '--cacert', s.caFile, '--token-file', s.adminTokenFile],
    code: 1,
    err: /cannot reach the edge-xds server at https:\/\/127\.0\.0\.1:\d+ \(connection refused\)/,
  });
  cases.push({
    args: ['enroll', '--server', `https://127.0.0.1:${closed}`, '--node-id', 'a', '--token', 'exj.a.b', '--ca-fingerprint', fingerprintOf(s.caPem), '--out', path.join(work, 'u2')],
    code: 1,
    err: /connection refused/,
  });
  // Four processes at a time: each is a cold start of the CLI.
  for (let i = 0; i < cases.length; i += 4) {
    const batch = cases.slice(i, i + 4);
    const runs = await Promise.all(batch.map((c) => runCli(c.args, { cwd: c.cwd })));
    batch.forEach((c, j) => {
      const r = runs[j]!;
      assert.equal(r.code, c.code, `${c.args.join(' ')}\n${r.stderr}`);
      assert.match(r.stderr, c.err, c.args.join(' '));
      assert.equal(r.stdout, '', c.args.join(' '));
    });
  }
  assert.equal(fs.existsSync(path.join(work, 'u1')) || fs.existsSync(path.join(work, 'u2')), false, 'nothing written by a refused enroll');
});

test('enroll --watch: enrolls, renews at 2/3 of a 6 s certificate (one line each), retries with backoff while the server is down, exits 0 on SIGTERM', async () => {
  const serverDir = makeTempDir('edge-xds-watch-server-');
  let six = await startSecureServer({ dir: serverDir, args: ['--cert-ttl', '6s'] });
  const dir = path.join(work, 'edge-w');
  let watch: ReturnType<typeof spawnCli> | null = null;
  /** Waits (bounded) until `check` holds; fails early when the watch process exited. */
  const until = async (what: string, check: () => boolean, ms: number): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!check() && Date.now() < deadline && watch!.child.exitCode === null) await sleep(100);
    assert.ok(check(), `${what} within ${ms} ms:\n${watch!.stdout()}\n${watch!.stderr()}`);
  };
  try {
    const { enrollArgs } = await createJoinToken('edge-w', [], six);
    watch = spawnCli(['enroll', ...withOut(enrollArgs, dir), '--watch']);
    const w = watch;
    const renewed = (): string[] =>
      w
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('renewed '));
    await until('two renewals', () => renewed().length >= 2, 30_000);
    const lines = w.stdout().trim().split('\n');
    assert.match(lines[0]!, /^enrolled node edge-w: certificate serial ([0-9a-f]+), valid until .*; next renewal at .* \(in \d+ s\)$/);
    const serials = lines.map((l) => /serial ([0-9a-f]+)/.exec(l)?.[1]);
    assert.equal(new Set(serials).size, serials.length, 'a new serial each time');
    for (const l of lines.slice(1)) assert.match(l, /^renewed node edge-w: certificate serial [0-9a-f]+, valid until .*; wrote .*key\.pem, .*cert\.pem; next renewal at /);
    assertChainsToCa(dir, 'edge-w', six.caPem);
    assert.equal(w.stderr(), '', 'no failed attempt');

    // The server goes away: renewals fail and are retried with growing delays; back on the same port, the next one succeeds.
    const port = six.server.httpPort;
    await six.server.stop();
    const failures = (): string[] =>
      w
        .stderr()
        .split('\n')
        .filter((l) => l.includes('renewal failed'));
    await until('two failed attempts', () => failures().length >= 2, 15_000);
    // (attempt 1 may meet the server while it closes; from then on the port is closed)
    assert.match(failures()[0]!, /^edge-xds enroll: renewal failed \(attempt 1\): .+; retrying in (0\.[89]|1\.[0-2]) s$/);
    assert.match(failures()[1]!, /cannot reach the edge-xds server at https:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
    assert.match(failures()[1]!, /\(attempt 2\): .*; retrying in (1\.[6-9]|2\.[0-4]) s$/);
    const before = renewed().length;
    six = await startSecureServer({ dir: serverDir, args: ['--cert-ttl', '6s', '--http-port', String(port)] });
    await until('a renewal once the server is back', () => renewed().length > before, 30_000);

    w.child.kill('SIGTERM');
    const code = await Promise.race([w.exited, sleep(5000).then(() => 'timeout' as const)]);
    assert.equal(code, 0, `exits 0 on SIGTERM:\n${w.stderr()}`);
    assert.match(w.stderr(), /SIGTERM, stopping/);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['ca.pem', 'cert.pem', 'envoy-sds-ca.yaml', 'envoy-sds-cert.yaml', 'key.pem', 'node-token']);
  } finally {
    if (watch && watch.child.exitCode === null) {
      watch.child.kill('SIGKILL');
      await watch.exited;
    }
    await six.server.stop();
    removeDir(serverDir);
  }
});

/** A port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
