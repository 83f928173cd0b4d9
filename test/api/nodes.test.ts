import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeNode, RegistryEvent } from '../../src/domain';
import { HEARTBEAT, TestServer, client, registration, startTestServer, waitFor } from '../helpers';

let srv: TestServer;
let http: ReturnType<typeof client>;

before(async () => {
  srv = await startTestServer({ drainGraceMs: 300 });
  http = client(srv.baseUrl);
});
after(async () => {
  await srv.stop();
});

test('POST /v1/nodes registers (201) then re-registers (200)', async () => {
  const first = await http<EdgeNode>('/v1/nodes', { body: registration() });
  assert.equal(first.status, 201);
  assert.equal(first.headers.location, '/v1/nodes/edge-sh-01');
  assert.equal(first.json.id, 'edge-sh-01');
  assert.equal(first.json.state, 'healthy');
  assert.deepEqual(first.json.capacity, { cpu: 4, memoryMb: 4096, maxRps: 500 });
  assert.equal(first.json.lastHeartbeat, null);

  const again = await http<EdgeNode>('/v1/nodes', { body: registration({ address: '10.0.0.6', labels: { tier: 'silver' } }) });
  assert.equal(again.status, 200);
  assert.equal(again.json.address, '10.0.0.6');
  assert.deepEqual(again.json.labels, { tier: 'silver' });
  assert.equal(again.json.registeredAt, first.json.registeredAt);

  const minimal = await http<EdgeNode>('/v1/nodes', {
    body: { id: 'relay-1', region: 'cn-east', zone: 'shanghai-b', location: { lat: 31, lon: 121 }, address: 'fd00::1' },
  });
  assert.equal(minimal.status, 201);
  assert.equal(minimal.json.role, 'edge');
  assert.equal(minimal.json.subZone, '');
  assert.deepEqual(minimal.json.services, []);
  assert.deepEqual(minimal.json.capacity, {});
});

test('heartbeat: 204, visible in GET /v1/nodes/{id}; 404 for an unknown node', async () => {
  const hb = await http('/v1/nodes/edge-sh-01/heartbeat', { body: HEARTBEAT });
  assert.equal(hb.status, 204);
  assert.equal(hb.text, '');
  const empty = await http('/v1/nodes/edge-sh-01/heartbeat', { method: 'POST' });
  assert.equal(empty.status, 204, 'a heartbeat without body is allowed');

  const got = await http<EdgeNode>('/v1/nodes/edge-sh-01');
  assert.equal(got.status, 200);
  assert.deepEqual(got.json.lastHeartbeat?.load, {}, 'the latest (empty) heartbeat');
  assert.deepEqual(got.json.lastHeartbeat?.network, {});
  assert.equal(got.json.stats?.cpu, 0.3, 'unreported fields keep their smoothed value');
  assert.equal(got.json.stats?.samples, 2);
  assert.equal(got.json.stats?.latencyMs, 50);
  assert.equal(got.json.state, 'healthy');

  const unknown = await http<{ error: { code: string; field: string } }>('/v1/nodes/nope/heartbeat', { body: HEARTBEAT });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.code, 'not_found');
  assert.equal((await http('/v1/nodes/nope')).status, 404);
});

test('GET /v1/nodes filters by region, zone, state, service', async () => {
  await http('/v1/nodes', { body: registration({ id: 'edge-bj-01', region: 'cn-north', zone: 'beijing-a', services: [{ name: 'video', port: 9000, protocol: 'grpc' }] }) });
  const ids = async (q: string): Promise<string[]> => (await http<{ nodes: EdgeNode[] }>(`/v1/nodes${q}`)).json.nodes.map((x) => x.id);
  assert.deepEqual(await ids(''), ['edge-bj-01', 'edge-sh-01', 'relay-1']);
  assert.deepEqual(await ids('?region=cn-north'), ['edge-bj-01']);
  assert.deepEqual(await ids('?region=cn-east&zone=shanghai-a'), ['edge-sh-01']);
  assert.deepEqual(await ids('?service=camera-ingest'), ['edge-sh-01']);
  assert.deepEqual(await ids('?state=healthy&service=video'), ['edge-bj-01']);
  assert.deepEqual(await ids('?state=draining'), []);
  const bad = await http<{ error: { field: string; code: string } }>('/v1/nodes?state=sleepy');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.field, 'state');
});

test('GET /v1/services lists each service with its endpoints', async () => {
  const res = await http<{ services: Array<{ name: string; endpoints: Array<{ nodeId: string; address: string; port: number; protocol: string }> }> }>('/v1/services');
  assert.equal(res.status, 200);
  assert.deepEqual(
    res.json.services.map((s) => [s.name, s.endpoints.map((e) => `${e.nodeId}@${e.address}:${e.port}/${e.protocol}`)]),
    [
      ['camera-ingest', ['edge-sh-01@10.0.0.6:8080/http']],
      ['video', ['edge-bj-01@10.0.0.5:9000/grpc']],
    ],
  );
});

test('DELETE drains (202) then the node is removed after --drain-grace', async () => {
  const del = await http<EdgeNode>('/v1/nodes/edge-bj-01', { method: 'DELETE' });
  assert.equal(del.status, 202);
  assert.equal(del.json.state, 'draining');
  assert.equal((await http<EdgeNode>('/v1/nodes/edge-bj-01')).json.state, 'draining');
  assert.equal((await http('/v1/nodes/ghost', { method: 'DELETE' })).status, 404);
  await waitFor(async () => (await http('/v1/nodes/edge-bj-01')).status === 404, { timeoutMs: 4000, message: 'removal' });
  const ev = await http<{ events: RegistryEvent[] }>('/v1/events?node=edge-bj-01');
  assert.deepEqual(
    ev.json.events.map((e) => e.type),
    ['registered', 'draining', 'deregistered'],
  );
});

test('GET /v1/events?since= pages through the event log', async () => {
  const all = await http<{ events: RegistryEvent[]; next: number }>('/v1/events');
  assert.equal(all.status, 200);
  const seqs = all.json.events.map((e) => e.seq);
  assert.ok(seqs.length >= 6, `events ${seqs}`);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
  );
  assert.equal(all.json.next, seqs[seqs.length - 1]);
  const page = await http<{ events: RegistryEvent[]; next: number }>(`/v1/events?since=${seqs[1]}&limit=2`);
  assert.deepEqual(
    page.json.events.map((e) => e.seq),
    [seqs[2], seqs[3]],
  );
  assert.equal(page.json.next, seqs[3]);
  const tail = await http<{ events: RegistryEvent[]; next: number }>(`/v1/events?since=${seqs[seqs.length - 1]}`);
  assert.deepEqual(tail.json, { events: [], next: seqs[seqs.length - 1] });
  assert.equal((await http<{ error: { field: string } }>('/v1/events?since=abc')).json.error.field, 'since');
});

test('/healthz, /readyz and /metrics', async () => {
  assert.deepEqual((await http('/healthz')).json, { status: 'ok' });
  const ready = await http('/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.json, { status: 'ready' });
  const m = await http('/metrics');
  assert.equal(m.status, 200);
  assert.match(m.text, /edge_xds_nodes\{state="healthy"\} 2/);
  assert.match(m.text, /edge_xds_heartbeats_total [1-9]/);
});
