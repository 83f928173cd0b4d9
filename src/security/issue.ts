/**
 * Certificate issuance by the deployment CA.
 *
 * - issueFromCsr: a node's or relay's certificate from its CSR. The CSR only
 *   brings the public key (proved by its signature); everything else - the
 *   identity URI SAN, the usages, the lifetime - is decided here. Whatever
 *   names or extensions the CSR asks for are ignored.
 * - issueServerCert: the server's own TLS certificate (DNS and IP SANs).
 * - makeKeyAndCsr: the node side: a P-256 key that never leaves the node,
 *   and the CSR to send.
 */
import { isIP } from 'node:net';
import { createPublicKey, KeyObject, webcrypto } from 'node:crypto';
import { Ca, normalizeSerial, privateKeyPem, randomSerial } from './ca';
import { checkIdentity, Identity, identityUri } from './identity';
import { subtle, x509 } from './x509';

/** Default lifetime of a node or relay certificate. */
export const DEFAULT_CERT_TTL_MS = 24 * 3600_000;
/** Default lifetime of the server's own certificate (re-issued at start and renewed at 2/3 by the server). */
export const DEFAULT_SERVER_CERT_TTL_MS = 7 * 24 * 3600_000;
/** Longest lifetime issueFromCsr accepts. */
export const MAX_CERT_TTL_MS = 366 * 24 * 3600_000;
/** notBefore is set this much in the past, for peers whose clock is a little behind. */
export const DEFAULT_BACKDATE_MS = 60_000;
/** Largest CSR accepted (PEM or DER), before any parsing. */
export const MAX_CSR_BYTES = 16 * 1024;

/** Why a CSR or a request for a certificate was refused (the enrollment endpoint answers 400 with it). */
export class IssueError extends Error {
  constructor(
    message: string,
    readonly reason: 'bad-csr' | 'bad-signature' | 'weak-key' | 'bad-identity' | 'bad-request',
  ) {
    super(message);
    this.name = 'IssueError';
  }
}

export interface IssuedCertificate {
  /** PEM of the leaf certificate alone. */
  certPem: string;
  /** The leaf followed by the CA's intermediates (what a TLS peer presents). */
  chainPem: string;
  /** The trust bundle (`ca.pem`). */
  caPem: string;
  /** Normalized hex serial (see normalizeSerial). */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface IssueOptions {
  /** Issue as of this time (tests: a past `now` gives an expired certificate). Default: now. */
  now?: Date;
  /** How far notBefore is set back for clock skew. Default 60 s. */
  backdateMs?: number;
  /**
   * The identity's revocation time (ms), if any: notBefore is then set after
   * it, so the new certificate is not refused as "issued before revocation".
   */
  revokedAt?: number | null;
  /** Relays only: DNS names and IPs of the relay's own listener, decided by the server (never taken from the CSR). */
  dnsNames?: string[];
  ips?: string[];
}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function checkTtl(ttlMs: number, max: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 1000 || ttlMs > max) {
    throw new IssueError(`certificate lifetime ${ttlMs} ms is out of range (1 s to ${Math.round(max / 86_400_000)} days)`, 'bad-request');
  }
  return ttlMs;
}

function checkNames(dnsNames: readonly string[], ips: readonly string[]): { dns: string[]; ips: string[] } {
  const dns = dnsNames.map((d) => d.toLowerCase());
  for (const d of dns) if (!DNS_NAME.test(d)) throw new IssueError(`${JSON.stringify(d)} is not a DNS name`, 'bad-request');
  for (const ip of ips) if (isIP(ip) === 0 || ip.includes('%')) throw new IssueError(`${JSON.stringify(ip)} is not an IP address`, 'bad-request');
  return { dns: [...new Set(dns)], ips: [...new Set(ips)] };
}

