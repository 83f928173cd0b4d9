/**
 * GET /v1/bootstrap/{id} of a secure-mode server (in process, HTTPS):
 *  - Envoy: mTLS with the node's files, strictly valid, pinned to the address
 *    the server's own certificate carries, and a TLS handshake made the way
 *    Envoy makes it (the node's enrolled certificate, the CA, ALPN h2) succeeds;
 *  - gRPC: the plaintext listener and the caller's own node token, or the
 *    documented placeholder for admin and read callers; 409 naming
 *    --xds-plaintext-port when that listener is off;
 *  - certDir: chosen per request, checked (400 naming certDir);
 *  - --insecure: the open-mode bootstraps, unchanged.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { parse } from 'yaml';
import { renderEnvoyBootstrap, renderGrpcBootstrap, writeEnvoySdsFiles, DEFAULT_CERT_DIR, NODE_TOKEN_PLACEHOLDER } from '../../src/bootstrap';
import { ApiError } from '../../src/api';
import { ServerTierAdmin } from '../../src/server/tier-admin';
import { registration, request, startTestServer, type TestServer } from '../helpers';
import { enrollNode, readToken, secureServer, type EnrolledNode, type SecureServer } from '../helpers/https';
import { makeTempDir, removeDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';
import { XdsClient } from '../helpers/xds-client';
import { checkSecureEnvoyBootstrap } from './tls-check';

type O = Record<string, any>;

/**
 * Follows a secure Envoy bootstrap's references the way Envoy does at startup:
 * xds_cluster -> the transport socket of its (first) endpoint -> the SDS files
 * -> the PEM files they name. Returns the endpoint and what TLS would use.
 */
function resolveXdsTls(yamlText: string): { host: string; port: number; sni: string | undefined; ca: Buffer; key: Buffer; cert: Buffer } {
  const doc = parse(yamlText) as O;
  const xds = (doc.static_resources.clusters as O[]).find((c) => c.name === 'xds_cluster')!;
  const lb = xds.load_assignment.endpoints[0].lb_endpoints[0];
  const md = lb.metadata?.filter_metadata?.['envoy.transport_socket_match'];
  const socket = md ? (xds.transport_socket_matches as O[]).find((m) => Object.entries(m.match).every(([k, v]) => md[k] === v))!.transport_socket : xds.transport_socket;
  const ctx = socket.typed_config;
  const secret = (ref: O): O => {
    const file = parse(fs.readFileSync(ref.sds_config.path_config_source.path, 'utf8')) as O;
    return (file.resources as O[]).find((r) => r.name === ref.name)!;
  };
  const certSecret = secret(ctx.common_tls_context.tls_certificate_sds_secret_configs[0]).tls_certificate;
  const caSecret = secret(ctx.common_tls_context.combined_validation_context.validation_context_sds_secret_config).validation_context;
  return {
    host: lb.endpoint.address.socket_address.address,
    port: lb.endpoint.address.socket_address.port_value,
    sni: ctx.sni,
    ca: fs.readFileSync(caSecret.trusted_ca.filename),
    key: fs.readFileSync(certSecret.private_key.filename),
    cert: fs.readFileSync(certSecret.certificate_chain.filename),
  };
}

interface GrpcBootstrapJson {
  xds_servers: Array<{ server_uri: string; channel_creds: Array<{ type: string }> }>;
  node: { id: string; locality: Record<string, string>; metadata?: Record<string, string> };
}

