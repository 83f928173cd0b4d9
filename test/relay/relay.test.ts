/**
 * The regional tier with real processes on loopback, in secure mode: a global
 * tier, two relays in cn-east and one in cn-north (each enrolled, running
 * with its relay certificate), gRPC backends enrolled and then registering and
 * heartbeating through the relays over HTTPS with their node tokens, and a
 * @grpc/grpc-js-xds client (its own process, with its node credential) whose
 * bootstrap lists the relays' plaintext listeners nearest first, then the
 * global tier's. Envoy-like probes use mTLS with their own node certificates.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startCliServer, type CliServer } from '../helpers/cli-server';
import { tlsRequest } from '../helpers/tls-client';
import { makeKeyAndCsr } from '../../src/security';
import { makeTempDir, removeDir } from '../helpers/tmp';
import { waitFor, sleep } from '../helpers/wait';
import { XdsClient, type Received } from '../helpers/xds-client';
import { startEchoBackend, type EchoBackend } from '../../src/demo/backend';
import { spawnLoadgen, type LoadgenHandle } from '../../src/demo/loadgen-process';
import { NODE_CREDENTIAL_METADATA_KEY, renderGrpcBootstrap } from '../../src/bootstrap';
import type { ResourceKind } from '../../src/xds/protos';

const HB = 700;
const SH = { lat: 31.23, lon: 121.47 };
const root = makeTempDir('edge-xds-relay-');
const dirs = { g: `${root}/global`, r1: `${root}/r1`, r2: `${root}/r2`, r3: `${root}/r3`, r4: `${root}/r4` };
const common = ['--heartbeat-interval', `${HB}ms`, '--coalesce', '20ms', '--weight-push-interval', '0ms'];

let g: CliServer;
let gPorts: { http: number; xds: number; plain: number };
const relays: Record<string, CliServer> = {};
const relayPorts: Record<string, { http: number; xds: number; plain: number }> = {};
/** The deployment's CA and admin token (the global tier made them at its first start; relays check the token themselves). */
let ca = '';
let admin = '';
/** Node tokens and certificates, by node id (enrolled while the global tier is up). */
const nodeTokens: Record<string, string> = {};
const nodeCerts: Record<string, { keyPem: string; chainPem: string }> = {};

/** Enrolls a node or relay at the global tier: join token from the admin, key made here. */
async function enroll(kind: 'node' | 'relay', id: string, sans?: string[]): Promise<{ keyPem: string; chainPem: string; nodeToken?: string }> {
  const t = await tlsRequest<{ token: string }>(g.baseUrl, '/v1/tokens', { ca, token: admin, body: { kind, node: id, ...(sans ? { sans } : {}) } });
  assert.equal(t.status, 201, t.text);
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind, id });
  const e = await tlsRequest<{ chainPem: string; nodeToken?: string }>(g.baseUrl, '/v1/enroll', { ca, body: { kind, id, csr: csrPem, token: t.json.token } });
  assert.equal(e.status, 201, e.text);
  if (e.json.nodeToken) nodeTokens[id] = e.json.nodeToken;
  if (kind === 'node') nodeCerts[id] = { keyPem, chainPem: e.json.chainPem };
  return { keyPem, chainPem: e.json.chainPem, nodeToken: e.json.nodeToken };
}

/** A relay's --tls-dir, enrolled once (kept across its restarts, like a real relay's files). */
async function relayTlsDir(name: string): Promise<string> {
  const dir = path.join(root, `${name}-tls`);
  if (fs.existsSync(path.join(dir, 'cert.pem'))) return dir;
  const e = await enroll('relay', `relay-${name}`, ['127.0.0.1']);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'key.pem'), e.keyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'cert.pem'), e.chainPem);
  fs.writeFileSync(path.join(dir, 'ca.pem'), ca);
  return dir;
}
const backends: Record<string, EchoBackend> = {};
let client: LoadgenHandle;

