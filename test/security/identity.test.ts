import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, webcrypto } from 'node:crypto';
import { createCaPem, identityOf, identityUri, issueFromCsr, loadCa, makeKeyAndCsr, parseIdentity } from '../../src/security';
import { identityOfDer } from '../../src/security/identity';
import { x509 } from '../../src/security/x509';
import { makeCaCert } from './helpers';

const TD = 'edge.test';

test('identityUri and parseIdentity round-trip node and relay identities', () => {
  assert.equal(identityUri(TD, { kind: 'node', id: 'shop-17' }), 'spiffe://edge.test/node/shop-17');
  assert.equal(identityUri(TD, { kind: 'relay', id: 'eu-west' }), 'spiffe://edge.test/relay/eu-west');
  assert.deepEqual(parseIdentity('spiffe://edge.test/node/shop-17', TD), { kind: 'node', id: 'shop-17' });
  assert.deepEqual(parseIdentity('spiffe://edge.test/relay/eu-west', TD), { kind: 'relay', id: 'eu-west' });
  assert.throws(() => identityUri(TD, { kind: 'node', id: 'Bad_Id' }), /not valid/);
  assert.throws(() => identityUri('EDGE', { kind: 'node', id: 'a' }), /trust domain "EDGE" is not valid/);
  assert.throws(() => identityUri(TD, { kind: 'admin' as 'node', id: 'a' }), /kind must be "node" or "relay"/);
});

test('parseIdentity is strict', () => {
  const refused = [
    'spiffe://other.test/node/a', // another trust domain
    'spiffe://edge.test.evil/node/a',
    'spiffe://edge.tes/node/a',
    'spiffe://EDGE.TEST/node/a',
    'SPIFFE://edge.test/node/a',
    'https://edge.test/node/a',
    'spiffe://edge.test/node/',
    'spiffe://edge.test/node',
    'spiffe://edge.test/node/a/',
    'spiffe://edge.test/node/a/b',
    'spiffe://edge.test//node/a',
    'spiffe://edge.test/node/a?x=1',
    'spiffe://edge.test/node/a#f',
    'spiffe://edge.test/node/%61',
    'spiffe://edge.test/node/A',
    'spiffe://edge.test/node/-a',
    'spiffe://edge.test/node/a-',
    'spiffe://edge.test/node/a_b',
    `spiffe://edge.test/node/${'a'.repeat(64)}`,
    'spiffe://edge.test/admin/a',
    'spiffe://edge.test/Node/a',
    'spiffe://user@edge.test/node/a',
    'spiffe://edge.test:443/node/a',
    ' spiffe://edge.test/node/a',
    '',
  ];
  for (const uri of refused) assert.equal(parseIdentity(uri, TD), null, uri);
  assert.deepEqual(parseIdentity(`spiffe://edge.test/node/${'a'.repeat(63)}`, TD), { kind: 'node', id: 'a'.repeat(63) });
  assert.equal(parseIdentity('spiffe://edge.test/node/a', 'bad domain'), null);
});

test('identityOf reads the one URI SAN of a certificate in any form, and refuses another trust domain', async () => {
  const pem = await createCaPem(TD);
  const ca = await loadCa(pem.certPem, pem.keyPem, { trustDomain: TD });
  const { csrPem } = await makeKeyAndCsr({ kind: 'node', id: 'n1' });
  const issued = await issueFromCsr(ca, csrPem, { kind: 'node', id: 'n1' });
  const want = { kind: 'node', id: 'n1' };
  assert.deepEqual(identityOf(issued.certPem, TD), want);
  const nodeCert = new X509Certificate(issued.certPem);
  assert.deepEqual(identityOf(nodeCert, TD), want);
  assert.deepEqual(identityOf(nodeCert.raw, TD), want);
  assert.deepEqual(identityOf({ raw: nodeCert.raw }, TD), want, 'a TLS PeerCertificate');
  assert.deepEqual(identityOf(new x509.X509Certificate(issued.certPem), TD), want);

  assert.equal(identityOf(issued.certPem, 'other.test'), null, 'another trust domain');
  const otherPem = await createCaPem('other.test');
  const other = await loadCa(otherPem.certPem, otherPem.keyPem, { trustDomain: 'other.test' });
  const foreign = await issueFromCsr(other, csrPem, { kind: 'node', id: 'n1' });
  assert.equal(identityOf(foreign.certPem, TD), null, 'a certificate of another trust domain');

  assert.equal(identityOf(ca.certPem, TD), null, 'a CA certificate is no identity (it carries spiffe://edge.test)');
  assert.equal(identityOf({} as { raw: Buffer }, TD), null, 'no peer certificate');
  assert.equal(identityOf(null, TD), null);
  assert.equal(identityOf('garbage', TD), null);
});

