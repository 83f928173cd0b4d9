/**
 * An experiment for docs/BENCHMARKS.md ("Secure mode (#13)"), not product
 * code: preloaded into the bench's servers with
 *
 *   npm run bench -- secure --node-flags "--require ./dist/test/bench/secure-what-if.js"
 *
 * it replaces two functions of the built server (module exports, so every
 * caller that goes through the module sees the replacement) to measure what
 * two proposed changes to src/ would save:
 *
 * 1. identityOf (src/security/identity.ts) reads the URI SAN and the CA flag
 *    with node:crypto's native X509Certificate instead of @peculiar/x509's
 *    ASN.1 parser in JS (same rule: exactly one URI SAN, not a CA).
 * 2. authenticateRequest (src/api/auth.ts) reads a TLS socket's peer
 *    certificate once per connection (a WeakMap by socket) instead of calling
 *    TLSSocket.getPeerCertificate() on every request; the identity cache and
 *    the revocation check still run on every request. Only the heartbeat fast
 *    path calls it through the module (authGate calls it directly).
 */
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import * as identity from '../../src/security/identity';
import * as auth from '../../src/api/auth';
import type { Authenticator, AuthOutcome, PeerCertificateInput } from '../../src/security';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const id = identity as Mutable<typeof identity>;
const slowIdentityOf = identity.identityOf;
id.identityOf = (cert, trustDomain) => {
  if (cert && typeof cert === 'object' && !(cert instanceof Uint8Array) && 'raw' in cert && cert.raw) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(cert.raw);
    } catch {
      return null;
    }
    if (x.ca) return null;
    const uris = (x.subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('URI:'))
      .map((s) => s.slice(4));
    return uris.length === 1 ? identity.parseIdentity(uris[0]!, trustDomain) : null;
  }
  return slowIdentityOf(cert, trustDomain);
};

const a = auth as Mutable<typeof auth>;
const slowAuthenticateRequest = auth.authenticateRequest;
const peers = new WeakMap<object, PeerCertificateInput | null>();
a.authenticateRequest = (guard: Authenticator, req: IncomingMessage): AuthOutcome | null => {
  const socket = req.socket as Partial<TLSSocket>;
  if (req.headers.authorization !== undefined || typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return slowAuthenticateRequest(guard, req);
  let cert = peers.get(socket);
  if (cert === undefined) {
    const c = socket.getPeerCertificate();
    cert = c && c.raw ? { raw: c.raw, serialNumber: c.serialNumber, valid_from: c.valid_from } : null;
    peers.set(socket, cert);
  }
  return cert === null ? null : guard.authenticateCertificate(cert);
};

process.stderr.write('secure-what-if: identityOf (node:crypto X509Certificate) and per-socket peer certificates are patched in\n');
