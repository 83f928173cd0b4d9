import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { Ca, createCaPem, identityOf, IssueError, issueFromCsr, issueServerCert, loadCa, makeKeyAndCsr, verifyCsr } from '../../src/security';
import { x509 } from '../../src/security/x509';
import { makeCaCert } from './helpers';

const TD = 'edge.test';
const NODE = { kind: 'node', id: 'n1' } as const;

let caPromise: Promise<Ca> | undefined;
function testCa(): Promise<Ca> {
  caPromise ??= createCaPem(TD).then((p) => loadCa(p.certPem, p.keyPem, { trustDomain: TD }));
  return caPromise;
}

function pemOf(der: Uint8Array): string {
  return x509.PemConverter.encode(der, 'CERTIFICATE REQUEST') + '\n';
}

function refusedWith(reason: IssueError['reason'], message: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof IssueError, String(e));
    assert.equal(e.reason, reason);
    assert.match(e.message, message);
    return true;
  };
}

async function csrWith(params: {
  keys?: webcrypto.CryptoKeyPair;
  alg?: { name: string; namedCurve?: string; hash: string; modulusLength?: number; publicExponent?: Uint8Array };
  extensions?: x509.Extension[];
}): Promise<string> {
  const alg = params.alg ?? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = params.keys ?? ((await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=n1', keys, signingAlgorithm: alg, extensions: params.extensions ?? [] });
  return csr.toString('pem') + '\n';
}

test('a node certificate: exactly the identity URI SAN, clientAuth, 24 h, random serial, issued by the CA', async () => {
  const ca = await testCa();
  const { keyPem, csrPem } = await makeKeyAndCsr(NODE, { trustDomain: TD });
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----/);
  const before = Date.now();
  const issued = await issueFromCsr(ca, csrPem, NODE);
  const cert = new x509.X509Certificate(issued.certPem);
  assert.equal(cert.issuer, ca.cert.subject);
  assert.ok(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }), 'signed by the CA');
  const sans = cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON();
  assert.deepEqual(sans, [{ type: 'url', value: 'spiffe://edge.test/node/n1' }]);
  assert.deepEqual([...cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [x509.ExtendedKeyUsage.clientAuth]);
  assert.equal(cert.getExtension(x509.BasicConstraintsExtension)!.ca, false);
  assert.equal(cert.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature);
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  assert.ok(life >= 24 * 3600_000 && life <= 24 * 3600_000 + 62_000, `lifetime ${life}`);
  assert.ok(cert.notBefore.getTime() <= before && cert.notBefore.getTime() >= before - 62_000, 'backdated by about a minute for clock skew');
  assert.equal(issued.serial, cert.serialNumber.toLowerCase().replace(/^0+/, ''));
  assert.equal(issued.chainPem, issued.certPem, 'a root CA adds no intermediates');
  assert.equal(issued.caPem, ca.bundlePem);
  // node's own parser agrees (this is what TLS sees)
  const n = new NodeX509(issued.certPem);
  assert.equal(n.subjectAltName, 'URI:spiffe://edge.test/node/n1');
  assert.ok(n.checkIssued(new NodeX509(ca.certPem)));
  assert.ok(n.verify(new NodeX509(ca.certPem).publicKey));
  assert.ok(n.checkPrivateKey((await import('node:crypto')).createPrivateKey(keyPem)), "the certificate is for the node's key");

  const serials = new Set<string>();
  for (let i = 0; i < 10; i++) serials.add((await issueFromCsr(ca, csrPem, NODE)).serial);
  assert.equal(serials.size, 10, 'serials are random');
  for (const s of serials) assert.match(s, /^[0-9a-f]{32}$/);
});

