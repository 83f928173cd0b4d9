/**
 * The regional tier in secure mode, with real processes: a global tier and a
 * relay that enrolled with a relay token (its certificate carries 127.0.0.1,
 * as the token said), backends that enrolled at the global tier and register
 * and heartbeat at the relay with their own node tokens over HTTPS, and a
 * @grpc/grpc-js-xds client on the relay's plaintext listener with its node
 * credential. The relay checks credentials itself (the global tier sends it
 * token hashes and revocations), also after a restart while cut off.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startCliServer, type CliServer } from '../helpers/cli-server';
import { makeTempDir, removeDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';
import { tlsRequest } from '../helpers/tls-client';
import { XdsClient } from '../helpers/xds-client';
import { startEchoBackend, type EchoBackend } from '../../src/demo/backend';
import { spawnLoadgen, type LoadgenHandle } from '../../src/demo/loadgen-process';
import { makeKeyAndCsr } from '../../src/security';

const HB = 700;
const root = makeTempDir('edge-xds-relay-sec-');
const dirs = { g: path.join(root, 'global'), r1: path.join(root, 'r1') };
const tlsDir = path.join(root, 'r1-tls');
const common = ['--heartbeat-interval', `${HB}ms`, '--coalesce', '20ms', '--weight-push-interval', '0ms'];

let g: CliServer;
let r1: CliServer;
let ca = '';
let admin = '';
const nodeTokens: Record<string, string> = {};
const backends: Record<string, EchoBackend> = {};
let client: LoadgenHandle | null = null;
let proxyCert: { keyPem: string; chainPem: string } | null = null;

const G = (p: string, opts: { method?: string; body?: unknown; token?: string } = {}) => tlsRequest(g.baseUrl, p, { ca, token: admin, ...opts });
const R = (p: string, opts: { method?: string; body?: unknown; token?: string } = {}) => tlsRequest(r1.baseUrl, p, { ca, ...opts });

/** Enrolls `id` at the global tier (join token from the admin, key made here); the node's files. */
async function enroll(kind: 'node' | 'relay', id: string, sans?: string[]): Promise<{ keyPem: string; chainPem: string; nodeToken?: string }> {
  const t = await G('/v1/tokens', { body: { kind, node: id, ...(sans ? { sans } : {}) } });
  assert.equal(t.status, 201, t.text);
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind, id });
  const e = await tlsRequest<{ chainPem: string; nodeToken?: string }>(g.baseUrl, '/v1/enroll', {
    ca,
    body: { kind, id, csr: csrPem, token: (t.json as { token: string }).token },
  });
  assert.equal(e.status, 201, e.text);
  return { keyPem, chainPem: e.json.chainPem, nodeToken: e.json.nodeToken };
}

async function startRelay(): Promise<CliServer> {
  return startCliServer({
    secure: true,
    dir: dirs.r1,
    args: [
      ...common,
      '--role',
      'regional',
      '--region',
      'cn-east',
      '--upstream',
      `127.0.0.1:${g.xdsPort}`,
      '--advertise-address',
      '127.0.0.1',
      '--location',
      '31.20,121.40',
      '--tls-dir',
      tlsDir,
      '--xds-plaintext-port',
      '0',
    ],
  });
}

async function backend(id: string): Promise<EchoBackend> {
  const b = await startEchoBackend({
    host: '127.0.0.1',
    port: 0,
    nodeId: id,
    region: 'cn-east',
    zone: 'sh-a',
    location: { lat: 31.23, lon: 121.47 },
    capacity: { maxRps: 500 },
    registry: {
      urls: [r1.baseUrl],
      heartbeatIntervalMs: HB,
      apiToken: nodeTokens[id],
      tls: { ca },
      load: () => ({ cpu: 0.2, memory: 0.2, network: 0.1 }),
      network: () => ({ latencyMs: 5, jitterMs: 1, packetLoss: 0 }),
    },
  });
  backends[id] = b;
  return b;
}

type NodeJson = { id: string; role: string; state: string };