/** notBefore/notAfter in whole seconds (what X.509 encodes), never after the CA's own notAfter. */
function validity(ca: Ca, ttlMs: number, opts: IssueOptions): { notBefore: Date; notAfter: Date } {
  const now = (opts.now ?? new Date()).getTime();
  const backdate = opts.backdateMs ?? DEFAULT_BACKDATE_MS;
  if (!Number.isFinite(backdate) || backdate < 0 || backdate > 3600_000) throw new IssueError(`backdate ${backdate} ms is out of range (0 to 1 h)`, 'bad-request');
  let nb = Math.floor((now - backdate) / 1000) * 1000;
  if (opts.revokedAt !== undefined && opts.revokedAt !== null) nb = Math.max(nb, Math.floor(opts.revokedAt / 1000) * 1000 + 1000);
  const na = Math.min(Math.floor((now + ttlMs) / 1000) * 1000, ca.cert.notAfter.getTime());
  if (na <= nb) throw new IssueError(`the CA ${ca.cert.subject} expires at ${ca.cert.notAfter.toISOString()}: no certificate can be issued`, 'bad-request');
  return { notBefore: new Date(nb), notAfter: new Date(na) };
}

/** Accepts ECDSA P-256/P-384 and RSA 2048-8192 public keys; throws IssueError('weak-key') otherwise. */
export function checkPublicKey(spki: ArrayBuffer | Uint8Array): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki instanceof Uint8Array ? spki : new Uint8Array(spki)), format: 'der', type: 'spki' });
  } catch (err) {
    throw new IssueError(`the public key cannot be read (${(err as Error).message})`, 'bad-csr');
  }
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1' && curve !== 'secp384r1') throw new IssueError(`EC curve ${curve ?? '?'} is not accepted (use P-256)`, 'weak-key');
    return key;
  }
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048 || bits > 8192) throw new IssueError(`an RSA key of ${bits} bits is not accepted (2048 to 8192; P-256 preferred)`, 'weak-key');
    return key;
  }
  throw new IssueError(`key type ${type ?? '?'} is not accepted (use ECDSA P-256)`, 'weak-key');
}

/** Parses and checks a PKCS#10 CSR: size, syntax, signature, hash and key. */
export async function verifyCsr(csrPem: string | Uint8Array): Promise<x509.Pkcs10CertificateRequest> {
  const size = typeof csrPem === 'string' ? Buffer.byteLength(csrPem) : csrPem.byteLength;
  if (size === 0) throw new IssueError('the CSR is empty', 'bad-csr');
  if (size > MAX_CSR_BYTES) throw new IssueError(`the CSR is too large (${size} bytes, at most ${MAX_CSR_BYTES})`, 'bad-csr');
  if (typeof csrPem === 'string' && !csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    throw new IssueError('the CSR is not PEM (expected "-----BEGIN CERTIFICATE REQUEST-----")', 'bad-csr');
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(typeof csrPem === 'string' ? csrPem : new Uint8Array(csrPem));
  } catch (err) {
    throw new IssueError(`the CSR cannot be parsed (${(err as Error).message})`, 'bad-csr');
  }
  checkPublicKey(csr.publicKey.rawData);
  let hash: string | undefined;
  try {
    hash = csr.signatureAlgorithm.hash?.name;
  } catch {
    hash = undefined;
  }
  if (hash !== 'SHA-256' && hash !== 'SHA-384' && hash !== 'SHA-512') {
    throw new IssueError(`the CSR signature algorithm is not accepted (hash ${hash ?? 'unknown'}; use SHA-256)`, 'bad-signature');
  }
  const ok = await csr.verify().catch(() => false);
  if (!ok) throw new IssueError('the CSR signature does not verify: it was not signed by the key it carries', 'bad-signature');
  return csr;
}

async function sign(
  ca: Ca,
  publicKey: x509.PublicKey,
  subject: x509.JsonName,
  sans: x509.JsonGeneralNames,
  usages: string[],
  keyUsage: number,
  v: { notBefore: Date; notAfter: Date },
): Promise<x509.X509Certificate> {
  const ski = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki = ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey);
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: ca.cert.subjectName,
    notBefore: v.notBefore,
    notAfter: v.notAfter,
    publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ca.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(keyUsage, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      aki,
      new x509.SubjectAlternativeNameExtension(sans, false),
    ],
  });
}

