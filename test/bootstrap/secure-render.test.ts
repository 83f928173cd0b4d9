/**
 * Secure-mode bootstraps as rendered (no server): Envoy's xds_cluster with
 * mTLS through filesystem SDS, strictly decoded against Envoy's protos, with
 * one TLS context per xDS server; the SDS files; the certificate folder
 * checks; gRPC bootstraps with the node credential in metadata, accepted by
 * @grpc/grpc-js-xds. Open-mode bootstraps do not change (bootstrap.test.ts
 * compares them with the committed examples).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  certDirOfEnvoyBootstrap,
  certDirProblem,
  envoySdsFiles,
  renderEnvoyBootstrap,
  renderGrpcBootstrap,
  withNodeCredential,
  writeEnvoySdsFiles,
  DEFAULT_CERT_DIR,
  MAX_CERT_DIR_LENGTH,
  NODE_CREDENTIAL_METADATA_KEY,
  NODE_TOKEN_PLACEHOLDER,
  SDS_FILES,
  type EnvoyBootstrapParams,
} from '../../src/bootstrap';
import { NODE_CREDENTIAL_KEY } from '../../src/xds';
import { checkBootstrapYaml } from '../helpers/envoy-validate';
import { makeTempDir, removeDir } from '../helpers/tmp';
import { checkSdsFiles, checkSecureEnvoyBootstrap, loadTlsProtos } from './tls-check';

const BASE: EnvoyBootstrapParams = {
  nodeId: 'edge-lyon-2',
  locality: { region: 'eu-west', zone: 'eu-west-fr', subZone: 'edge-lyon-2' },
  xdsServers: [{ host: '10.0.0.10', port: 18000 }],
  role: 'sidecar',
};

test('one server: the xds_cluster speaks mTLS with the node files of /etc/edge-xds, pinned to the server IP (SAN, no IP SNI)', () => {
  for (const role of ['sidecar', 'gateway'] as const) {
    for (const mode of ['delta', 'sotw'] as const) {
      const yaml = renderEnvoyBootstrap({ ...BASE, role, mode, tls: {} });
      const v = checkSecureEnvoyBootstrap(yaml, DEFAULT_CERT_DIR);
      assert.deepEqual(v.socket.sans, ['IP_ADDRESS:10.0.0.10']);
      assert.equal(v.socket.sni, undefined, 'RFC 6066: no IP literal as SNI');
      assert.deepEqual(
        v.perEndpoint.map((e) => e.address),
        ['10.0.0.10:18000'],
      );
      const doc = parse(yaml);
      assert.equal(doc.dynamic_resources.ads_config.api_type, mode === 'delta' ? 'DELTA_GRPC' : 'GRPC');
      const xds = doc.static_resources.clusters.find((c: { name: string }) => c.name === 'xds_cluster');
      assert.equal(xds.transport_socket_matches, undefined, 'one server needs no per-endpoint match');
      assert.ok(xds.health_checks[0].grpc_health_check, 'the active health check stays');
      assert.equal(certDirOfEnvoyBootstrap(yaml), DEFAULT_CERT_DIR);
    }
  }
  // A DNS name: SNI and a DNS SAN.
  const named = checkSecureEnvoyBootstrap(renderEnvoyBootstrap({ ...BASE, xdsServers: [{ host: 'xds.example.com', port: 443 }], tls: {} }), DEFAULT_CERT_DIR);
  assert.equal(named.socket.sni, 'xds.example.com');
  assert.deepEqual(named.socket.sans, ['DNS:xds.example.com']);
  // IPv6: the SAN in the form Envoy prints IP SANs.
  const v6 = checkSecureEnvoyBootstrap(renderEnvoyBootstrap({ ...BASE, xdsServers: [{ host: 'FD00:0:0::0005', port: 1 }], tls: {} }), DEFAULT_CERT_DIR);
  assert.deepEqual(v6.socket.sans, ['IP_ADDRESS:fd00::5']);
});

test('several servers (relays nearest first, the global tier last): each endpoint gets a TLS context naming that server', () => {
  const servers = [
    { host: '10.1.0.2', port: 18000 },
    { host: 'relay-b.eu.lan', port: 18001 },
    { host: 'fd00::9', port: 18000 },
  ];
  const yaml = renderEnvoyBootstrap({ ...BASE, xdsServers: servers, tls: { certDir: '/var/lib/edge-xds/tls/' } });
  const v = checkSecureEnvoyBootstrap(yaml, '/var/lib/edge-xds/tls');
  assert.deepEqual(
    v.perEndpoint.map((e) => [e.address, e.socket.sni ?? null, e.socket.sans]),
    [
      ['10.1.0.2:18000', null, ['IP_ADDRESS:10.1.0.2']],
      ['relay-b.eu.lan:18001', 'relay-b.eu.lan', ['DNS:relay-b.eu.lan']],
      ['fd00::9:18000', null, ['IP_ADDRESS:fd00::9']],
    ],
  );
  // The cluster's own socket (used by no endpoint here) still only accepts one of these servers.
  assert.deepEqual(v.socket.sans, ['IP_ADDRESS:10.1.0.2', 'DNS:relay-b.eu.lan', 'IP_ADDRESS:fd00::9']);
  const eps = parse(yaml).static_resources.clusters[0].load_assignment.endpoints;
  assert.deepEqual(
    eps.map((e: { priority: number }) => e.priority),
    [0, 1, 2],
  );
  assert.equal(certDirOfEnvoyBootstrap(yaml), '/var/lib/edge-xds/tls');
});

test('without tls the bootstrap is the open-mode one, byte for byte', () => {
  const open = renderEnvoyBootstrap(BASE);
  assert.equal(renderEnvoyBootstrap({ ...BASE, tls: null }), open);
  assert.ok(!open.includes('transport_socket'));
  assert.equal(certDirOfEnvoyBootstrap(open), null);
  assert.deepEqual(checkBootstrapYaml(open), []);
});

test('the strict check catches a broken TLS context (it is really decoded)', () => {
  loadTlsProtos();
  const doc = parse(renderEnvoyBootstrap({ ...BASE, tls: {} }));
  const ctx = doc.static_resources.clusters[0].transport_socket.typed_config;
  ctx.commn_tls_context = ctx.common_tls_context;
  delete ctx.common_tls_context;
  assert.match(checkBootstrapYaml(JSON.stringify(doc)).join('\n'), /commn_tls_context: unknown field in envoy\.extensions\.transport_sockets\.tls\.v3\.UpstreamTlsContext/);
  const bad = parse(renderEnvoyBootstrap({ ...BASE, tls: {} }));
  bad.static_resources.clusters[0].transport_socket.typed_config.sni = 'x'.repeat(300);
  assert.match(checkBootstrapYaml(JSON.stringify(bad)).join('\n'), /sni/);
  const san = parse(renderEnvoyBootstrap({ ...BASE, tls: {} }));
  san.static_resources.clusters[0].transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names[0].san_type =
    'IP';
  assert.match(checkBootstrapYaml(JSON.stringify(san)).join('\n'), /unknown .*SanType value "IP"/);
});

test('the SDS files: strictly valid Secrets pointing at the folder, written once and kept', () => {
  assert.deepEqual(checkSdsFiles(envoySdsFiles(), DEFAULT_CERT_DIR), []);
  assert.deepEqual(checkSdsFiles(envoySdsFiles('/opt/edge/'), '/opt/edge'), []);
  const dir = makeTempDir('edge-xds-sds-');
  try {
    const written = writeEnvoySdsFiles(dir);
    assert.deepEqual(written.map((p) => path.basename(p)).sort(), [SDS_FILES.ca, SDS_FILES.cert].sort());
    for (const [name, text] of Object.entries(envoySdsFiles(dir))) {
      assert.equal(fs.readFileSync(path.join(dir, name), 'utf8'), text);
      assert.equal(fs.statSync(path.join(dir, name)).mode & 0o777, 0o644);
    }
    assert.deepEqual(writeEnvoySdsFiles(dir), [], 'unchanged files are not rewritten (no reload in Envoy)');
    assert.deepEqual(fs.readdirSync(dir).sort(), [SDS_FILES.ca, SDS_FILES.cert].sort(), 'no temp file left');
  } finally {
    removeDir(dir);
  }
});

test('certificate folder: absolute, no "..", bounded, plain characters', () => {
  for (const ok of ['/etc/edge-xds', '/', '/var/lib/edge-xds/tls/', '/opt/a_b.c-d+e@f=g,h~i']) assert.equal(certDirProblem(ok), null, ok);
  const bad: Array<[unknown, RegExp]> = [
    ['', /absolute path/],
    ['etc/edge-xds', /absolute path/],
    ['./x', /absolute path/],
    ['/etc/../root', /\.\./],
    ['/etc/edge-xds/..', /\.\./],
    [`/${'a'.repeat(MAX_CERT_DIR_LENGTH)}`, /at most 256/],
    ['/a b', /only letters/],
    ['/a\nb', /only letters/],
    ['/a"b', /only letters/],
    ['/{{NODE_ID}}', /only letters/],
    [42, /absolute path/],
  ];
  for (const [dir, re] of bad) assert.match(certDirProblem(dir) ?? 'accepted', re, JSON.stringify(dir));
  assert.throws(() => renderEnvoyBootstrap({ ...BASE, tls: { certDir: 'relative' } }), /tls\.certDir: must be an absolute path/);
  assert.throws(() => envoySdsFiles('/x/../y'), /certDir: must not contain/);
});

test('gRPC: the node credential goes into node.metadata under the key the xDS server reads; grpc-js-xds accepts it', () => {
  const { validateBootstrapConfig } = require('@grpc/grpc-js-xds/build/src/xds-bootstrap');
  assert.equal(NODE_CREDENTIAL_METADATA_KEY, NODE_CREDENTIAL_KEY, 'src/bootstrap and src/xds name the same metadata key');
  const b = renderGrpcBootstrap({
    nodeId: 'c1',
    locality: BASE.locality,
    xdsServers: [{ host: '127.0.0.1', port: 18001 }],
    metadata: { [NODE_CREDENTIAL_METADATA_KEY]: 'exa.0123456789abcdef.secret' },
  });
  assert.deepEqual(b.node.metadata, { 'edge-xds-credential': 'exa.0123456789abcdef.secret' });
  const info = validateBootstrapConfig(JSON.parse(JSON.stringify(b)));
  assert.equal(info.node.metadata.fields['edge-xds-credential'].stringValue, 'exa.0123456789abcdef.secret');
  // Without metadata: the open-mode shape (no metadata key at all).
  assert.equal('metadata' in renderGrpcBootstrap({ nodeId: 'c1', locality: BASE.locality, xdsServers: [{ host: '127.0.0.1', port: 1 }] }).node, false);
  assert.throws(
    () => renderGrpcBootstrap({ ...b, locality: BASE.locality, nodeId: 'c1', xdsServers: [{ host: '127.0.0.1', port: 1 }], metadata: { k: 1 as never } }),
    /metadata\.k/,
  );
  // The placeholder is replaced, other metadata kept.
  const placeholder = JSON.stringify(
    renderGrpcBootstrap({
      nodeId: 'c1',
      locality: BASE.locality,
      xdsServers: [{ host: '127.0.0.1', port: 1 }],
      metadata: { [NODE_CREDENTIAL_METADATA_KEY]: NODE_TOKEN_PLACEHOLDER, other: 'x' },
    }),
  );
  const filled = JSON.parse(withNodeCredential(placeholder, 'exa.1.2'));
  assert.deepEqual(filled.node.metadata, { 'edge-xds-credential': 'exa.1.2', other: 'x' });
  assert.equal(filled.xds_servers[0].server_uri, 'ipv4:127.0.0.1:1');
  assert.throws(() => withNodeCredential('[]', 't'), /not a gRPC bootstrap/);
});