async function startGlobal(ports?: { http: number; xds: number; plain: number }): Promise<CliServer> {
  const args = [...common, '--xds-plaintext-port', String(ports?.plain ?? 0)];
  if (ports) args.push('--http-port', String(ports.http), '--xds-port', String(ports.xds));
  const s = await startCliServer({ secure: true, dir: dirs.g, args });
  ca = s.caPem();
  admin = s.adminToken();
  return s;
}

async function startRelay(name: keyof typeof dirs, region: string, loc: string, ports?: { http: number; xds: number; plain: number }): Promise<CliServer> {
  const args = [
    '--tls-dir',
    await relayTlsDir(name),
    '--xds-plaintext-port',
    String(ports?.plain ?? 0),
    ...common,
    '--role',
    'regional',
    '--region',
    region,
    '--upstream',
    `127.0.0.1:${gPorts.xds}`,
    '--advertise-address',
    '127.0.0.1',
    '--location',
    loc,
    '--relay-id',
    `relay-${name}`,
  ];
  if (ports) args.push('--http-port', String(ports.http), '--xds-port', String(ports.xds));
  const r = await startCliServer({ secure: true, dir: dirs[name], args });
  relays[name] = r;
  relayPorts[name] = { http: r.httpPort, xds: r.xdsPort, plain: r.xdsPlaintextPort! };
  return r;
}

