/**
 * Workload identities: SPIFFE-style URI SANs.
 *
 *   spiffe://<trust-domain>/node/<id>    edge nodes, gateways, proxies
 *   spiffe://<trust-domain>/relay/<id>   regional relays
 *
 * Parsing is strict: the trust domain must be the deployment's, the kind one
 * of the two above, the id a DNS label (the node id rule of src/domain), and
 * nothing else may follow (no query, fragment, percent-encoding, extra path
 * segment or trailing slash). A certificate names one identity only if it
 * carries exactly one URI SAN and is not a CA.
 */
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { DNS_LABEL } from '../domain';
import { x509 } from './x509';

export type IdentityKind = 'node' | 'relay';

export interface Identity {
  kind: IdentityKind;
  id: string;
}

/** A trust domain: lowercase DNS name (labels of letters, digits and '-', dot-separated), at most 253 characters. */
export const TRUST_DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function isTrustDomain(td: string): boolean {
  return TRUST_DOMAIN.test(td);
}

/** Throws a clear error unless `td` is a valid trust domain. */
export function checkTrustDomain(td: string): string {
  if (typeof td !== 'string' || !TRUST_DOMAIN.test(td)) {
    throw new Error(`trust domain ${JSON.stringify(td)} is not valid: a lowercase DNS name such as "edge.example.com"`);
  }
  return td;
}

export function isIdentity(v: unknown): v is Identity {
  if (typeof v !== 'object' || v === null) return false;
  const { kind, id } = v as Record<string, unknown>;
  return (kind === 'node' || kind === 'relay') && typeof id === 'string' && DNS_LABEL.test(id);
}

/** Throws a clear error unless `identity` is a node or relay identity with a DNS-label id. */
export function checkIdentity(identity: Identity): Identity {
  if (!isIdentity(identity)) {
    throw new Error(`identity ${JSON.stringify(identity)} is not valid: kind must be "node" or "relay" and id a DNS label (1-63 lowercase letters, digits or "-")`);
  }
  return identity;
}

/** `spiffe://<trust-domain>/<kind>/<id>` */
export function identityUri(trustDomain: string, identity: Identity): string {
  checkTrustDomain(trustDomain);
  checkIdentity(identity);
  return `spiffe://${trustDomain}/${identity.kind}/${identity.id}`;
}

/** The SPIFFE id of the trust domain itself (carried by the deployment CA). */
export function trustDomainUri(trustDomain: string): string {
  return `spiffe://${checkTrustDomain(trustDomain)}`;
}

/** `{ kind, id }` of a SPIFFE URI in `trustDomain`, or null for anything else. */
export function parseIdentity(uri: string, trustDomain: string): Identity | null {
  if (typeof uri !== 'string' || uri.length > 400) return null;
  const prefix = `spiffe://${trustDomain}/`;
  if (!uri.startsWith(prefix) || !TRUST_DOMAIN.test(trustDomain)) return null;
  const rest = uri.slice(prefix.length).split('/');
  if (rest.length !== 2) return null;
  const [kind, id] = rest as [string, string];
  if (kind !== 'node' && kind !== 'relay') return null;
  if (!DNS_LABEL.test(id)) return null;
  return { kind, id };
}

/** What identityOf accepts: a TLS peer certificate (`raw` DER), a node:crypto or @peculiar/x509 certificate, DER bytes or PEM. */
export type CertificateInput = { raw: Buffer | Uint8Array } | NodeX509Certificate | x509.X509Certificate | Buffer | Uint8Array | string;

/** Parses any CertificateInput into a @peculiar/x509 certificate (throws on garbage). */
export function toX509(cert: CertificateInput): x509.X509Certificate {
  if (cert instanceof x509.X509Certificate) return cert;
  if (typeof cert === 'string') return new x509.X509Certificate(cert);
  if (cert instanceof NodeX509Certificate) return new x509.X509Certificate(new Uint8Array(cert.raw));
  if (cert instanceof Uint8Array) return new x509.X509Certificate(new Uint8Array(cert));
  return new x509.X509Certificate(new Uint8Array(cert.raw));
}

/** The URI SANs of a certificate. */
export function uriSans(cert: x509.X509Certificate): string[] {
  const out: string[] = [];
  for (const ext of cert.getExtensions(x509.SubjectAlternativeNameExtension)) {
    for (const n of ext.names.items) if (n.type === 'url') out.push(n.value);
  }
  return out;
}

/**
 * The identity a certificate proves, or null: exactly one URI SAN, a valid
 * identity in `trustDomain`, and not a CA certificate. It does NOT check the
 * signature chain, validity dates or revocation: call it only on a peer that
 * the TLS layer has authorized (`socket.authorized`), then check revocation.
 */
export function identityOf(cert: CertificateInput | null | undefined, trustDomain: string): Identity | null {
  if (cert === null || cert === undefined) return null;
  // A TLS socket without a peer certificate returns `{}`.
  if (typeof cert === 'object' && !(cert instanceof Uint8Array) && 'raw' in cert && !cert.raw) return null;
  let parsed: x509.X509Certificate;
  try {
    parsed = toX509(cert);
  } catch {
    return null;
  }
  let uris: string[];
  try {
    const bc = parsed.getExtension(x509.BasicConstraintsExtension);
    if (bc?.ca) return null;
    uris = uriSans(parsed);
  } catch {
    return null;
  }
  if (uris.length !== 1) return null;
  return parseIdentity(uris[0]!, trustDomain);
}

/**
 * identityOf for the request path: the same answer, read with node:crypto's
 * native X509Certificate (about 0.2 ms) instead of the JS X.509 library
 * (2-5 ms per certificate, a third of the server's CPU while a fleet
 * connects over mTLS; `npm run bench -- secure`). Node prints the SANs as
 * `URI:<value>` separated by ", ", quoting a value that holds a comma or a
 * quote; no valid identity URI holds either, so a quoted value is no
 * identity. Checked against identityOf by test/security/identity.test.ts.
 */
export function identityOfDer(der: Buffer | Uint8Array, trustDomain: string): Identity | null {
  let c: NodeX509Certificate;
  try {
    c = new NodeX509Certificate(der);
  } catch {
    return null;
  }
  if (c.ca) return null;
  const san = c.subjectAltName;
  if (!san) return null;
  const uris = san.split(', ').filter((e) => e.startsWith('URI:'));
  if (uris.length !== 1) return null;
  return parseIdentity(uris[0]!.slice(4), trustDomain);
}