test('a relay certificate: clientAuth + serverAuth, and DNS/IP names only from the server, only for relays', async () => {
  const ca = await testCa();
  const { csrPem } = await makeKeyAndCsr({ kind: 'relay', id: 'eu-west' });
  const relay = new x509.X509Certificate(
    (await issueFromCsr(ca, csrPem, { kind: 'relay', id: 'eu-west' }, 3600_000, { dnsNames: ['relay.eu.example'], ips: ['10.0.0.7'] })).certPem,
  );
  assert.deepEqual([...relay.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]);
  assert.deepEqual(relay.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON(), [
    { type: 'url', value: 'spiffe://edge.test/relay/eu-west' },
    { type: 'dns', value: 'relay.eu.example' },
    { type: 'ip', value: '10.0.0.7' },
  ]);
  assert.deepEqual(identityOf(relay, TD), { kind: 'relay', id: 'eu-west' });
  await assert.rejects(issueFromCsr(ca, csrPem, NODE, 3600_000, { dnsNames: ['n1.example'] }), refusedWith('bad-request', /only issued to relays/));
  await assert.rejects(issueFromCsr(ca, csrPem, { kind: 'relay', id: 'r' }, 3600_000, { dnsNames: ['bad name'] }), refusedWith('bad-request', /is not a DNS name/));
  await assert.rejects(issueFromCsr(ca, csrPem, { kind: 'node', id: 'Bad' }), refusedWith('bad-identity', /not valid/));
  await assert.rejects(issueFromCsr(ca, csrPem, NODE, 0), refusedWith('bad-request', /lifetime 0 ms is out of range/));
});

