/**
 * A relay's acknowledged writes are never dropped by the global tier, whatever
 * arrives on the sync port: a forged Forward with a huge seq under the relay's
 * id (and even its epoch), or a relay database restored from an older copy.
 * Real processes on loopback: one global tier, one relay, nodes writing over
 * REST to the relay.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { relayArgs, startCliServer, type CliServer } from '../helpers/cli-server';
import { makeTempDir, removeDir } from '../helpers/tmp';
import { eventually, sleep } from '../helpers/wait';
import { request } from '../helpers/http';
import { registration } from '../helpers/fixtures';
import { relaySyncClient } from '../../src/relay';

const HB = 500;
const root = makeTempDir('edge-xds-relay-epoch-');
const common = ['--heartbeat-interval', `${HB}ms`, '--coalesce', '20ms', '--weight-push-interval', '0ms'];
let g: CliServer;
let gPorts: { http: number; xds: number };
let r: CliServer;

async function startGlobal(): Promise<CliServer> {
  const args = [...common];
  if (gPorts) args.push('--http-port', String(gPorts.http), '--xds-port', String(gPorts.xds));
  g = await startCliServer({ dir: `${root}/global`, args });
  gPorts = { http: g.httpPort, xds: g.xdsPort };
  return g;
}

async function startRelay(): Promise<CliServer> {
  r = await startCliServer({
    dir: `${root}/relay`,
    args: [...common, ...relayArgs(gPorts.xds, 'relay-a')],
  });
  return r;
}

type Tier = { inSync: boolean; outboxPending: number; outboxEpoch: string; epochResets: number; connected: boolean };
type NodeJson = { id: string; lastHeartbeat: { load: { cpu?: number } } | null };
const tier = async (): Promise<Tier> => (await request<Tier>(r.baseUrl, '/v1/tier')).json;
const globalNode = async (id: string): Promise<NodeJson | undefined> => {
  const res = await request<NodeJson>(g.baseUrl, `/v1/nodes/${id}`);
  return res.status === 200 ? res.json : undefined;
};

async function registerViaRelay(id: string): Promise<void> {
  const res = await request(r.baseUrl, '/v1/nodes', { body: registration({ id, address: '10.1.0.1' }) });
  assert.ok(res.status === 201 || res.status === 200, `register ${id} via the relay: ${res.status} ${res.text}`);
}
async function heartbeatViaRelay(id: string, cpu: number): Promise<void> {
  const res = await request(r.baseUrl, `/v1/nodes/${id}/heartbeat`, { body: { load: { cpu, memory: 0.1, network: 0.1 } } });
  assert.ok(res.status === 200 || res.status === 204, `heartbeat ${id} via the relay: ${res.status} ${res.text}`);
}
async function globalSees(id: string, cpu: number, what: string): Promise<void> {
  await eventually(async () => (await globalNode(id))?.lastHeartbeat?.load.cpu === cpu, 10_000, 100).catch(() => {
    throw new Error(`the global tier never saw ${what} (node ${id}, cpu ${cpu}): an acknowledged write was dropped`);
  });
}

/** Opens a RelaySync stream to the global tier as an attacker would, claiming relay-a's id, and forwards one op with a huge seq. */
async function forgeHugeSeq(epoch: string): Promise<void> {
  const client = relaySyncClient(`127.0.0.1:${gPorts.xds}`);
  const call = client.Sync();
  const acked = new Promise<number>((resolve, reject) => {
    call.on('data', (m: { msg?: string; forward_ack?: { seq: number } }) => {
      if (m.msg === 'forward_ack' && Number(m.forward_ack!.seq) > 1000) resolve(Number(m.forward_ack!.seq));
    });
    call.on('error', reject);
  });
  const reg = { id: 'relay-a', role: 'relay', region: 'cn-east', zone: 'relay', location: { lat: 31.2, lon: 121.4 }, address: '127.0.0.1' };
  call.write({ hello: { registration_json: JSON.stringify(reg), epoch } });
  call.write({ forward: { seq: 4_000_000_000_000, heartbeat: { node_id: 'nobody', input_json: '{}', received_at_ms: Date.now() } } });
  assert.equal(await acked, 4_000_000_000_000, 'the forged forward was acknowledged (this is the attack)');
  call.cancel();
  client.close();
}

before(async () => {
  fs.mkdirSync(`${root}/global`, { recursive: true });
  fs.mkdirSync(`${root}/relay`, { recursive: true });
  await startGlobal();
  await startRelay();
  await registerViaRelay('node-1');
  await heartbeatViaRelay('node-1', 0.11);
  await globalSees('node-1', 0.11, 'the first heartbeat');
});

after(async () => {
  await r?.stop().catch(() => undefined);
  await g?.stop().catch(() => undefined);
  removeDir(root);
});

test('a forged Forward with a huge seq under the relay id and epoch does not make the global tier drop later writes', async () => {
  const before = await tier();
  assert.ok(before.outboxEpoch.length > 0, 'the relay reports its outbox epoch');
  // The worst case: the forger knows the relay's current epoch (and, separately, uses none: an old-style id-wide position).
  await forgeHugeSeq(before.outboxEpoch);
  await forgeHugeSeq('');
  // The relay's next stream reads the global tier's (now poisoned) position for its epoch.
  await g.stop();
  await heartbeatViaRelay('node-1', 0.22); // accepted and durable at the relay while the global tier is down
  await registerViaRelay('node-2');
  await startGlobal();
  await globalSees('node-1', 0.22, 'the heartbeat accepted while the global tier was down');
  assert.ok(await globalNode('node-2'), 'the registration accepted while the global tier was down reached it');
  await heartbeatViaRelay('node-2', 0.33);
  await globalSees('node-2', 0.33, 'a heartbeat after the reconnect');
  const after = await tier();
  assert.ok(after.epochResets >= 1, 'the relay noticed the global tier was ahead of it');
  assert.notEqual(after.outboxEpoch, before.outboxEpoch, 'and started a new epoch');
  await eventually(
    async () => {
      const t = await tier();
      return t.inSync && t.outboxPending === 0;
    },
    10_000,
    100,
  );
});

test('a relay whose database is restored from an older copy (or re-created) still delivers every write', async () => {
  await r.stop();
  const db = r.dbPath;
  const files = [db, `${db}-wal`, `${db}-shm`].filter((f) => fs.existsSync(f));
  for (const f of files) fs.copyFileSync(f, `${f}.bak`);
  await startRelay();
  // Writes that push the relay's sequence well past the backup's.
  for (let i = 0; i < 20; i++) await registerViaRelay(`node-x${i}`);
  await heartbeatViaRelay('node-1', 0.44);
  await globalSees('node-1', 0.44, 'a heartbeat before the restore');
  await r.stop();
  for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
  for (const f of files) fs.copyFileSync(`${f}.bak`, f);
  await startRelay();
  await registerViaRelay('node-3');
  await heartbeatViaRelay('node-1', 0.55);
  await heartbeatViaRelay('node-3', 0.66);
  await globalSees('node-1', 0.55, 'a heartbeat after the restore');
  await globalSees('node-3', 0.66, 'a new node after the restore');

  // Re-created from nothing: a new database, same relay id.
  await r.stop();
  for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
  await startRelay();
  await registerViaRelay('node-4');
  await heartbeatViaRelay('node-4', 0.77);
  await globalSees('node-4', 0.77, 'a write of a re-created relay');
  await sleep(50);
});
