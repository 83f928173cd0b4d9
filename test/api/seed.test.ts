import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeNode } from '../../src/domain';
import { geoZone, mapCapabilities } from '../../src/api';
import { TestServer, client, seedHeartbeat, seedRegistration, startTestServer } from '../helpers';

let srv: TestServer;
let http: ReturnType<typeof client>;

before(async () => {
  srv = await startTestServer();
  http = client(srv.baseUrl);
});
after(async () => {
  await srv.stop();
});

test('geoZone: 1-degree grid cells, named by hemisphere', () => {
  assert.equal(geoZone(31.23, 121.47), 'geo-31n121e');
  assert.equal(geoZone(-33.87, 151.21), 'geo-34s151e');
  assert.equal(geoZone(40.71, -74.01), 'geo-40n75w');
  assert.equal(geoZone(0, 0), 'geo-0n0e');
  assert.equal(geoZone(-0.5, -0.5), 'geo-1s1w');
});

test('mapCapabilities: cpu/memory/max_rps to capacity, scalars to cap.* labels', () => {
  assert.deepEqual(mapCapabilities({ cpu: 4, memory: '8Gi', max_rps: 200, gpu: true, arch: 'arm64', tags: ['a', 'b'], nested: { x: 1 } }), {
    capacity: { cpu: 4, memoryMb: 8192, maxRps: 200 },
    labels: { 'cap.cpu': '4', 'cap.memory': '8Gi', 'cap.max_rps': '200', 'cap.gpu': 'true', 'cap.arch': 'arm64', 'cap.tags': 'a,b' },
  });
});

test('POST /register with the seed payload answers 200 and places the node by location', async () => {
  const res = await http<{ status: string; node_id: string; region: string; zone: string; node: EdgeNode }>('/register', { body: seedRegistration() });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.status, 'registered');
  assert.equal(res.json.node_id, 'edge-node-01');
  const node = (await http<EdgeNode>('/v1/nodes/edge-node-01')).json;
  assert.equal(node.region, 'default');
  assert.equal(node.zone, 'geo-31n121e');
  assert.equal(node.subZone, '');
  assert.equal(node.role, 'edge');
  assert.deepEqual(node.location, { lat: 31.23, lon: 121.47 });
  assert.equal(node.address, '192.168.1.20');
  assert.deepEqual(node.capacity, { cpu: 4, memoryMb: 8192 });
  assert.deepEqual(node.labels, { 'cap.cpu': '4', 'cap.memory': '8192', 'cap.gpu': 'true' });
  assert.deepEqual(node.services, []);
  // registering again is also 200
  assert.equal((await http('/register', { body: seedRegistration() })).status, 200);
});

test('POST /heartbeat with the seed payload answers 200 and maps network_status', async () => {
  const res = await http<{ status: string }>('/heartbeat', { body: seedHeartbeat() });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { status: 'ok' });
  const node = (await http<EdgeNode>('/v1/nodes/edge-node-01')).json;
  assert.deepEqual(node.lastHeartbeat?.load, { cpu: 0.3, memory: 0.5, network: 0.2 });
  assert.deepEqual(node.lastHeartbeat?.network, { latencyMs: 50, jitterMs: 10, packetLoss: 0.01 });
  assert.equal(node.stats?.packetLoss, 0.01);
  const unknown = await http<{ error: { field: string } }>('/heartbeat', { body: seedHeartbeat('ghost') });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.field, 'node_id');
});

test('seed re-registration keeps services declared through /v1/nodes', async () => {
  const v1 = await http('/v1/nodes', {
    body: {
      id: 'edge-node-01',
      region: 'default',
      zone: 'geo-31n121e',
      location: { lat: 31.23, lon: 121.47 },
      address: '192.168.1.20',
      services: [{ name: 'video', port: 9000, protocol: 'grpc' }],
    },
  });
  assert.equal(v1.status, 200);
  assert.equal((await http('/register', { body: seedRegistration() })).status, 200);
  const node = (await http<EdgeNode>('/v1/nodes/edge-node-01')).json;
  assert.deepEqual(node.services, [{ name: 'video', port: 9000, protocol: 'grpc' }]);
});

test('seed payloads are validated with field names', async () => {
  const cases: Array<[string, unknown, string]> = [
    ['/register', { ...seedRegistration(), location: [95, 10] }, 'location.0'],
    ['/register', { ...seedRegistration(), location: [] }, 'location'],
    ['/register', { ...seedRegistration(), location: { lat: 1, lon: 2 } }, 'location'],
    ['/register', { ...seedRegistration(), ip: 'localhost' }, 'ip'],
    ['/register', { ...seedRegistration(), node_id: 'Edge Node' }, 'node_id'],
    ['/register', { ...seedRegistration(), capabilities: { cpu: -2 } }, 'capabilities.cpu'],
    ['/heartbeat', { ...seedHeartbeat(), load: { cpu: 7 } }, 'load.cpu'],
    ['/heartbeat', { ...seedHeartbeat(), network_status: { packet_loss: 'NaN' } }, 'network_status.packet_loss'],
  ];
  for (const [path, body, field] of cases) {
    const res = await http<{ error: { field: string } }>(path, { body });
    assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
    assert.equal(res.json.error.field, field, res.text);
  }
  const ids = (await http<{ nodes: EdgeNode[] }>('/v1/nodes')).json.nodes.map((n) => n.id);
  assert.deepEqual(ids, ['edge-node-01']);
});