/** A GET as the admin, at the global tier or a relay. */
const json = async <T>(url: string): Promise<T> => {
  const u = new URL(url);
  const r = await tlsRequest<T>(u.origin, `${u.pathname}${u.search}`, { ca, token: admin });
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status} ${r.text}`);
  return r.json;
};
type NodeJson = { id: string; role: string; state: string; lastHeartbeat: { at: number; load: { cpu?: number } } | null };
const nodesAt = async (base: string): Promise<NodeJson[]> => {
  const b = await json<{ nodes: NodeJson[] } | NodeJson[]>(`${base}/v1/nodes`);
  return Array.isArray(b) ? b : b.nodes;
};

async function backend(id: string, zone: string, urls: string[], loc = SH, region = 'cn-east'): Promise<EchoBackend> {
  const b = await startEchoBackend({
    host: '127.0.0.1',
    port: 0,
    nodeId: id,
    region,
    zone,
    location: loc,
    capacity: { maxRps: 500 },
    registry: {
      urls,
      apiToken: nodeTokens[id],
      tls: { ca },
      heartbeatIntervalMs: HB,
      load: () => ({ cpu: 0.2, memory: 0.2, network: 0.1 }),
      network: () => ({ latencyMs: 5, jitterMs: 1, packetLoss: 0 }),
    },
  });
  backends[id] = b;
  return b;
}

type ClaJson = {
  endpoints?: Array<{ priority?: number; lb_endpoints: Array<{ endpoint: { hostname: string }; health_status?: string; load_balancing_weight?: { value: number } }> }>;
};
function endpointsOf(r: Received): Array<{ host: string; health: string; weight: number; priority: number }> {
  const cla = r.resources.find((x) => x.name === 'echo')?.json as ClaJson | undefined;
  return (cla?.endpoints ?? []).flatMap((l) =>
    l.lb_endpoints.map((e) => ({ host: e.endpoint.hostname, health: e.health_status ?? 'UNKNOWN', weight: e.load_balancing_weight?.value ?? 0, priority: l.priority ?? 0 })),
  );
}
const healthOf = (r: Received, host: string): string => endpointsOf(r).find((e) => e.host === host)?.health ?? 'absent';
const summarize = (r: Received): string =>
  endpointsOf(r)
    .map((e) => `${e.host}:${e.health}:${e.weight}:p${e.priority}`)
    .join(' ');

/** An mTLS channel to an xDS port with node `id`'s certificate (one channel per stream: closed with the stream). */
function tlsChannel(port: number, id: string): grpc.Client {
  const c = nodeCerts[id]!;
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(ca), Buffer.from(c.keyPem), Buffer.from(c.chainPem)));
}

/** Everything one Envoy-like proxy gets from a server (ACKing as it goes). */
async function fetchAll(port: number, id: string, kind: 'envoy' | 'grpc'): Promise<Record<ResourceKind, Received>> {
  const channel = tlsChannel(port, id);
  const c = new XdsClient('', { id, user_agent_name: kind === 'envoy' ? 'envoy' : 'gRPC Node Pure JS', locality: { region: 'cn-east', zone: 'sh-a' } }, { client: channel });
  try {
    const out = {} as Record<ResourceKind, Received>;
    c.subscribe('cluster', kind === 'envoy' ? [] : ['echo']);
    out.cluster = await c.nextOf('cluster', 8000);
    c.ack(out.cluster);
    c.subscribe(
      'endpoint',
      out.cluster.resources.map((r) => r.name),
    );
    out.endpoint = await c.nextOf('endpoint', 8000);
    c.ack(out.endpoint);
    c.subscribe('listener', kind === 'envoy' ? [] : ['echo']);
    out.listener = await c.nextOf('listener', 8000);
    c.ack(out.listener);
    c.subscribe(
      'route',
      out.listener.resources.map((r) => (kind === 'envoy' ? 'edge-xds-egress' : r.name)),
    );
    out.route = await c.nextOf('route', 8000);
    return out;
  } finally {
    c.close();
    channel.close();
  }
}

before(async () => {
  for (const d of Object.values(dirs)) require('node:fs').mkdirSync(d, { recursive: true });
  g = await startGlobal();
  gPorts = { http: g.httpPort, xds: g.xdsPort, plain: g.xdsPlaintextPort! };
  // Everyone that will talk to the tiers, enrolled now (east-3 registers and the probes connect while the global tier is down).
  for (const id of ['east-1', 'east-2', 'east-3', 'north-1', 'client-sh', 'id-envoy', 'id-grpc', 'restart-probe', 'flap-probe']) await enroll('node', id);
  await startRelay('r1', 'cn-east', '31.20,121.40');
  await startRelay('r2', 'cn-east', '30.27,120.15');
  await startRelay('r3', 'cn-north', '39.90,116.40');
  const east = [relays.r1!.baseUrl, relays.r2!.baseUrl];
  await backend('east-1', 'sh-a', east);
  await backend('east-2', 'sh-a', east);
  await backend('north-1', 'bj-a', [relays.r3!.baseUrl], { lat: 39.9, lon: 116.4 }, 'cn-north');
  await waitFor(async () => (await nodesAt(g.baseUrl)).filter((n) => n.role === 'edge' && n.state === 'healthy').length === 3, {
    timeoutMs: 15_000,
    message: 'backends registered at the global tier through the relays',
  });
  const bootstrap = renderGrpcBootstrap({
    nodeId: 'client-sh',
    locality: { region: 'cn-east', zone: 'sh-a', subZone: '' },
    // The plaintext listeners (grpc-js-xds cannot present a certificate), with the client's node credential.
    xdsServers: [
      { host: '127.0.0.1', port: relayPorts.r1!.plain },
      { host: '127.0.0.1', port: relayPorts.r2!.plain },
      { host: '127.0.0.1', port: gPorts.plain },
    ],
    metadata: { [NODE_CREDENTIAL_METADATA_KEY]: nodeTokens['client-sh']! },
  });
  client = spawnLoadgen({ bootstrap, target: 'xds:///echo', rate: 100, durationMs: 170_000, deadlineMs: 2000, reportEveryMs: 200 });
  await client.waitFor((r) => r.type === 'window' && Object.keys((r as { counts: Record<string, number> }).counts).length > 0, 20_000);
});

after(async () => {
  await client?.kill();
  for (const b of Object.values(backends)) await b.close().catch(() => undefined);
  for (const r of Object.values(relays)) await r.stop().catch(() => undefined);
  await g?.stop().catch(() => undefined);
  removeDir(root);
});

test('a proxy gets byte-identical resources and the same versions from a relay and from the global tier', async () => {
  for (const kind of ['envoy', 'grpc'] as const) {
    // Fetched side by side; if the registry really changed in between (a late heartbeat on a loaded
    // machine), the two differ legitimately: try again, a bounded number of times.
    let fromGlobal = await fetchAll(gPorts.xds, `id-${kind}`, kind);
    let fromRelay = await fetchAll(relayPorts.r1!.xds, `id-${kind}`, kind);
    for (let attempt = 0; attempt < 3 && fromRelay.endpoint.version !== fromGlobal.endpoint.version; attempt++) {
      await sleep(500);
      [fromGlobal, fromRelay] = await Promise.all([fetchAll(gPorts.xds, `id-${kind}`, kind), fetchAll(relayPorts.r1!.xds, `id-${kind}`, kind)]);
    }
    for (const t of ['cluster', 'endpoint', 'listener', 'route'] as ResourceKind[]) {
      assert.equal(fromRelay[t].version, fromGlobal[t].version, `${kind} ${t} version`);
      assert.deepEqual(
        fromRelay[t].resources.map((r) => r.bytes.toString('base64')),
        fromGlobal[t].resources.map((r) => r.bytes.toString('base64')),
        `${kind} ${t} bytes`,
      );
    }
  }
});

test('cut off from the global tier, the region keeps running: the relay removes a silent backend and routes to a new one', async () => {
  await g.stop('SIGKILL');
  const mark = client.mark();
  // A backend stops heartbeating: the relay takes it out of traffic within 3 intervals + 1 s.
  backends['east-2']!.stopHeartbeats();
  const stoppedAt = Date.now();
  await sleep(3 * HB + 1000);
  const after1 = client.mark();
  await sleep(1000);
  assert.equal(
    after1.counts['east-2'] ?? 0,
    0,
    `east-2 still served: ${JSON.stringify(after1.counts)} (${Date.now() - stoppedAt} ms after its last heartbeat)\n${relays.r1!.output().slice(-3000)}`,
  );
  assert.ok((after1.counts['east-1'] ?? 0) > 50, 'east-1 keeps serving');
  // A backend registered at the relay during the partition receives traffic.
  await backend('east-3', 'sh-a', [relays.r1!.baseUrl, relays.r2!.baseUrl]);
  const m3 = client.mark();
  await waitFor(() => (m3.counts['east-3'] ?? 0) > 10, { timeoutMs: 3 * HB + 3000, message: 'east-3 in traffic' });
  assert.equal(mark.failed, 0, `no failed RPC while the global tier is down: ${JSON.stringify(mark.errors)}`);
});

test('a relay restarted while the global tier is down serves from its database at once', async () => {
  const before = await fetchAll(relayPorts.r2!.xds, 'restart-probe', 'envoy');
  await relays.r2!.stop();
  await startRelay('r2', 'cn-east', '30.27,120.15', relayPorts.r2);
  const t0 = Date.now();
  const after = await fetchAll(relayPorts.r2!.xds, 'restart-probe', 'envoy');
  assert.ok(Date.now() - t0 < 3000, 'answered without the global tier');
  assert.deepEqual(
    after.cluster.resources.map((r) => r.name),
    before.cluster.resources.map((r) => r.name),
  );
  assert.ok(after.endpoint.resources.length > 0);
});

test('when the global tier returns it has every registration and the latest heartbeat state, and proxies see no flapping', async () => {
  const watchChannel = tlsChannel(relayPorts.r1!.xds, 'flap-probe');
  const watcher = new XdsClient('', { id: 'flap-probe', user_agent_name: 'envoy', locality: { region: 'cn-east', zone: 'sh-a' } }, { client: watchChannel });
  watcher.subscribe('endpoint', ['echo']);
  const first = await watcher.nextOf('endpoint', 5000);
  watcher.ack(first);
  const seenHealth: string[] = [healthOf(first, 'east-2')];
  g = await startGlobal(gPorts);
  await waitFor(
    async () => {
      const t = await json<{ inSync: boolean; outboxPending: number }>(`${relays.r1!.baseUrl}/v1/tier`);
      return t.inSync && t.outboxPending === 0;
    },
    { timeoutMs: 15_000, message: 'relay r1 in sync with the restarted global tier' },
  );
  const nodes = await nodesAt(g.baseUrl);
  const ids = nodes
    .filter((n) => n.role === 'edge')
    .map((n) => n.id)
    .sort();
  assert.deepEqual(ids, ['east-1', 'east-2', 'east-3', 'north-1'], 'every registration acknowledged during the partition is at the global tier');
  const e1 = nodes.find((n) => n.id === 'east-1')!;
  assert.ok(e1.lastHeartbeat && Date.now() - e1.lastHeartbeat.at < 5 * HB, 'the latest heartbeat state reached the global tier');
  await waitFor(async () => (await nodesAt(g.baseUrl)).find((n) => n.id === 'east-2')?.state === 'unhealthy', {
    timeoutMs: 5 * HB + 3000,
    message: 'east-2 unhealthy at the global tier',
  });
  // Watch what the proxy receives for a while: east-2 never comes back to HEALTHY.
  const pushes: string[] = [];
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    try {
      const r = await watcher.nextOf('endpoint', Math.max(1, until - Date.now()));
      watcher.ack(r);
      pushes.push(summarize(r));
      seenHealth.push(healthOf(r, 'east-2'));
    } catch {
      break;
    }
  }
  watcher.close();
  watchChannel.close();
  assert.ok(!seenHealth.includes('HEALTHY'), `east-2 flapped back to HEALTHY: ${seenHealth.join(' -> ')}`);
  // The region's own endpoints change at most once (the switch back to the global tier's snapshot).
  const regionHealth = (p: string): string =>
    p
      .split(' ')
      .filter((e) => e.startsWith('east-'))
      .map((e) => e.split(':').slice(0, 2).join(':'))
      .join(' ');
  const states = [summarize(first), ...pushes].map(regionHealth);
  const changes = states.filter((st, i) => i > 0 && st !== states[i - 1]).length;
  assert.ok(changes <= 1, `the region's endpoints changed ${changes} times: ${states.join(' | ')}`);
});

