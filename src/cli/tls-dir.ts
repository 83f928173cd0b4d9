/**
 * The folder `edge-xds enroll --out DIR` writes, and `serve --tls-dir`,
 * Envoy and proxyless clients read:
 *
 *   DIR/key.pem     the private key (0600; made on this machine, never sent)
 *   DIR/cert.pem    the certificate followed by the CA's intermediates
 *   DIR/ca.pem      the deployment's CA bundle (the trust anchor for the server)
 *   DIR/node-token  the node's API token (0600; nodes only, first enrollment)
 *
 * DIR is created 0700. Every file is replaced atomically (written and synced
 * under a temporary name, then renamed), so a reader never sees a partly
 * written file. On renewal the key is replaced before the certificate: a
 * process that reloads when cert.pem changes reads a matching pair.
 */
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { normalizeSerial } from '../security';
import { CliError } from './https-client';

export const KEY_FILE = 'key.pem';
export const CERT_FILE = 'cert.pem';
export const CA_FILE = 'ca.pem';
export const NODE_TOKEN_FILE = 'node-token';

export type Kind = 'node' | 'relay';

export interface CertIdentity {
  trustDomain: string;
  kind: Kind;
  id: string;
}

/** What DIR holds now: a certificate and key that match, are valid now and chain to ca.pem; or why not. */
export type Current =
  | { ok: true; identity: CertIdentity; certPem: string; keyPem: string; caPem: string; serial: string; notAfter: Date; issuedAt: number }
  | { ok: false; why: string; identity: CertIdentity | null; expired: boolean };

/** The SPIFFE identity of a certificate (its URI SAN), or null. */
export function certIdentity(cert: X509Certificate): CertIdentity | null {
  const m = /(?:^|,\s*)URI:spiffe:\/\/([a-z0-9.-]+)\/(node|relay)\/([a-z0-9-]+)(?:,|$)/.exec(cert.subjectAltName ?? '');
  return m ? { trustDomain: m[1]!, kind: m[2] as Kind, id: m[3]! } : null;
}

function splitCerts(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
}

/**
 * Checks an issued certificate before it is written: it is for `identity`,
 * for `keyPem`, and signed by a certificate of `caPem`. A server that
 * answers with anything else gets nothing written.
 */
export function checkIssued(chainPem: string, keyPem: string, caPem: string, want: { kind: Kind; id: string }): { serial: string; notAfter: Date } {
  let leaf: X509Certificate;
  let cas: X509Certificate[];
  try {
    leaf = splitCerts(chainPem)[0]!;
    cas = splitCerts(caPem);
    if (!leaf) throw new Error('no certificate in the answer');
  } catch (err) {
    throw new CliError(`the server's answer holds no usable certificate: ${(err as Error).message}`, 1);
  }
  const id = certIdentity(leaf);
  if (!id || id.kind !== want.kind || id.id !== want.id)
    throw new CliError(`the server issued a certificate for ${id ? `${id.kind} ${id.id}` : 'no identity'}, not ${want.kind} ${want.id}; nothing written`, 1);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new CliError('the issued certificate is not for the key this command made; nothing written', 1);
  if (!cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) throw new CliError('the issued certificate does not chain to the CA bundle; nothing written', 1);
  return { serial: normalizeSerial(leaf.serialNumber), notAfter: new Date(leaf.validTo) };
}

function readIf(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, 1);
  }
}

export function readNodeToken(dir: string): string | null {
  const t = readIf(path.join(dir, NODE_TOKEN_FILE))?.trim();
  return t ? t : null;
}

export function readCa(dir: string): string | null {
  return readIf(path.join(dir, CA_FILE));
}

/** DIR's certificate and key, if they can be used (now) as this identity's client certificate. */
export function readCurrent(dir: string, now = Date.now()): Current {
  const certPem = readIf(path.join(dir, CERT_FILE));
  const keyPem = readIf(path.join(dir, KEY_FILE));
  const caPem = readIf(path.join(dir, CA_FILE));
  if (certPem === null || keyPem === null || caPem === null)
    return { ok: false, why: `${dir} holds no ${certPem === null ? CERT_FILE : keyPem === null ? KEY_FILE : CA_FILE}`, identity: null, expired: false };
  let leaf: X509Certificate;
  let cas: X509Certificate[];
  try {
    leaf = splitCerts(certPem)[0]!;
    cas = splitCerts(caPem);
    if (!leaf) throw new Error(`no certificate in ${CERT_FILE}`);
  } catch (err) {
    return { ok: false, why: `${path.join(dir, CERT_FILE)}: ${(err as Error).message}`, identity: null, expired: false };
  }
  const identity = certIdentity(leaf);
  if (!identity) return { ok: false, why: `${path.join(dir, CERT_FILE)} carries no spiffe://<domain>/node/<id> or /relay/<id> identity`, identity: null, expired: false };
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= now) return { ok: false, why: `the certificate in ${dir} expired at ${notAfter.toISOString()}`, identity, expired: true };
  let matches = false;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    matches = false;
  }
  if (!matches) return { ok: false, why: `${path.join(dir, KEY_FILE)} is not the key of ${CERT_FILE}`, identity, expired: false };
  if (!cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey)))
    return { ok: false, why: `${CERT_FILE} does not chain to ${CA_FILE} in ${dir}`, identity, expired: false };
  // When it was issued: the file's time (notBefore is backdated by the CA for clock skew).
  const notBefore = new Date(leaf.validFrom).getTime();
  const mtime = fs.statSync(path.join(dir, CERT_FILE)).mtimeMs;
  const issuedAt = Math.min(now, Math.max(notBefore, mtime));
  return { ok: true, identity, certPem, keyPem, caPem, serial: normalizeSerial(leaf.serialNumber), notAfter, issuedAt };
}

/** When to renew a certificate: at 2/3 of its lifetime. */
export function renewalTime(issuedAt: number, notAfter: Date): number {
  return issuedAt + Math.floor(((notAfter.getTime() - issuedAt) * 2) / 3);
}

/** Creates DIR with mode 0700 (an existing folder is left as it is). */
export function ensureDir(dir: string): void {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new CliError(`--out: ${dir} exists and is not a folder`, 1);
    return;
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

/** Writes `file` atomically with `mode` from creation: temp file, fsync, rename, fsync of the folder. */
export function writeFileAtomic(file: string, content: string, mode: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeFileSync(fd, content);
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(path.dirname(file));
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // not supported on every platform and file system: the renames are still atomic
  }
}

/** Writes an issued certificate: ca.pem (when changed), node-token (when given), then key.pem, then cert.pem. */
export function writeIssued(dir: string, files: { keyPem: string; chainPem: string; caPem: string; nodeToken?: string }): string[] {
  ensureDir(dir);
  const written: string[] = [];
  const put = (name: string, content: string, mode: number): void => {
    writeFileAtomic(path.join(dir, name), content, mode);
    written.push(name);
  };
  if (readIf(path.join(dir, CA_FILE)) !== files.caPem) put(CA_FILE, files.caPem, 0o644);
  if (files.nodeToken !== undefined) put(NODE_TOKEN_FILE, `${files.nodeToken}\n`, 0o600);
  put(KEY_FILE, files.keyPem, 0o600);
  put(CERT_FILE, files.chainPem, 0o644);
  return written;
}
