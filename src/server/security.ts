/**
 * Secure mode of the composition root: the Guard (CA, server certificate,
 * credentials), the TLS credentials of the REST and xDS ports (renewed in
 * place, no connection dropped), and the authorization of xDS and relay sync
 * streams.
 */
import fs from 'node:fs';
import os from 'node:os';
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';
import type { ServerOptions } from '../config';
import type { Logger, Metrics } from '../observability';
import type { Store } from '../store';
import {
  Guard,
  ReplicaAuthenticator,
  describeCaller,
  parseCredentialSnapshot,
  type AuthChannel,
  type AuthOutcome,
  type Authenticator,
  type Denial,
  type ServerTls,
} from '../security';
import type { Refusal, StreamInfo } from '../xds';
import type { RelaySyncCall } from '../relay';
import { bootstrapXdsHost } from './tier-admin';

/**
 * TLS credentials of the xDS port: a client certificate is requested and,
 * when sent, verified against the deployment CA by the handshake; the
 * decision is the server's (authorize below), so that every refusal gets a
 * status naming the reason and is counted, instead of a bare handshake
 * failure. Renewed certificates apply to new connections at once.
 */
export class RenewableServerCredentials extends grpc.ServerCredentials {
  constructor(tls: ServerTls) {
    super({ requestCert: true, rejectUnauthorized: false }, contextOf(tls));
  }

  renew(tls: ServerTls): void {
    this.updateSecureContextOptions(contextOf(tls));
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }

  /** Calls on this port only (the plaintext listener has its own credentials): see TlsPortCall. */
  override _getInterceptors(): grpc.ServerInterceptor[] {
    return [(_method, call) => new TlsPortCall(call)];
  }
}

/**
 * A call on the TLS port. grpc-js reports a TLS peer whose client
 * certificate did not verify (none sent, another CA, expired) with an empty
 * auth context, exactly like a plaintext peer; the authorizers would then
 * take it for a client of the plaintext listener (and accept a node token in
 * node.metadata instead of the certificate this port requires). Here it is
 * TLS without a verified certificate, so it is refused as such ("xds" or
 * "relay-sync" channel).
 */
class TlsPortCall extends grpc.ServerInterceptingCall {
  override getAuthContext(): ReturnType<grpc.ServerInterceptingCall['getAuthContext']> {
    const a = super.getAuthContext();
    return a.transportSecurityType === 'ssl' ? a : { transportSecurityType: 'ssl' };
  }
}

export function contextOf(tls: ServerTls): SecureContextOptions {
  return { key: Buffer.from(tls.keyPem), cert: Buffer.from(tls.chainPem), ca: Buffer.from(tls.caPem), minVersion: 'TLSv1.2' };
}

/** DNS names and IPs the server certificate carries: loopback, the host name, --host (a specific IP), --advertise-address, --tls-san. */
export function serverNames(opts: ServerOptions): string[] {
  const names = ['localhost', '127.0.0.1', '::1', os.hostname().toLowerCase()];
  if (isIP(opts.host) !== 0 && opts.host !== '0.0.0.0' && opts.host !== '::') names.push(opts.host);
  if (opts.advertiseAddress) names.push(opts.advertiseAddress);
  // The address bootstraps name (for a wildcard --host without --advertise-address: a guessed interface IP).
  names.push(bootstrapXdsHost(opts.host, opts.advertiseAddress).host);
  for (const n of opts.tlsSans ?? []) names.push(n);
  // A host name that is not a valid DNS name (underscores, ...) is left out rather than failing the start.
  return [...new Set(names)].filter((n) => isIP(n) !== 0 || /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(n));
}

export async function openGuard(opts: ServerOptions, store: Store, log: Logger, metrics: Metrics): Promise<Guard> {
  const guard = await Guard.open({
    db: store.db,
    dataDir: path.dirname(path.resolve(opts.db)),
    trustDomain: opts.trustDomain,
    caCertFile: opts.caCert,
    caKeyFile: opts.caKey,
    serverNames: serverNames(opts),
    certTtlMs: opts.certTtlMs,
    logger: log.child({ component: 'security' }),
    metrics,
    recordEvents: (events) => store.appendEvents(events),
  });
  log.info({ trustDomain: guard.trustDomain, ca: guard.ca.certFile, adminTokenFile: guard.admin.file }, 'secure mode: TLS and credentials on every port');
  return guard;
}

/** On the first start: the admin token, shown once on the terminal only (never in the structured log); the file keeps it (0600). */
export function announceAdminToken(guard: Guard, httpPort: number): void {
  if (!guard.admin.createdToken) return;
  process.stderr.write(
    `\nedge-xds: created the admin token (saved in ${guard.admin.file}, mode 0600):\n\n  ${guard.admin.createdToken}\n\n` +
      `Try:\n  curl --cacert ${guard.ca.certFile} -H "Authorization: Bearer $(cat ${guard.admin.file})" https://127.0.0.1:${httpPort}/v1/nodes\n\n`,
  );
}