test('killing the relay a client uses: it continues through the next relay with zero failed RPCs', async () => {
  const mark = client.mark();
  await relays.r1!.stop('SIGKILL');
  await sleep(3000);
  assert.equal(mark.failed, 0, `failed RPCs: ${JSON.stringify(mark.errors)}`);
  assert.ok(mark.ok > 200, `RPCs went on (${mark.ok})`);
  await waitFor(
    async () => {
      const { relays: list } = await json<{ relays: Array<{ id: string; state: string }> }>(`${g.baseUrl}/v1/relays?region=cn-east`);
      return list.find((r) => r.id === 'relay-r1')?.state === 'unhealthy';
    },
    { timeoutMs: 4 * HB + 3000, message: 'the dead relay shown unhealthy' },
  );
});

test('a relay added at runtime is offered first to the nodes nearest to it', async () => {
  await startRelay('r4', 'cn-east', `${SH.lat},${SH.lon}`);
  await waitFor(
    async () => {
      const b = await json<{ xds_servers: Array<{ server_uri: string }> }>(`${g.baseUrl}/v1/bootstrap/east-1?format=grpc`);
      return b.xds_servers[0]!.server_uri.startsWith(`ipv4:127.0.0.1:${relayPorts.r4!.plain},`);
    },
    { timeoutMs: 5000, message: 'r4 first in east-1 bootstrap' },
  );
  const near = await json<{ relays: Array<{ id: string }> }>(`${g.baseUrl}/v1/relays?region=cn-east&near=${SH.lat},${SH.lon}`);
  assert.equal(near.relays[0]!.id, 'relay-r4');
});
