/**
 * The deployment CA: ECDSA P-256 keys, X.509 via @peculiar/x509 on Node's
 * WebCrypto (no hand-written ASN.1).
 *
 * - loadOrCreateCa({ dir, trustDomain }): `dir/ca.pem` + `dir/ca-key.pem`,
 *   created on first use (key 0600, folder 0700), loaded afterwards.
 * - loadCa(certPem, keyPem, ...): an operator's CA, e.g. an intermediate of
 *   the company PKI (the cert file may carry the intermediate followed by its
 *   issuers; the first certificate is the signing one).
 *
 * Every error names the file (or the label given for a PEM string).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, createPublicKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { checkTrustDomain, trustDomainUri, uriSans } from './identity';
import { subtle, x509 } from './x509';

type CryptoKey = webcrypto.CryptoKey;

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
/** Lifetime of a CA created by loadOrCreateCa. */
export const CA_TTL_MS = 10 * 365 * 24 * 3600_000;

/** A CA that cannot be created or used as given; `file` names the culprit when there is one. */
export class CaError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'CaError';
  }
}

export interface Ca {
  trustDomain: string;
  /** The signing certificate (the first of the cert file). */
  cert: x509.X509Certificate;
  /** PEM of the signing certificate alone. */
  certPem: string;
  /**
   * PEM of the certificates to send after a leaf so a peer can chain it to
   * the trust bundle: the signing certificate and every further certificate
   * of the cert file that is not self-signed. Empty for a self-signed root CA.
   */
  intermediatesPem: string;
  /** The trust bundle handed to peers (`ca.pem` on a node): every certificate of the cert file. */
  bundlePem: string;
  /** Non-extractable signing key. */
  privateKey: CryptoKey;
  /** The algorithm to sign with (ECDSA with the curve's hash, or RSASSA-PKCS1-v1_5 SHA-256). */
  signingAlgorithm: { name: string; hash?: string };
  /** Where it was loaded from (for messages). */
  certFile: string;
  keyFile: string;
}

export interface LoadOrCreateCaOptions {
  /** Folder of `ca.pem` and `ca-key.pem` (created with mode 0700 when absent). */
  dir: string;
  trustDomain: string;
  /** Clock (tests). */
  now?: Date;
}

export interface LoadCaOptions {
  trustDomain: string;
  /** Names used in errors; default 'CA certificate' / 'CA key'. */
  certFile?: string;
  keyFile?: string;
  now?: Date;
}

const EC_CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

/** All PEM certificates of a file, in order. */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** The key's WebCrypto import parameters and signing algorithm; throws for unsupported keys. */
export function keyAlgorithm(key: KeyObject, label: string): { importParams: { name: string; namedCurve?: string; hash?: string }; sign: { name: string; hash?: string } } {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new CaError(`${label}: EC curve ${key.asymmetricKeyDetails?.namedCurve ?? '?'} is not supported (use P-256, P-384 or P-521)`, label);
    return { importParams: { name: 'ECDSA', namedCurve: curve.namedCurve }, sign: { name: 'ECDSA', hash: curve.hash } };
  }
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new CaError(`${label}: RSA key of ${bits} bits is too weak (at least 2048)`, label);
    return { importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5' } };
  }
  throw new CaError(`${label}: key type ${type ?? '?'} is not supported for a CA (use ECDSA P-256, or RSA >= 2048 bits)`, label);
}

function parsePrivateKey(keyPem: string, label: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem))
    throw new CaError(`${label}: no PEM private key found (expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN EC PRIVATE KEY-----")`, label);
  if (/ENCRYPTED/.test(keyPem))
    throw new CaError(`${label}: the key is encrypted; give an unencrypted key (e.g. openssl pkey -in KEY -out PLAIN) and protect the file (mode 0600)`, label);
  try {
    return createPrivateKey({ key: keyPem, format: 'pem' });
  } catch (err) {
    throw new CaError(`${label}: not a readable private key (${(err as Error).message})`, label);
  }
}

