/**
 * Issue #11.3: the xDS address in /v1/bootstrap/{id} comes from configuration
 * (--advertise-address, else the listen address, else a local fallback for a
 * wildcard), never from the request's Host header.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { parse } from 'yaml';
import { fillTemplate } from '../../src/bootstrap';
import { bootstrapXdsHost } from '../../src/server/tier-admin';
import { checkBootstrapYaml } from '../helpers/envoy-validate';
import { registration, request, startTestServer, type TestServer } from '../helpers';

/** Host header values an attacker (or a broken client) might send. */
const HOSTS = [
  'evil.example',
  'evil.example:1234',
  '[::1]:80',
  '[evil',
  ':80',
  '',
  '{{NODE_ID}}',
  '{{X}}',
  'a"b',
  "a'b: c # d",
  'a\\b',
  'x,y',
  '%00',
  'evil.example\t',
  'h'.repeat(4000),
];

interface EnvoyDoc {
  static_resources: {
    clusters: Array<{
      name: string;
      load_assignment: { endpoints: Array<{ lb_endpoints: Array<{ endpoint: { address: { socket_address: { address: string; port_value: number } } } }> }> };
    }>;
  };
}

function xdsAddresses(yamlText: string): string[] {
  const doc = parse(yamlText) as EnvoyDoc;
  const xds = doc.static_resources.clusters.find((c) => c.name === 'xds_cluster');
  assert.ok(xds, 'xds_cluster');
  return xds.load_assignment.endpoints.map((e) => {
    const a = e.lb_endpoints[0].endpoint.address.socket_address;
    return `${a.address}:${a.port_value}`;
  });
}

async function checkBootstraps(srv: TestServer, expectedHost: string): Promise<void> {
  for (const host of HOSTS) {
    for (const query of ['', '?mode=sotw', '?format=grpc']) {
      const what = `Host ${JSON.stringify(host.slice(0, 40))} ${query}`;
      const r = await request(srv.baseUrl, `/v1/bootstrap/edge-1${query}`, { headers: { host } });
      assert.ok(r.status < 500, `${what}: ${r.status} ${r.text}`);
      // Node itself may refuse a malformed Host (400); whatever answers, it must not carry the Host.
      if (r.status !== 200) {
        assert.equal(r.status, 400, `${what}: ${r.text}`);
        continue;
      }
      if (host.length > 0) assert.ok(!r.text.includes(host.trim()), `${what}: the Host header leaked into the bootstrap`);
      assert.ok(!r.text.includes('evil'), `${what}: the Host header leaked into the bootstrap`);
      if (query === '?format=grpc') {
        const b = JSON.parse(r.text) as { xds_servers: Array<{ server_uri: string }> };
        assert.equal(b.xds_servers[0].server_uri, `ipv4:${expectedHost}:${srv.xdsPort}`, what);
      } else {
        assert.deepEqual(checkBootstrapYaml(r.text), [], what);
        assert.deepEqual(xdsAddresses(r.text), [`${expectedHost}:${srv.xdsPort}`], what);
      }
    }
  }
  assert.equal((await request(srv.baseUrl, '/healthz')).status, 200);
}