const denial = (status: 401 | 403, reason: Denial['reason'], message: string): AuthOutcome => ({ ok: false, denial: { status, reason, message } });

/**
 * xDS: on the TLS port the client certificate's node identity, on the
 * plaintext port the node credential in node.metadata, must be the node
 * whose config the stream asks for.
 */
export function xdsAuthorizer(guard: Authenticator): (s: StreamInfo, credential: string | null) => Refusal | null {
  return (s, credential) => {
    const t = s.transport();
    const nodeId = s.proxy!.id;
    const channel: AuthChannel = t.tls ? 'xds' : 'xds-plaintext';
    const outcome = t.tls
      ? (guard.authenticateCertificate(t.certificate) ??
        denial(401, 'missing-credential', "this xDS port needs a client certificate issued by this deployment's CA (none was sent, or it is expired or from another CA)"))
      : credential !== null
        ? guard.authenticateBearer(credential)
        : denial(401, 'missing-credential', 'the plaintext xDS listener needs the node\'s own credential in node.metadata["edge-xds-credential"]');
    const ctx = { peer: s.peer, claimed: nodeId, what: `xDS ${s.service}` };
    if (!outcome.ok) {
      guard.denied(channel, outcome.denial, ctx);
      return { reason: 'unauthenticated', code: grpc.status.UNAUTHENTICATED, details: outcome.denial.message };
    }
    const c = outcome.caller;
    if (c.kind === 'node' && c.id === nodeId) return null;
    const who = 'id' in c ? `${c.kind} "${c.id}"` : `${c.kind === 'admin' ? 'an' : 'a'} ${c.kind} token`;
    const details = `node.id "${nodeId}" is not the identity of this client (${who}): a node may only ask for its own config`;
    guard.denied(channel, { status: 403, reason: 'wrong-identity', message: details }, { ...ctx, caller: c });
    return { reason: 'permission_denied', code: grpc.status.PERMISSION_DENIED, details };
  };
}

/** Relay sync: TLS with a relay certificate, and the relay id of Hello must be the certificate's. */
export function relayAuthorizer(guard: Authenticator): (call: RelaySyncCall, relayId: string | null) => { code: grpc.status; details: string } | null {
  return (call, relayId) => {
    const a = call.getAuthContext();
    const peer = call.getPeer();
    const outcome =
      a?.transportSecurityType === 'ssl'
        ? (guard.authenticateCertificate(a.sslPeerCertificate) ?? denial(401, 'missing-credential', "relay sync needs a relay certificate issued by this deployment's CA"))
        : denial(401, 'missing-credential', 'relay sync is served on the TLS port only');
    if (!outcome.ok) {
      if (relayId === null) guard.denied('relay-sync', outcome.denial, { peer, what: 'RelaySync' });
      return { code: grpc.status.UNAUTHENTICATED, details: outcome.denial.message };
    }
    const c = outcome.caller;
    let details: string | null = null;
    if (c.kind !== 'relay') details = `only relay identities may open the relay sync stream; this client is ${describeCaller(c)}`;
    else if (relayId !== null && relayId !== c.id) details = `hello names relay "${relayId}" but the client certificate is relay "${c.id}"`;
    if (details === null) return null;
    guard.denied(
      'relay-sync',
      { status: 403, reason: c.kind !== 'relay' ? 'forbidden' : 'wrong-identity', message: details },
      { peer, claimed: relayId ?? undefined, caller: c, what: 'RelaySync' },
    );
    return { code: grpc.status.PERMISSION_DENIED, details };
  };
}

/** What a relay in secure mode runs with: its certificate files, and the global tier's credentials (replicated). */
export interface RelaySecurity {
  relayId: string;
  trustDomain: string;
  authenticator: ReplicaAuthenticator;
  /** The relay's certificate as its REST and xDS server certificate (relay certificates carry serverAuth). */
  tls(): ServerTls;
  /** Client credentials for the link to the global tier (read from the files at each connect). */
  upstreamCredentials(): grpc.ChannelCredentials;
  /** A credential snapshot from the global tier: applied and kept in the database for restarts while partitioned. */
  onCredentials(json: string): void;
  /** An identity was revoked at the global tier (seen in a credential snapshot): close its streams here too. */
  onRevoked(listener: (kind: 'node' | 'relay', id: string) => void): void;
  /** Certificate files changed (a renewal by `edge-xds enroll --renew`): new connections use them. */
  onTlsChanged(listener: (tls: ServerTls) => void): void;
  close(): void;
}

const CREDENTIALS_KEY = 'relay_credentials';

export class TlsDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsDirError';
  }
}