function result(ca: Ca, cert: x509.X509Certificate): IssuedCertificate {
  const certPem = cert.toString('pem') + '\n';
  return {
    certPem,
    chainPem: certPem + ca.intermediatesPem,
    caPem: ca.bundlePem,
    serial: normalizeSerial(cert.serialNumber),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

function keyUsageFor(key: KeyObject): number {
  // RSA key exchange (TLS 1.2 RSA kx) needs keyEncipherment; ECDHE with ECDSA only digitalSignature.
  return x509.KeyUsageFlags.digitalSignature | (key.asymmetricKeyType === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : 0);
}

/**
 * A certificate for `identity` from a CSR: the CSR's signature must verify
 * and its key be P-256 (or P-384, or RSA >= 2048). The certificate carries
 * exactly one SAN, the identity URI; node certificates are for clientAuth,
 * relay certificates for clientAuth and serverAuth (they also serve nodes).
 * Lifetime `ttlMs` (default 24 h), capped at the CA's own expiry.
 */
export async function issueFromCsr(ca: Ca, csrPem: string | Uint8Array, identity: Identity, ttlMs = DEFAULT_CERT_TTL_MS, opts: IssueOptions = {}): Promise<IssuedCertificate> {
  try {
    checkIdentity(identity);
  } catch (err) {
    throw new IssueError((err as Error).message, 'bad-identity');
  }
  checkTtl(ttlMs, MAX_CERT_TTL_MS);
  if ((opts.dnsNames?.length || opts.ips?.length) && identity.kind !== 'relay') {
    throw new IssueError('DNS and IP names are only issued to relays', 'bad-request');
  }
  const names = checkNames(opts.dnsNames ?? [], opts.ips ?? []);
  const v = validity(ca, ttlMs, opts);
  const csr = await verifyCsr(csrPem);
  const key = checkPublicKey(csr.publicKey.rawData);
  const sans: x509.JsonGeneralNames = [
    { type: 'url', value: identityUri(ca.trustDomain, identity) },
    ...names.dns.map((value) => ({ type: 'dns' as const, value })),
    ...names.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  const usages = identity.kind === 'relay' ? [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth] : [x509.ExtendedKeyUsage.clientAuth];
  const subject: x509.JsonName = [{ CN: [identity.id] }, { OU: [identity.kind] }, { O: ['edge-xds'] }];
  const cert = await sign(ca, csr.publicKey, subject, sans, usages, keyUsageFor(key), v);
  return result(ca, cert);
}

export interface ServerCertOptions {
  dnsNames?: string[];
  ips?: string[];
  /** Default 7 days. */
  ttlMs?: number;
  now?: Date;
  backdateMs?: number;
}

/**
 * The server's own TLS certificate (key made here, in the server process):
 * SANs DNS + IP, serverAuth. At least one name is required.
 */
export async function issueServerCert(ca: Ca, opts: ServerCertOptions): Promise<IssuedCertificate & { keyPem: string }> {
  const names = checkNames(opts.dnsNames ?? [], opts.ips ?? []);
  if (names.dns.length + names.ips.length === 0) throw new IssueError('a server certificate needs at least one DNS name or IP', 'bad-request');
  const ttlMs = checkTtl(opts.ttlMs ?? DEFAULT_SERVER_CERT_TTL_MS, MAX_CERT_TTL_MS);
  const v = validity(ca, ttlMs, opts);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const publicKey = await x509.PublicKey.create(keys.publicKey);
  const sans: x509.JsonGeneralNames = [...names.dns.map((value) => ({ type: 'dns' as const, value })), ...names.ips.map((value) => ({ type: 'ip' as const, value }))];
  const cn = names.dns[0] ?? names.ips[0]!;
  const cert = await sign(ca, publicKey, [{ CN: [cn] }, { O: ['edge-xds'] }], sans, [x509.ExtendedKeyUsage.serverAuth], x509.KeyUsageFlags.digitalSignature, v);
  return { ...result(ca, cert), keyPem: await privateKeyPem(keys.privateKey) };
}

/**
 * The node side of enrollment: a new P-256 key (PKCS#8 PEM, to be written
 * with mode 0600 and never sent) and a CSR for `identity`. With
 * `trustDomain`, the CSR asks for the identity URI (informative only: the
 * CA sets the SAN itself).
 */
export async function makeKeyAndCsr(identity: Identity, opts: { trustDomain?: string } = {}): Promise<{ keyPem: string; csrPem: string }> {
  checkIdentity(identity);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions = opts.trustDomain ? [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identityUri(opts.trustDomain, identity) }])] : [];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [identity.id] }, { OU: [identity.kind] }],
    keys,
    signingAlgorithm: alg,
    extensions,
  });
  return { keyPem: await privateKeyPem(keys.privateKey), csrPem: csr.toString('pem') + '\n' };
}
