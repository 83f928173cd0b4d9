/**
 * Helpers of the security tests: temp folders, a real node:tls server that
 * requires client certificates, and CAs made by hand (an intermediate).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { identityOf, Identity } from '../../src/security';
import { x509 } from '../../src/security/x509';

export function tempDir(prefix = 'edge-xds-sec-'): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface HandshakeResult {
  /** What the server saw: the peer identity when the handshake was accepted, else the refusal. */
  server: { accepted: boolean; identity: Identity | null; serial?: string; validFrom?: string; refusal?: string };
  client: { secureConnect: boolean; data: string; error?: string };
}

export interface ServerTls {
  key: string;
  cert: string;
  ca: string;
  trustDomain: string;
}

/**
 * One connection to a real TLS server with `requestCert: true,
 * rejectUnauthorized: true`. The server answers an accepted peer with its
 * identity (identityOf) as JSON, then closes.
 */
export async function handshake(server: ServerTls, client: tls.ConnectionOptions): Promise<HandshakeResult> {
  const result: HandshakeResult = { server: { accepted: false, identity: null }, client: { secureConnect: false, data: '' } };
  let serverDone!: () => void;
  const serverSeen = new Promise<void>((r) => (serverDone = r));
  const srv = tls.createServer({ key: server.key, cert: server.cert, ca: server.ca, requestCert: true, rejectUnauthorized: true }, (sock) => {
    const peer = sock.getPeerCertificate();
    result.server.accepted = sock.authorized;
    result.server.identity = identityOf(peer, server.trustDomain);
    result.server.serial = peer.serialNumber;
    result.server.validFrom = peer.valid_from;
    sock.end(JSON.stringify(result.server.identity));
    serverDone();
  });
  srv.on('tlsClientError', (err: NodeJS.ErrnoException, sock: tls.TLSSocket) => {
    // With rejectUnauthorized, node destroys the socket ("socket hang up"); the reason stays on the socket.
    result.server.refusal = sock.authorizationError ? String(sock.authorizationError) : (err.code ?? err.message);
    serverDone();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  try {
    await new Promise<void>((resolve) => {
      const c = tls.connect({ host: '127.0.0.1', port, ...client }, () => (result.client.secureConnect = true));
      c.setEncoding('utf8');
      c.on('data', (d: string) => (result.client.data += d));
      c.on('error', (e: NodeJS.ErrnoException) => (result.client.error = e.code ?? e.message));
      c.on('close', () => resolve());
    });
    await Promise.race([serverSeen, new Promise((r) => setTimeout(r, 2000))]);
  } finally {
    await new Promise((r) => srv.close(r));
  }
  return result;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** PEM (PKCS#8) of a WebCrypto private key. */
export async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

/** A CA certificate made by hand: self-signed root, or signed by `issuer`; `keyUsage` lets a test drop keyCertSign. */
export async function makeCaCert(opts: {
  cn: string;
  issuer?: { cert: x509.X509Certificate; key: webcrypto.CryptoKey };
  keyUsage?: number;
  ca?: boolean;
  notBefore?: Date;
  notAfter?: Date;
}): Promise<{ cert: x509.X509Certificate; certPem: string; key: webcrypto.CryptoKey; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = opts.notBefore ?? new Date(Date.now() - 3600_000);
  const notAfter = opts.notAfter ?? new Date(Date.now() + 30 * 86_400_000);
  const extensions = [
    new x509.BasicConstraintsExtension(opts.ca ?? true, undefined, true),
    new x509.KeyUsagesExtension(opts.keyUsage ?? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const cert = opts.issuer
    ? await x509.X509CertificateGenerator.create({
        subject: `CN=${opts.cn}`,
        issuer: opts.issuer.cert.subjectName,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: opts.issuer.key,
        signingAlgorithm: EC,
        extensions,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ name: `CN=${opts.cn}`, notBefore, notAfter, keys, signingAlgorithm: EC, extensions });
  return { cert, certPem: cert.toString('pem') + '\n', key: keys.privateKey, keyPem: await keyPem(keys.privateKey) };
}