/** Reads DIR/key.pem, cert.pem, ca.pem: the relay's identity, checked against the CA and the clock. */
export function readTlsDir(dir: string): { tls: ServerTls; trustDomain: string; relayId: string; mtimeMs: number } {
  const file = (name: string): string => {
    const p = path.join(dir, name);
    try {
      return fs.readFileSync(p, 'utf8');
    } catch (err) {
      throw new TlsDirError(
        `--tls-dir ${dir}: cannot read ${name} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); run \`edge-xds enroll --relay --out ${dir}\` first`,
      );
    }
  };
  const keyPem = file('key.pem');
  const chainPem = file('cert.pem');
  const caPem = file('ca.pem');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chainPem);
  } catch (err) {
    throw new TlsDirError(`--tls-dir ${dir}: cert.pem is not a PEM certificate (${(err as Error).message})`);
  }
  const uri = /URI:(spiffe:\/\/([^/,\s]+)\/relay\/([a-z0-9-]+))/.exec(leaf.subjectAltName ?? '');
  if (!uri) throw new TlsDirError(`--tls-dir ${dir}: cert.pem is not a relay certificate (no spiffe://<trust-domain>/relay/<id> URI SAN)`);
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= Date.now())
    throw new TlsDirError(`--tls-dir ${dir}: cert.pem expired at ${notAfter.toISOString()}; renew it with \`edge-xds enroll --relay --renew --out ${dir}\``);
  const cas = caPem.split(/(?=-----BEGIN CERTIFICATE-----)/).filter((p) => p.includes('BEGIN CERTIFICATE'));
  const signed = cas.some((pem) => {
    try {
      const ca = new X509Certificate(pem);
      return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
  if (!signed) throw new TlsDirError(`--tls-dir ${dir}: cert.pem was not issued by the CA in ca.pem`);
  const mtimeMs = Math.max(...['key.pem', 'cert.pem', 'ca.pem'].map((n) => fs.statSync(path.join(dir, n)).mtimeMs));
  return { tls: { chainPem, keyPem, caPem, notAfter }, trustDomain: uri[2]!, relayId: uri[3]!, mtimeMs };
}

export async function openRelaySecurity(opts: ServerOptions, store: Store, log: Logger, metrics: Metrics): Promise<RelaySecurity> {
  const dir = opts.tlsDir!;
  let current = readTlsDir(dir);
  if (opts.relayId && opts.relayId !== current.relayId) {
    throw new TlsDirError(`--relay-id ${opts.relayId} is not the identity of ${path.join(dir, 'cert.pem')} (relay ${current.relayId})`);
  }
  const slog = log.child({ component: 'security' });
  const authenticator = new ReplicaAuthenticator(current.trustDomain, slog, metrics, (events) => store.appendEvents(events));
  const stored = await store.getSetting<string>(CREDENTIALS_KEY);
  if (stored !== undefined) {
    try {
      authenticator.load(parseCredentialSnapshot(stored, current.trustDomain));
    } catch (err) {
      slog.warn({ err: (err as Error).message }, 'ignoring the stored credential snapshot');
    }
  }
  slog.info(
    { relayId: current.relayId, trustDomain: current.trustDomain, certNotAfter: current.tls.notAfter.toISOString(), credentials: authenticator.ready ? 'restored' : 'none yet' },
    'secure mode: relay identity loaded',
  );
  const listeners = new Set<(tls: ServerTls) => void>();
  const revokedListeners = new Set<(kind: 'node' | 'relay', id: string) => void>();
  let lastStored = stored ?? '';
  let writing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    try {
      const next = readTlsDir(dir);
      if (next.mtimeMs === current.mtimeMs) return;
      if (next.relayId !== current.relayId) throw new TlsDirError(`the new cert.pem is relay ${next.relayId}, not ${current.relayId}`);
      current = next;
      slog.info({ certNotAfter: next.tls.notAfter.toISOString() }, 'relay certificate files changed: new connections use them');
      for (const l of listeners) l(next.tls);
    } catch (err) {
      slog.warn({ err: (err as Error).message }, 'ignoring the relay certificate files for now');
    }
  }, 5_000);
  timer.unref();
  return {
    relayId: current.relayId,
    trustDomain: current.trustDomain,
    authenticator,
    tls: () => current.tls,
    upstreamCredentials: () => grpc.credentials.createSsl(Buffer.from(current.tls.caPem), Buffer.from(current.tls.keyPem), Buffer.from(current.tls.chainPem)),
    onCredentials: (json) => {
      const before = new Map(authenticator.book.snapshot().revokedIdentities);
      try {
        authenticator.load(parseCredentialSnapshot(json, current.trustDomain));
      } catch (err) {
        slog.warn({ err: (err as Error).message }, 'ignoring a credential snapshot from the global tier');
        return;
      }
      for (const [key, at] of authenticator.book.snapshot().revokedIdentities) {
        if ((before.get(key) ?? -1) >= at) continue;
        const [kind, id] = key.split('/') as ['node' | 'relay', string];
        for (const l of revokedListeners) l(kind, id);
      }
      if (json === lastStored) return;
      lastStored = json;
      writing = writing.then(() => store.putSetting(CREDENTIALS_KEY, json)).catch((err: unknown) => slog.warn({ err }, 'storing the credential snapshot failed'));
    },
    onTlsChanged: (l) => void listeners.add(l),
    onRevoked: (l) => void revokedListeners.add(l),
    close: () => clearInterval(timer),
  };
}