test('whatever the CSR asks for - SANs, CA:TRUE, other usages - is ignored', async () => {
  const ca = await testCa();
  const csrPem = await csrWith({
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: 'spiffe://edge.test/relay/global' },
        { type: 'url', value: 'spiffe://edge.test/node/victim' },
        { type: 'dns', value: 'control-plane.example' },
        { type: 'ip', value: '10.0.0.1' },
      ]),
      new x509.BasicConstraintsExtension(true, 5, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning, x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  assert.equal(csr.extensions.length, 4, 'sanity: the CSR does ask');
  const cert = new x509.X509Certificate((await issueFromCsr(ca, csrPem, NODE)).certPem);
  assert.deepEqual(cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON(), [{ type: 'url', value: 'spiffe://edge.test/node/n1' }]);
  assert.equal(cert.getExtension(x509.BasicConstraintsExtension)!.ca, false);
  assert.equal(cert.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature);
  assert.deepEqual([...cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [x509.ExtendedKeyUsage.clientAuth]);
  assert.equal(cert.subject, 'CN=n1, OU=node, O=edge-xds', "the subject is the CA's choice too");
  assert.deepEqual(identityOf(cert, TD), NODE);
});

test('a CSR with a forged signature is refused', async () => {
  const ca = await testCa();
  const { csrPem } = await makeKeyAndCsr(NODE);
  const der = new Uint8Array(new x509.Pkcs10CertificateRequest(csrPem).rawData);

  // 1. a flipped bit in the signature
  const badSig = der.slice();
  badSig[badSig.length - 1]! ^= 0x01;
  await assert.rejects(issueFromCsr(ca, pemOf(badSig), NODE), refusedWith('bad-signature', /does not verify: it was not signed by the key it carries/));

  // 2. the public key swapped for someone else's (the victim's key, signed by the attacker's)
  const victim = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const victimSpki = new Uint8Array(await webcrypto.subtle.exportKey('spki', victim.publicKey));
  const ownSpki = new Uint8Array(new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData);
  const at = Buffer.from(der).indexOf(Buffer.from(ownSpki));
  assert.ok(at > 0 && victimSpki.length === ownSpki.length);
  const swapped = der.slice();
  swapped.set(victimSpki, at);
  await assert.rejects(issueFromCsr(ca, pemOf(swapped), NODE), refusedWith('bad-signature', /does not verify/));

  // 3. a changed subject
  const subj = der.slice();
  const cn = Buffer.from(subj).indexOf(Buffer.from('n1'));
  subj[cn] = 'm'.charCodeAt(0);
  await assert.rejects(issueFromCsr(ca, pemOf(subj), NODE), refusedWith('bad-signature', /does not verify/));

  // sanity: the untouched CSR passes
  await verifyCsr(pemOf(der));
});

test('weak or unsupported keys, SHA-1 and garbage are refused', async () => {
  const ca = await testCa();
  const rsa = (bits: number): { name: string; hash: string; modulusLength: number; publicExponent: Uint8Array } => ({
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    modulusLength: bits,
    publicExponent: new Uint8Array([1, 0, 1]),
  });
  await assert.rejects(issueFromCsr(ca, await csrWith({ alg: rsa(1024) }), NODE), refusedWith('weak-key', /RSA key of 1024 bits is not accepted/));
  await assert.rejects(
    issueFromCsr(ca, await csrWith({ alg: { name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512' } }), NODE),
    refusedWith('weak-key', /EC curve secp521r1 is not accepted/),
  );
  await assert.rejects(issueFromCsr(ca, await csrWith({ alg: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-1' } }), NODE), refusedWith('bad-signature', /hash SHA-1/));

  const rsaCert = new x509.X509Certificate((await issueFromCsr(ca, await csrWith({ alg: rsa(2048) }), NODE)).certPem);
  assert.equal(rsaCert.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  assert.ok(
    await new x509.X509Certificate((await issueFromCsr(ca, await csrWith({ alg: { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } }), NODE)).certPem).verify({
      publicKey: ca.cert.publicKey,
      signatureOnly: true,
    }),
  );

  await assert.rejects(issueFromCsr(ca, '', NODE), refusedWith('bad-csr', /empty/));
  await assert.rejects(issueFromCsr(ca, 'hello', NODE), refusedWith('bad-csr', /not PEM/));
  await assert.rejects(issueFromCsr(ca, ca.certPem, NODE), refusedWith('bad-csr', /not PEM/));
  await assert.rejects(issueFromCsr(ca, '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', NODE), refusedWith('bad-csr', /cannot be parsed/));
  await assert.rejects(issueFromCsr(ca, '-----BEGIN CERTIFICATE REQUEST-----\n' + 'A'.repeat(20_000) + '\n', NODE), refusedWith('bad-csr', /too large/));
});

test('lifetime: chosen ttl, capped at the CA\'s expiry; notBefore after a revocation; a past "now" gives an expired certificate', async () => {
  const ca = await testCa();
  const { csrPem } = await makeKeyAndCsr(NODE);
  const oneHour = await issueFromCsr(ca, csrPem, NODE, 3600_000, { backdateMs: 0 });
  assert.ok(Math.abs(oneHour.notAfter.getTime() - oneHour.notBefore.getTime() - 3600_000) <= 1000);

  const short = await makeCaCert({ cn: 'short', notAfter: new Date(Date.now() + 2 * 3600_000) });
  const shortCa = await loadCa(short.certPem, short.keyPem, { trustDomain: TD });
  const capped = await issueFromCsr(shortCa, csrPem, NODE);
  assert.equal(capped.notAfter.getTime(), shortCa.cert.notAfter.getTime(), 'never outlives its CA');

  const revokedAt = Date.now() - 200;
  const after = await issueFromCsr(ca, csrPem, NODE, 3600_000, { revokedAt });
  assert.ok(after.notBefore.getTime() > revokedAt, 'a certificate issued after a revocation is not "issued before" it');

  const expired = await issueFromCsr(ca, csrPem, NODE, 3600_000, { now: new Date(Date.now() - 3 * 86_400_000) });
  assert.ok(expired.notAfter.getTime() < Date.now());
});

test('the server certificate: DNS and IP SANs, serverAuth, its own P-256 key', async () => {
  const ca = await testCa();
  const s = await issueServerCert(ca, { dnsNames: ['LocalHost', 'cp.example.com'], ips: ['127.0.0.1', '::1'] });
  const cert = new x509.X509Certificate(s.certPem);
  assert.deepEqual(cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON(), [
    { type: 'dns', value: 'localhost' },
    { type: 'dns', value: 'cp.example.com' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
  ]);
  assert.deepEqual([...cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [x509.ExtendedKeyUsage.serverAuth]);
  assert.equal(identityOf(cert, TD), null, 'the server certificate is no node or relay identity');
  const n = new NodeX509(s.certPem);
  assert.equal(n.checkHost('cp.example.com'), 'cp.example.com');
  assert.equal(n.checkIP('::1'), '::1');
  assert.ok(n.checkPrivateKey((await import('node:crypto')).createPrivateKey(s.keyPem)));
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  assert.ok(life >= 7 * 86_400_000 && life <= 7 * 86_400_000 + 62_000, 'default 7 days');

  await assert.rejects(issueServerCert(ca, {}), refusedWith('bad-request', /at least one DNS name or IP/));
  await assert.rejects(issueServerCert(ca, { ips: ['10.0.0.300'] }), refusedWith('bad-request', /is not an IP address/));
  await assert.rejects(issueServerCert(ca, { dnsNames: ['*.example.com'] }), refusedWith('bad-request', /is not a DNS name/));
});