test('identityOf refuses a certificate with two URI SANs or none', async () => {
  const root = await makeCaCert({ cn: 'root' });
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const make = async (sans: x509.JsonGeneralNames): Promise<x509.X509Certificate> =>
    x509.X509CertificateGenerator.create({
      subject: 'CN=x',
      issuer: root.cert.subjectName,
      publicKey: keys.publicKey,
      signingKey: root.key,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(false), new x509.SubjectAlternativeNameExtension(sans)],
    });
  const two = await make([
    { type: 'url', value: 'spiffe://edge.test/node/a' },
    { type: 'url', value: 'spiffe://edge.test/node/b' },
  ]);
  assert.equal(identityOf(two, TD), null);
  const none = await make([{ type: 'dns', value: 'a.edge.test' }]);
  assert.equal(identityOf(none, TD), null);
  const one = await make([
    { type: 'dns', value: 'a.edge.test' },
    { type: 'url', value: 'spiffe://edge.test/relay/r1' },
  ]);
  assert.deepEqual(identityOf(one, TD), { kind: 'relay', id: 'r1' });
});

test('identityOfDer (node:crypto, the request path) answers exactly as identityOf (the X.509 library) on every kind of certificate', async () => {
  const root = await makeCaCert({ cn: 'root' });
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const make = async (sans: x509.JsonGeneralNames, ca = false): Promise<x509.X509Certificate> =>
    x509.X509CertificateGenerator.create({
      subject: 'CN=x',
      issuer: root.cert.subjectName,
      publicKey: keys.publicKey,
      signingKey: root.key,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(ca), ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : [])],
    });
  const url = (value: string) => ({ type: 'url' as const, value });
  const cases: x509.JsonGeneralNames[] = [
    [url('spiffe://edge.test/node/a')],
    [url('spiffe://edge.test/relay/r-1')],
    [{ type: 'dns', value: 'a.edge.test' }, url('spiffe://edge.test/node/n1'), { type: 'ip', value: '10.0.0.1' }],
    [url('spiffe://edge.test/node/a'), url('spiffe://edge.test/node/b')],
    [url('spiffe://other.test/node/a')],
    [url('spiffe://edge.test/node/a,b')],
    [url('spiffe://edge.test/node/"a"')],
    [url('spiffe://edge.test/node/a, URI:spiffe://edge.test/node/b')],
    [url('spiffe://edge.test/node/a/extra')],
    [url('spiffe://edge.test/admin/a')],
    [url('spiffe://edge.test/node/A')],
    [url('spiffe://edge.test/node/a?x=1')],
    [url('https://edge.test/node/a')],
    [{ type: 'dns', value: 'spiffe.edge.test' }],
    [{ type: 'email', value: 'URI:spiffe://edge.test/node/a' }],
    [],
  ];
  for (const sans of cases) {
    for (const ca of [false, true]) {
      const cert = await make(sans, ca);
      const der = Buffer.from(cert.rawData);
      assert.deepEqual(identityOfDer(der, TD), identityOf(der, TD), `${JSON.stringify(sans)} ca=${ca}`);
    }
  }
  // Issued by the CA the way enrollment does.
  const pem = await createCaPem(TD);
  const ca = await loadCa(pem.certPem, pem.keyPem, { trustDomain: TD });
  const { csrPem } = await makeKeyAndCsr({ kind: 'node', id: 'n1' });
  const issued = new X509Certificate((await issueFromCsr(ca, csrPem, { kind: 'node', id: 'n1' })).certPem);
  assert.deepEqual(identityOfDer(issued.raw, TD), { kind: 'node', id: 'n1' });
  assert.equal(identityOfDer(new X509Certificate(ca.certPem).raw, TD), null);
  assert.equal(identityOfDer(Buffer.from('garbage'), TD), null);
});
