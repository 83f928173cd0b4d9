/**
 * Real TLS handshakes (node:tls, OpenSSL) with certificates of the security
 * library: a server that requires client certificates from the CA reads the
 * peer's identity; other CAs, expired certificates and no certificate are
 * refused by the handshake itself.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { Ca, IssuedCertificate, issueFromCsr, issueServerCert, loadCa, loadOrCreateCa, makeKeyAndCsr, TokenStore } from '../../src/security';
import { migrateLatest, openDatabase } from '../../src/store';
import { handshake, makeCaCert, ServerTls, tempDir } from './helpers';

const TD = 'edge.test';
const tmp = tempDir();
let ca: Ca;
let server: ServerTls;
let node: { keyPem: string; issued: IssuedCertificate };

before(async () => {
  ca = (await loadOrCreateCa({ dir: path.join(tmp.dir, 'pki'), trustDomain: TD })).ca;
  const s = await issueServerCert(ca, { dnsNames: ['localhost', 'cp.edge.test'], ips: ['127.0.0.1'] });
  server = { key: s.keyPem, cert: s.chainPem, ca: ca.bundlePem, trustDomain: TD };
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind: 'node', id: 'shop-1' });
  node = { keyPem, issued: await issueFromCsr(ca, csrPem, { kind: 'node', id: 'shop-1' }) };
});
after(() => tmp.cleanup());

test('a node certificate from the CA is accepted and the server reads the peer identity', async () => {
  const r = await handshake(server, { ca: ca.bundlePem, key: node.keyPem, cert: node.issued.chainPem });
  assert.equal(r.server.accepted, true);
  assert.deepEqual(r.server.identity, { kind: 'node', id: 'shop-1' });
  assert.equal(r.server.serial?.toLowerCase(), node.issued.serial);
  assert.equal(r.client.secureConnect, true);
  assert.deepEqual(JSON.parse(r.client.data), { kind: 'node', id: 'shop-1' });
});

test('a relay certificate is accepted as a relay identity (and verifies the server by name)', async () => {
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind: 'relay', id: 'eu-1' });
  const relay = await issueFromCsr(ca, csrPem, { kind: 'relay', id: 'eu-1' });
  const r = await handshake(server, { ca: ca.bundlePem, key: keyPem, cert: relay.chainPem, servername: 'cp.edge.test' });
  assert.deepEqual(r.server.identity, { kind: 'relay', id: 'eu-1' });
});

test('a certificate from another CA is refused by the handshake', async () => {
  const other = (await loadOrCreateCa({ dir: path.join(tmp.dir, 'other-pki'), trustDomain: TD })).ca;
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind: 'node', id: 'shop-1' });
  const forged = await issueFromCsr(other, csrPem, { kind: 'node', id: 'shop-1' });
  const r = await handshake(server, { ca: ca.bundlePem, key: keyPem, cert: forged.chainPem });
  assert.equal(r.server.accepted, false);
  assert.equal(r.server.identity, null);
  assert.equal(r.server.refusal, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.equal(r.client.data, '', 'nothing was served');
});

test('an expired certificate is refused by the handshake', async () => {
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind: 'node', id: 'shop-1' });
  const expired = await issueFromCsr(ca, csrPem, { kind: 'node', id: 'shop-1' }, 3600_000, { now: new Date(Date.now() - 3 * 86_400_000) });
  const r = await handshake(server, { ca: ca.bundlePem, key: keyPem, cert: expired.chainPem });
  assert.equal(r.server.accepted, false);
  assert.equal(r.server.refusal, 'CERT_HAS_EXPIRED');
  assert.equal(r.client.data, '');
});

test('a connection without a client certificate is refused', async () => {
  const r = await handshake(server, { ca: ca.bundlePem });
  assert.equal(r.server.accepted, false);
  assert.equal(r.server.refusal, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
  assert.equal(r.client.data, '');
});

test('a certificate whose key the client does not hold cannot be presented', async () => {
  const { keyPem } = await makeKeyAndCsr({ kind: 'node', id: 'thief' });
  // the victim's certificate with the thief's key: OpenSSL refuses to use the pair at all
  await assert.rejects(handshake(server, { ca: ca.bundlePem, key: keyPem, cert: node.issued.chainPem }), /key values mismatch/);
});

test('the client refuses a server whose certificate does not name the host, or comes from another CA', async () => {
  const wrongName = await handshake(server, { ca: ca.bundlePem, key: node.keyPem, cert: node.issued.chainPem, servername: 'evil.example' });
  assert.equal(wrongName.client.error, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.equal(wrongName.client.secureConnect, false);

  const other = (await loadOrCreateCa({ dir: path.join(tmp.dir, 'other-pki-2'), trustDomain: TD })).ca;
  const impostor = await issueServerCert(other, { ips: ['127.0.0.1'] });
  const r = await handshake({ ...server, key: impostor.keyPem, cert: impostor.chainPem }, { ca: ca.bundlePem, key: node.keyPem, cert: node.issued.chainPem });
  assert.equal(r.client.error, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.equal(r.client.secureConnect, false);
});

test('a server of another trust domain sharing the CA bundle accepts the handshake but finds no identity', async () => {
  const r = await handshake({ ...server, trustDomain: 'other.test' }, { ca: ca.bundlePem, key: node.keyPem, cert: node.issued.chainPem });
  assert.equal(r.server.accepted, true);
  assert.equal(r.server.identity, null, 'identityOf is strict about the trust domain');
});

test('an operator intermediate CA: leaves chain through it to the root in the trust bundle', async () => {
  const root = await makeCaCert({ cn: 'Company Root' });
  const inter = await makeCaCert({ cn: 'edge-xds intermediate', issuer: { cert: root.cert, key: root.key } });
  const ica = await loadCa(inter.certPem + root.certPem, inter.keyPem, { trustDomain: TD });
  const s = await issueServerCert(ica, { ips: ['127.0.0.1'] });
  const { keyPem, csrPem } = await makeKeyAndCsr({ kind: 'node', id: 'shop-2' });
  const leaf = await issueFromCsr(ica, csrPem, { kind: 'node', id: 'shop-2' });
  assert.equal(leaf.chainPem, leaf.certPem + inter.certPem, 'the leaf is sent with the intermediate');
  const r = await handshake({ key: s.keyPem, cert: s.chainPem, ca: ica.bundlePem, trustDomain: TD }, { ca: ica.bundlePem, key: keyPem, cert: leaf.chainPem });
  assert.equal(r.server.accepted, true);
  assert.deepEqual(r.server.identity, { kind: 'node', id: 'shop-2' });

  // only the root as trust anchor works too, since both sides send the intermediate
  const rootOnly = await handshake({ key: s.keyPem, cert: s.chainPem, ca: root.certPem, trustDomain: TD }, { ca: root.certPem, key: keyPem, cert: leaf.chainPem });
  assert.deepEqual(rootOnly.server.identity, { kind: 'node', id: 'shop-2' });
});

test('revocation: a certificate issued before its node was revoked is refused, one issued after is not', async () => {
  const db = openDatabase({ file: path.join(tmp.dir, 'revoke.db') });
  try {
    await migrateLatest(db);
    const tokens = new TokenStore(db);
    const r = await handshake(server, { ca: ca.bundlePem, key: node.keyPem, cert: node.issued.chainPem });
    const peer = { notBefore: new Date(r.server.validFrom!), serial: r.server.serial! };
    assert.equal(await tokens.isRevoked(r.server.identity!, peer), false);

    const { revokedAt } = await tokens.revokeNode('shop-1');
    assert.equal(await tokens.isRevoked(r.server.identity!, peer), true, 'issued before the revocation');

    const { keyPem, csrPem } = await makeKeyAndCsr({ kind: 'node', id: 'shop-1' });
    const fresh = await issueFromCsr(ca, csrPem, { kind: 'node', id: 'shop-1' }, undefined, { revokedAt });
    // its notBefore may be up to a second ahead (X.509 time is in whole seconds)
    const wait = fresh.notBefore.getTime() - Date.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait + 50));
    const r2 = await handshake(server, { ca: ca.bundlePem, key: keyPem, cert: fresh.chainPem });
    assert.equal(r2.server.accepted, true);
    assert.equal(await tokens.isRevoked(r2.server.identity!, { notBefore: new Date(r2.server.validFrom!), serial: r2.server.serial! }), false);

    await tokens.revokeCertificate(r2.server.serial!, fresh.notAfter);
    assert.equal(
      await tokens.isRevoked(r2.server.identity!, { notBefore: new Date(r2.server.validFrom!), serial: r2.server.serial! }),
      true,
      'revoked by serial (node:tls prints it uppercase)',
    );
    const list = await tokens.revocations();
    assert.equal(list.isRevoked(r2.server.identity!, { notBefore: fresh.notBefore, serial: fresh.serial }), true);
    assert.equal(list.isRevoked({ kind: 'node', id: 'other' }, { notBefore: 0 }), false);
  } finally {
    await db.destroy();
  }
  assert.ok(fs.existsSync(path.join(tmp.dir, 'revoke.db')));
});