function spkiDer(key: KeyObject): Buffer {
  return (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
}

/**
 * An operator's CA from PEM text: the first certificate of `certPem` must be
 * a CA (basicConstraints CA:TRUE, keyUsage with keyCertSign, valid now) whose
 * public key matches `keyPem`; further certificates (its issuers) must each
 * sign the one before.
 */
export async function loadCa(certPem: string, keyPem: string, opts: LoadCaOptions): Promise<Ca> {
  const trustDomain = checkTrustDomain(opts.trustDomain);
  const certLabel = opts.certFile ?? 'CA certificate';
  const keyLabel = opts.keyFile ?? 'CA key';
  const now = opts.now ?? new Date();

  const pems = splitPemCertificates(certPem);
  if (pems.length === 0) throw new CaError(`${certLabel}: no PEM certificate found (expected "-----BEGIN CERTIFICATE-----")`, certLabel);
  const certs: x509.X509Certificate[] = [];
  for (const [i, pem] of pems.entries()) {
    try {
      certs.push(new x509.X509Certificate(pem));
    } catch (err) {
      throw new CaError(`${certLabel}: certificate #${i + 1} cannot be parsed (${(err as Error).message})`, certLabel);
    }
  }
  const cert = certs[0]!;
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new CaError(`${certLabel}: ${cert.subject} is not a CA certificate (basicConstraints CA:TRUE missing)`, certLabel);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (!ku || (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new CaError(`${certLabel}: ${cert.subject} may not sign certificates (keyUsage keyCertSign missing)`, certLabel);
  }
  if (cert.notBefore.getTime() > now.getTime()) throw new CaError(`${certLabel}: ${cert.subject} is not valid before ${cert.notBefore.toISOString()}`, certLabel);
  if (cert.notAfter.getTime() <= now.getTime()) throw new CaError(`${certLabel}: ${cert.subject} expired at ${cert.notAfter.toISOString()}`, certLabel);
  for (let i = 0; i + 1 < certs.length; i++) {
    const ok = await certs[i]!.verify({ publicKey: certs[i + 1]!, signatureOnly: true }).catch(() => false);
    if (!ok)
      throw new CaError(
        `${certLabel}: certificate #${i + 1} (${certs[i]!.subject}) is not signed by the next one (${certs[i + 1]!.subject}); list the CA first, then its issuers in order`,
        certLabel,
      );
  }

  const key = parsePrivateKey(keyPem, keyLabel);
  const alg = keyAlgorithm(key, keyLabel);
  let certSpki: Buffer;
  try {
    certSpki = spkiDer(createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: 'der', type: 'spki' }));
  } catch (err) {
    throw new CaError(`${certLabel}: unsupported public key (${(err as Error).message})`, certLabel);
  }
  if (!certSpki.equals(spkiDer(key))) throw new CaError(`${keyLabel} does not match ${certLabel} (${cert.subject}): the private key is not the certificate's`, keyLabel);

  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const privateKey = await subtle.importKey('pkcs8', pkcs8, alg.importParams, false, ['sign']);

  const selfSigned = await Promise.all(certs.map((c) => c.isSelfSigned().catch(() => false)));
  const intermediates = certs.filter((_, i) => !selfSigned[i]).map((c) => c.toString('pem'));
  return {
    trustDomain,
    cert,
    certPem: cert.toString('pem') + '\n',
    intermediatesPem: intermediates.length ? intermediates.join('\n') + '\n' : '',
    bundlePem: certs.map((c) => c.toString('pem')).join('\n') + '\n',
    privateKey,
    signingAlgorithm: alg.sign,
    certFile: certLabel,
    keyFile: keyLabel,
  };
}

/** An operator's CA from files (`--ca-cert`, `--ca-key`); errors name the files. */
export async function loadCaFiles(certFile: string, keyFile: string, opts: { trustDomain: string; now?: Date }): Promise<Ca> {
  return loadCa(readFile(certFile), readFile(keyFile), { ...opts, certFile, keyFile });
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CaError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, file);
  }
}