before(async () => {
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  g = await startCliServer({ secure: true, dir: dirs.g, args: common });
  ca = g.caPem();
  admin = g.adminToken();
  const relay = await enroll('relay', 'relay-r1', ['127.0.0.1']);
  fs.mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(tlsDir, 'key.pem'), relay.keyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(tlsDir, 'cert.pem'), relay.chainPem);
  fs.writeFileSync(path.join(tlsDir, 'ca.pem'), ca);
  r1 = await startRelay();
  for (const id of ['east-1', 'east-2', 'client-sh']) nodeTokens[id] = (await enroll('node', id)).nodeToken!;
  // The node tokens were made after the relay connected: the relay hears of them from the global tier.
  await backend('east-1');
  await backend('east-2');
  await waitFor(
    async () => {
      const r = await G('/v1/nodes');
      return ((r.json as { nodes: NodeJson[] }).nodes ?? []).filter((n) => n.role === 'edge' && n.state === 'healthy').length === 2;
    },
    { timeoutMs: 15_000, message: 'both backends registered at the global tier through the relay' },
  );
});

after(async () => {
  await client?.kill();
  for (const b of Object.values(backends)) await b.close().catch(() => undefined);
  await r1?.stop().catch(() => undefined);
  await g?.stop().catch(() => undefined);
  removeDir(root);
});

test('the relay links to the global tier with its relay certificate and serves HTTPS with it', async () => {
  const tier = await R('/v1/tier', { token: admin });
  assert.equal(tier.status, 200, tier.text);
  const t = tier.json as { role: string; upstream?: { connected?: boolean } };
  assert.equal(t.role, 'regional');
  const relays = await G('/v1/relays');
  assert.ok(JSON.stringify(relays.json).includes('relay-r1'), `relay-r1 registered at the global tier: ${relays.text}`);
  // Without a credential, the relay answers like the global tier: 401.
  const anon = await R('/v1/nodes');
  assert.equal(anon.status, 401);
  assert.match(anon.text, /needs a credential/);
});

test("at the relay, a node's token acts for that node only", async () => {
  const own = await R('/v1/nodes/east-1/heartbeat', { token: nodeTokens['east-1'], body: { load: { cpu: 0.3 } } });
  assert.equal(own.status, 204, own.text);
  const other = await R('/v1/nodes/east-2/heartbeat', { token: nodeTokens['east-1'], body: { load: { cpu: 0.9 } } });
  assert.equal(other.status, 403, other.text);
  assert.match((other.json as { error: { message: string } }).error.message, /may not heartbeat for node "east-2"/);
  const reg = await R('/v1/nodes', {
    token: nodeTokens['east-1'],
    body: { id: 'east-2', region: 'cn-east', zone: 'sh-a', location: { lat: 1, lon: 1 }, address: '6.6.6.6', services: [{ name: 'echo', port: 1 }] },
  });
  assert.equal(reg.status, 403, reg.text);
  const node = await G('/v1/nodes/east-2');
  assert.notEqual((node.json as { address: string }).address, '6.6.6.6');
});