/** The TLS handshake Envoy makes with the bootstrap's settings: the node's certificate, the CA, ALPN h2; resolves with the server certificate's SANs. */
function handshake(port: number, node: EnrolledNode, host: string): Promise<{ alpn: string | false; sans: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ca: node.caPem, cert: node.certPem, key: node.keyPem, ALPNProtocols: ['h2'], timeout: 5000 }, () => {
      const peer = socket.getPeerX509Certificate();
      const out = { alpn: socket.alpnProtocol ?? false, sans: peer ? (new X509Certificate(peer.raw).subjectAltName ?? '') : '' };
      socket.end();
      resolve(out);
    });
    socket.on('timeout', () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

describe('secure mode, plaintext listener on', () => {
  let srv: TestServer;
  let s: SecureServer;
  let edge: EnrolledNode;
  let other: EnrolledNode;
  let read: string;

  before(async () => {
    srv = await startTestServer({ insecure: false, xdsPlaintextPort: 0 });
    s = secureServer(srv);
    edge = await enrollNode(s, 'edge-1');
    other = await enrollNode(s, 'edge-2');
    read = await readToken(s);
    for (const n of [edge, other]) {
      const r = await s.request('/v1/nodes', { token: n.nodeToken, body: registration({ id: n.id, address: '127.0.0.5', services: [] }) });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(async () => {
    await srv?.stop();
  });

  test('Envoy: mTLS to this server with the files of /etc/edge-xds; the same for the node, an admin and a read token', async () => {
    const bodies: string[] = [];
    for (const token of [edge.nodeToken, s.adminToken, read]) {
      for (const mode of ['delta', 'sotw']) {
        const r = await s.request(`/v1/bootstrap/edge-1?mode=${mode}`, { token });
        assert.equal(r.status, 200, r.text);
        assert.match(String(r.headers['content-type']), /yaml/);
        const v = checkSecureEnvoyBootstrap(r.text, DEFAULT_CERT_DIR);
        assert.deepEqual(
          v.perEndpoint.map((e) => e.address),
          [`127.0.0.1:${srv.xdsPort}`],
        );
        assert.deepEqual(v.socket.sans, ['IP_ADDRESS:127.0.0.1']);
        if (mode === 'delta') bodies.push(r.text);
      }
    }
    assert.equal(new Set(bodies).size, 1, 'an Envoy bootstrap holds no secret: the same whoever asks');
    assert.ok(!bodies[0]!.includes(edge.nodeToken));
  });

  test("the server's certificate carries the SAN the Envoy bootstrap pins, and the handshake Envoy makes (node certificate, CA, h2) succeeds", async () => {
    const r = await s.request('/v1/bootstrap/edge-1', { token: edge.nodeToken });
    const [san] = checkSecureEnvoyBootstrap(r.text, DEFAULT_CERT_DIR).socket.sans;
    const h = await handshake(srv.xdsPort, edge, '127.0.0.1');
    assert.equal(h.alpn, 'h2');
    assert.ok(h.sans.split(', ').includes(`IP Address:${san!.slice('IP_ADDRESS:'.length)}`), `server SANs ${h.sans} vs pinned ${san}`);
  });

  test('an ADS stream opened with exactly what the Envoy bootstrap references (SDS files -> the enrolled files) is served for the node, and refused for another id', async () => {
    const dir = makeTempDir('edge-xds-node-tls-');
    try {
      fs.writeFileSync(path.join(dir, 'key.pem'), edge.keyPem, { mode: 0o600 });
      fs.writeFileSync(path.join(dir, 'cert.pem'), edge.certPem);
      fs.writeFileSync(path.join(dir, 'ca.pem'), edge.caPem);
      writeEnvoySdsFiles(dir);
      const tier = new ServerTierAdmin({
        registry: srv.registry,
        role: 'global',
        xdsPort: () => srv.xdsPort,
        xdsHost: '127.0.0.1',
        upstreams: [],
        security: { plaintextHost: '127.0.0.1', plaintextPort: () => srv.xdsPlaintextPort },
      });
      const out = tier.bootstrap('edge-1', 'envoy', 'delta', { nodeToken: null }, { certDir: dir });
      assert.ok(out.ok);
      const t = resolveXdsTls(out.body);
      assert.equal(t.port, srv.xdsPort);
      const open = (nodeId: string): XdsClient => {
        const channel = new grpc.Client(`${t.host}:${t.port}`, grpc.credentials.createSsl(t.ca, t.key, t.cert), t.sni ? { 'grpc.ssl_target_name_override': t.sni } : {});
        return new XdsClient('', { id: nodeId, locality: { region: 'cn-east', zone: 'shanghai-a' } }, { client: channel });
      };
      const mine = open('edge-1');
      try {
        mine.subscribe('cluster', []);
        const r = await mine.nextOf('cluster', 5000);
        assert.equal(r.kind, 'cluster');
        assert.equal(mine.error, null);
      } finally {
        mine.close();
      }
      const impostor = open('edge-2');
      try {
        impostor.subscribe('cluster', []);
        await waitFor(() => impostor.error !== null, { timeoutMs: 10_000, message: 'the stream for another node id is refused' });
        assert.equal(impostor.received.length, 0, 'no config for another node');
        assert.match(String((impostor.error as grpc.ServiceError | null)?.details), /edge-2.*edge-1|edge-1.*edge-2/);
        assert.equal((impostor.error as grpc.ServiceError | null)?.code, grpc.status.PERMISSION_DENIED);
      } finally {
        impostor.close();
      }
    } finally {
      removeDir(dir);
    }
  });

  test("gRPC: the plaintext listener and the node's own token when the node asks with it", async () => {
    const { validateBootstrapConfig } = require('@grpc/grpc-js-xds/build/src/xds-bootstrap');
    const r = await s.request<GrpcBootstrapJson>('/v1/bootstrap/edge-1?format=grpc', { token: edge.nodeToken });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.xds_servers[0]!.server_uri, `ipv4:127.0.0.1:${srv.xdsPlaintextPort}`);
    assert.deepEqual(r.json.xds_servers[0]!.channel_creds, [{ type: 'insecure' }]);
    assert.deepEqual(r.json.node.metadata, { 'edge-xds-credential': edge.nodeToken });
    assert.deepEqual(r.json.node.locality, { region: 'cn-east', zone: 'shanghai-a', sub_zone: 'rack-1' });
    assert.doesNotThrow(() => validateBootstrapConfig(r.json));
  });

  test('gRPC for an admin, a read token or the node certificate: the placeholder (the server has only token hashes)', async () => {
    for (const [what, opts] of [
      ['admin', { token: s.adminToken }],
      ['read', { token: read }],
      ['node certificate', { cert: edge.certPem, key: edge.keyPem }],
    ] as const) {
      const r = await s.request<GrpcBootstrapJson>('/v1/bootstrap/edge-1?format=grpc', opts);
      assert.equal(r.status, 200, `${what}: ${r.text}`);
      assert.deepEqual(r.json.node.metadata, { 'edge-xds-credential': NODE_TOKEN_PLACEHOLDER }, what);
      assert.equal(r.json.xds_servers[0]!.server_uri, `ipv4:127.0.0.1:${srv.xdsPlaintextPort}`, what);
    }
  });

  test("a node asks for another node's bootstrap, or nobody asks: refused, no token leaks", async () => {
    const r = await s.request('/v1/bootstrap/edge-1?format=grpc', { token: other.nodeToken });
    assert.equal(r.status, 403, r.text);
    assert.ok(!r.text.includes(edge.nodeToken) && !r.text.includes(other.nodeToken));
    assert.equal((await s.request('/v1/bootstrap/edge-1?format=grpc')).status, 401);
  });

  test('gRPC: the plaintext bind address, the advertised address for a wildcard bind, a 409 while it is not listening', () => {
    const tier = (plaintextHost: string, port: number | null): ServerTierAdmin =>
      new ServerTierAdmin({
        registry: srv.registry,
        role: 'global',
        xdsPort: () => srv.xdsPort,
        xdsHost: '10.9.8.7',
        upstreams: [],
        security: { plaintextHost, plaintextPort: () => port },
      });
    const uri = (t: ServerTierAdmin): string => {
      const out = t.bootstrap('edge-1', 'grpc', 'delta', { nodeToken: 'exa.x.y' });
      assert.ok(out.ok, JSON.stringify(out));
      return (JSON.parse(out.body) as GrpcBootstrapJson).xds_servers[0]!.server_uri;
    };
    assert.equal(uri(tier('127.0.0.1', 18001)), 'ipv4:127.0.0.1:18001');
    assert.equal(uri(tier('10.1.0.5', 18001)), 'ipv4:10.1.0.5:18001');
    assert.equal(uri(tier('0.0.0.0', 18001)), 'ipv4:10.9.8.7:18001');
    assert.equal(uri(tier('::', 18001)), 'ipv4:10.9.8.7:18001');
    const starting = tier('127.0.0.1', 0).bootstrap('edge-1', 'grpc', 'delta', { nodeToken: 'exa.x.y' });
    assert.ok(!starting.ok && starting.error === 'no_servers' && /not listening/.test(starting.message));
    const off = tier('127.0.0.1', null).bootstrap('edge-1', 'grpc', 'delta', { nodeToken: 'exa.x.y' });
    assert.ok(!off.ok && /--xds-plaintext-port/.test(off.message));
  });

  test('certDir: the files of another folder; a bad one is a 400 naming certDir', async () => {
    // The TierAdmin behind the route (GET /v1/bootstrap passes ?certDir= to it).
    const tier = new ServerTierAdmin({
      registry: srv.registry,
      role: 'global',
      xdsPort: () => srv.xdsPort,
      xdsHost: '127.0.0.1',
      upstreams: [],
      security: { plaintextHost: '127.0.0.1', plaintextPort: () => srv.xdsPlaintextPort },
    });
    const out = tier.bootstrap('edge-1', 'envoy', 'delta', { nodeToken: null }, { certDir: '/var/lib/edge-xds/tls/' });
    assert.ok(out.ok);
    checkSecureEnvoyBootstrap(out.body, '/var/lib/edge-xds/tls');
    for (const bad of ['tls', '/a/../etc', `/${'x'.repeat(300)}`, '/a b']) {
      assert.throws(
        () => tier.bootstrap('edge-1', 'envoy', 'delta', { nodeToken: null }, { certDir: bad }),
        (e: unknown) => e instanceof ApiError && e.status === 400 && e.field === 'certDir' && /^certDir: /.test(e.message),
        bad,
      );
    }
    // Over REST, once the route passes the query parameter on (see the report of this change).
    const probe = await s.request(`/v1/bootstrap/edge-1?certDir=${encodeURIComponent('/opt/edge')}`, { token: edge.nodeToken });
    if (probe.status === 200) {
      checkSecureEnvoyBootstrap(probe.text, '/opt/edge');
      const bad = await s.request<{ error: { field: string; message: string } }>(`/v1/bootstrap/edge-1?certDir=${encodeURIComponent('/a/../b')}`, { token: edge.nodeToken });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.json.error.field, 'certDir');
    } else {
      assert.equal(probe.status, 400, probe.text);
    }
  });
});

test('secure mode without the plaintext listener: gRPC bootstraps are a 409 naming --xds-plaintext-port; Envoy ones are fine', async () => {
  const srv = await startTestServer({ insecure: false });
  try {
    const s = secureServer(srv);
    const node = await enrollNode(s, 'edge-1');
    assert.equal((await s.request('/v1/nodes', { token: node.nodeToken, body: registration({ id: 'edge-1', services: [] }) })).status, 201);
    const r = await s.request<{ error: { code: string; message: string } }>('/v1/bootstrap/edge-1?format=grpc', { token: node.nodeToken });
    assert.equal(r.status, 409, r.text);
    assert.match(r.json.error.message, /--xds-plaintext-port/);
    assert.ok(!r.text.includes(node.nodeToken));
    const envoy = await s.request('/v1/bootstrap/edge-1', { token: node.nodeToken });
    assert.equal(envoy.status, 200, envoy.text);
    checkSecureEnvoyBootstrap(envoy.text, DEFAULT_CERT_DIR);
  } finally {
    await srv.stop();
  }
});

test('--insecure: the open-mode bootstraps, exactly', async () => {
  const srv = await startTestServer();
  try {
    assert.equal((await request(srv.baseUrl, '/v1/nodes', { body: registration({ id: 'edge-1', services: [] }) })).status, 201);
    const locality = { region: 'cn-east', zone: 'shanghai-a', subZone: 'rack-1' };
    const xdsServers = [{ host: '127.0.0.1', port: srv.xdsPort }];
    const envoy = await request(srv.baseUrl, '/v1/bootstrap/edge-1');
    assert.equal(envoy.text, renderEnvoyBootstrap({ nodeId: 'edge-1', locality, xdsServers, role: 'sidecar', mode: 'delta' }));
    assert.ok(!envoy.text.includes('transport_socket'));
    const grpc = await request(srv.baseUrl, '/v1/bootstrap/edge-1?format=grpc');
    assert.deepEqual(JSON.parse(grpc.text), renderGrpcBootstrap({ nodeId: 'edge-1', locality, xdsServers }));
    assert.equal(parse(grpc.text).node.metadata, undefined);
  } finally {
    await srv.stop();
  }
});