/** A random positive serial number of 16 bytes (hex, lowercase). */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x40; // positive, and always 16 bytes long
  return b.toString('hex');
}

/** Serial numbers as compared and stored: lowercase hex without leading zeros or colons (node:tls prints them uppercase, openssl with colons). */
export function normalizeSerial(serial: string): string {
  const s = serial
    .toLowerCase()
    .replace(/:/g, '')
    .replace(/^0+(?=.)/, '');
  return s;
}

/** PEM (PKCS#8) of an extractable WebCrypto private key. */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** A new self-signed CA for `trustDomain` (ECDSA P-256, 10 years): certificate and key PEM. */
export async function createCaPem(trustDomain: string, now = new Date()): Promise<{ certPem: string; keyPem: string }> {
  checkTrustDomain(trustDomain);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 3600_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [`edge-xds CA ${trustDomain}`] }, { O: ['edge-xds'] }],
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_TTL_MS),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: trustDomainUri(trustDomain) }]),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
}

/** Writes `data` to `file` only if it does not exist (temp file + hard link: never a half-written file, never an overwrite). */
function writeExclusive(file: string, data: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.chmodSync(tmp, mode); // the umask may have narrowed or (never) widened it
    fs.linkSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * The deployment CA of `dir`: created on first use (`ca.pem` mode 0644,
 * `ca-key.pem` mode 0600, the folder 0700), loaded afterwards. Refuses a
 * folder with only one of the two files, a key file readable by group or
 * others, and a CA made for another trust domain.
 */
export async function loadOrCreateCa(opts: LoadOrCreateCaOptions): Promise<{ ca: Ca; created: boolean }> {
  const trustDomain = checkTrustDomain(opts.trustDomain);
  const dir = path.resolve(opts.dir);
  const certFile = path.join(dir, CA_CERT_FILE);
  const keyFile = path.join(dir, CA_KEY_FILE);
  let created = false;

  const hasCert = fs.existsSync(certFile);
  const hasKey = fs.existsSync(keyFile);
  if (hasCert !== hasKey) {
    const [present, missing] = hasCert ? [certFile, keyFile] : [keyFile, certFile];
    throw new CaError(
      `${missing} is missing but ${present} exists: restore the missing file, or move both away to create a new CA (every issued certificate then stops being trusted)`,
      missing,
    );
  }
  if (!hasCert) {
    try {
      if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
    } catch (err) {
      throw new CaError(`${dir}: cannot create the CA folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, dir);
    }
    const { certPem, keyPem } = await createCaPem(trustDomain, opts.now);
    try {
      writeExclusive(keyFile, keyPem, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new CaError(`${keyFile}: cannot be written (${(err as Error).message})`, keyFile);
      // Another process created the CA at the same moment: load theirs (below).
    }
    if (!fs.existsSync(certFile)) {
      try {
        const keyNow = fs.readFileSync(keyFile, 'utf8');
        if (keyNow === keyPem) {
          writeExclusive(certFile, certPem, 0o644);
          created = true;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new CaError(`${certFile}: cannot be written (${(err as Error).message})`, certFile);
      }
    }
    if (!created) await waitForFile(certFile);
  }

  const st = fs.statSync(keyFile);
  if (!st.isFile()) throw new CaError(`${keyFile} is not a regular file`, keyFile);
  if ((st.mode & 0o077) !== 0) {
    throw new CaError(`${keyFile} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 ${keyFile}`, keyFile);
  }
  const ca = await loadCa(readFile(certFile), readFile(keyFile), { trustDomain, certFile, keyFile, now: opts.now });
  const own = uriSans(ca.cert).filter((u) => u.startsWith('spiffe://'));
  if (own.length > 0 && !own.includes(trustDomainUri(trustDomain))) {
    throw new CaError(`${certFile} was made for ${own.join(', ')}, not for trust domain ${trustDomain}: use the same trust domain, or another folder for a new CA`, certFile);
  }
  return { ca, created };
}

async function waitForFile(file: string): Promise<void> {
  for (let i = 0; i < 50 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 20));
}