test("the relay's xDS ports: TLS with a node certificate, plaintext with the node credential, each only for its own node", async () => {
  const cert = (proxyCert = await enroll('node', 'proxy-sh'));
  const tlsClient = new grpc.Client(`127.0.0.1:${r1.xdsPort}`, grpc.credentials.createSsl(Buffer.from(ca), Buffer.from(cert.keyPem), Buffer.from(cert.chainPem)));
  const own = new XdsClient('', { id: 'proxy-sh', user_agent_name: 'envoy', locality: { region: 'cn-east', zone: 'sh-a' } }, { client: tlsClient });
  own.subscribe('cluster', []);
  const clusters = await own.nextOf('cluster', 8000);
  assert.ok(clusters.resources.some((r) => r.name === 'echo'));
  own.close();
  const other = new XdsClient('', { id: 'east-1', user_agent_name: 'envoy', locality: { region: 'cn-east', zone: 'sh-a' } }, { client: tlsClient });
  other.subscribe('cluster', []);
  await waitFor(() => other.error !== null, { timeoutMs: 5000, message: 'a stream for another node is refused' });
  assert.equal((other.error as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED);
  assert.match((other.error as grpc.ServiceError).details, /node\.id "east-1" is not the identity of this client \(node "proxy-sh"\)/);
  other.close();
  tlsClient.close();

  // A proxyless gRPC client on the plaintext listener, with its node credential: real RPCs reach the backends.
  assert.ok(r1.xdsPlaintextPort);
  // The bootstrap the client fetches with its own token: the region's relay (its plaintext listener) first, then the global tier.
  const reg = await G('/v1/nodes', {
    token: nodeTokens['client-sh'],
    body: { id: 'client-sh', region: 'cn-east', zone: 'sh-a', location: { lat: 31.23, lon: 121.47 }, address: '127.0.0.1', services: [] },
  });
  assert.ok(reg.status === 201 || reg.status === 200, reg.text);
  const b = await G('/v1/bootstrap/client-sh?format=grpc', { token: nodeTokens['client-sh'] });
  assert.equal(b.status, 200, b.text);
  const bootstrap = JSON.parse(b.text) as { xds_servers: Array<{ server_uri: string }>; node: { metadata: Record<string, string> } };
  assert.equal(bootstrap.xds_servers[0]!.server_uri, `ipv4:127.0.0.1:${r1.xdsPlaintextPort}`, "the region's relay (the global tier has no plaintext listener here)");
  assert.equal(bootstrap.node.metadata['edge-xds-credential'], nodeTokens['client-sh']);
  client = spawnLoadgen({ bootstrap, target: 'xds:///echo', rate: 50, durationMs: 60_000, deadlineMs: 2000, reportEveryMs: 200 });
  const m = client.mark();
  try {
    await waitFor(() => (m.counts['east-1'] ?? 0) + (m.counts['east-2'] ?? 0) > 20, { timeoutMs: 30_000, message: 'RPCs through the relay reach the backends' });
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${JSON.stringify(m)} ${JSON.stringify(client.records.slice(-3))}\n${client.stderr().slice(-2000)}\n${r1.output().slice(-3000)}`);
  }
});

test('a revocation at the global tier reaches the relay at once', async () => {
  // An open xDS stream of proxy-sh at the relay is closed when proxy-sh is revoked at the global tier.
  const ch = new grpc.Client(`127.0.0.1:${r1.xdsPort}`, grpc.credentials.createSsl(Buffer.from(ca), Buffer.from(proxyCert!.keyPem), Buffer.from(proxyCert!.chainPem)));
  const open = new XdsClient('', { id: 'proxy-sh', user_agent_name: 'envoy', locality: { region: 'cn-east', zone: 'sh-a' } }, { client: ch });
  open.subscribe('cluster', []);
  await open.nextOf('cluster', 8000);
  const rp = await G('/v1/nodes/proxy-sh/revoke', { method: 'POST' });
  assert.equal(rp.status, 200, rp.text);
  await waitFor(() => open.error !== null, { timeoutMs: 3000, message: "proxy-sh's stream at the relay is closed" });
  assert.equal((open.error as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED);
  open.close();
  ch.close();

  const before = await R('/v1/nodes/east-2/heartbeat', { token: nodeTokens['east-2'], body: {} });
  assert.equal(before.status, 204, before.text);
  const rv = await G('/v1/nodes/east-2/revoke', { method: 'POST' });
  assert.equal(rv.status, 200, rv.text);
  const t0 = Date.now();
  await waitFor(async () => (await R('/v1/nodes/east-2/heartbeat', { token: nodeTokens['east-2'], body: {} })).status === 401, {
    timeoutMs: 3000,
    message: "the relay refuses the revoked node's token",
  });
  assert.ok(Date.now() - t0 < 3000);
});

test('cut off and restarted, the relay still checks credentials from its stored copy', async () => {
  await g.stop('SIGKILL');
  await r1.stop();
  r1 = await startRelay();
  const ok = await R('/v1/nodes/east-1/heartbeat', { token: nodeTokens['east-1'], body: {} });
  assert.equal(ok.status, 204, ok.text);
  const revoked = await R('/v1/nodes/east-2/heartbeat', { token: nodeTokens['east-2'], body: {} });
  assert.equal(revoked.status, 401, revoked.text);
  const reads = await R('/v1/tier', { token: admin });
  assert.equal(reads.status, 200, reads.text);
  assert.equal((await R('/v1/tier', { token: 'exa.0000000000000000.nope' })).status, 401);
});