describe('bootstrap over HTTP ignores the Host header', () => {
  let plain: TestServer;
  let advertised: TestServer;
  before(async () => {
    plain = await startTestServer();
    advertised = await startTestServer({ advertiseAddress: '10.9.8.7' });
    for (const s of [plain, advertised]) {
      const r = await request(s.baseUrl, '/v1/nodes', { body: registration({ id: 'edge-1', services: [] }) });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(async () => {
    await Promise.all([plain?.stop(), advertised?.stop()]);
  });

  test('without --advertise-address: the listen address (127.0.0.1), whatever the Host', async () => {
    await checkBootstraps(plain, '127.0.0.1');
  });

  test('with --advertise-address: that address, whatever the Host', async () => {
    await checkBootstraps(advertised, '10.9.8.7');
  });
});

describe('bootstrapXdsHost: where the address comes from', () => {
  const nic = (address: string, family: 'IPv4' | 'IPv6', internal: boolean): NetworkInterfaceInfo =>
    ({ address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;
  const lo = [nic('127.0.0.1', 'IPv4', true), nic('::1', 'IPv6', true)];

  test('--advertise-address wins', () => {
    assert.deepEqual(bootstrapXdsHost('0.0.0.0', '10.9.8.7', { lo }), { host: '10.9.8.7', source: 'advertise-address' });
    assert.deepEqual(bootstrapXdsHost('127.0.0.1', 'fd00::5', { lo }), { host: 'fd00::5', source: 'advertise-address' });
  });

  test('a specific listen address (or name) is used as is', () => {
    assert.deepEqual(bootstrapXdsHost('10.1.0.5', null, { lo }), { host: '10.1.0.5', source: 'listen-address' });
    assert.deepEqual(bootstrapXdsHost('::1', null, { lo }), { host: '::1', source: 'listen-address' });
    assert.deepEqual(bootstrapXdsHost('xds.internal', null, { lo }), { host: 'xds.internal', source: 'listen-address' });
  });

  test('a wildcard listen address: the first non-internal IPv4, else 127.0.0.1', () => {
    const eth0 = [nic('fe80::1', 'IPv6', false), nic('192.168.7.9', 'IPv4', false)];
    const eth1 = [nic('10.0.0.2', 'IPv4', false)];
    for (const wildcard of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0']) {
      assert.deepEqual(bootstrapXdsHost(wildcard, null, { lo, eth0, eth1 }), { host: '192.168.7.9', source: 'interface' }, wildcard);
      assert.deepEqual(bootstrapXdsHost(wildcard, null, { lo }), { host: '127.0.0.1', source: 'loopback' }, wildcard);
      assert.deepEqual(bootstrapXdsHost(wildcard, null, {}), { host: '127.0.0.1', source: 'loopback' }, wildcard);
    }
  });
});

test('fillTemplate does not re-read a filled value as a placeholder', () => {
  assert.equal(fillTemplate('a: "{{X}}"\n', { X: '{{X}}' }), 'a: "{{X}}"\n');
  assert.equal(fillTemplate('a: "{{X}}"\nb: "{{Y}}"\n', { X: '{{Y}}', Y: 'y' }), 'a: "{{Y}}"\nb: "y"\n');
  assert.deepEqual(parse(fillTemplate('a: "{{X}}"\n', { X: [{ h: '{{Z}}' }] })), { a: [{ h: '{{Z}}' }] });
});

test('a relay registered with a bad xDS port label is left out of bootstraps, not a 500', async () => {
  const srv = await startTestServer();
  try {
    const r = await request(srv.baseUrl, '/v1/nodes', { body: registration({ id: 'edge-1', services: [] }) });
    assert.equal(r.status, 201, r.text);
    for (const port of ['99999', '1.5', '0', '-1', 'abc', '18000']) {
      const relay = registration({ id: 'relay-x', role: 'relay', address: '10.1.0.9', services: [], labels: { 'edge-xds.io/xds-port': port } });
      assert.equal((await request(srv.baseUrl, '/v1/nodes', { body: relay })).status < 300, true);
      const expected = port === '18000' ? ['10.1.0.9:18000', `127.0.0.1:${srv.xdsPort}`] : [`127.0.0.1:${srv.xdsPort}`];
      const envoy = await request(srv.baseUrl, '/v1/bootstrap/edge-1');
      assert.equal(envoy.status, 200, `port ${port}: ${envoy.text}`);
      assert.deepEqual(xdsAddresses(envoy.text), expected, `port ${port}`);
      const grpc = await request<{ xds_servers: Array<{ server_uri: string }> }>(srv.baseUrl, '/v1/bootstrap/edge-1?format=grpc');
      assert.equal(grpc.status, 200, `port ${port}: ${grpc.text}`);
      assert.equal(grpc.json.xds_servers[0].server_uri, `ipv4:${expected.join(',')}`);
    }
  } finally {
    await srv.stop();
  }
});
