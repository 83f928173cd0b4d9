/**
 * The running server's security: its CA and TLS certificate, who a
 * credential speaks for (bearer tokens, client certificates), enrollment,
 * revocation, and one place where every refusal is counted, logged and
 * written to the event log.
 *
 * Checks on the request path are synchronous and in memory: API tokens and
 * revocations are loaded at start, kept current by this process's own
 * writes, and reloaded every `refreshMs` for writes made by other processes
 * on the same database. Secrets are never logged, only token ids.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isIP } from 'node:net';
import type { Knex } from 'knex';
import type { Logger, Metrics } from '../observability';
import { loadCaFiles, loadOrCreateCa, type Ca } from './ca';
import type { Identity, IdentityKind } from './identity';
import { issueFromCsr, issueServerCert, IssueError, DEFAULT_SERVER_CERT_TTL_MS, type IssuedCertificate } from './issue';
import { hashToken } from './token-format';
import {
  CredentialBook,
  describeCaller,
  type AuthChannel,
  type AuthOutcome,
  type Authenticator,
  type Caller,
  type CredentialSnapshot,
  type Denial,
  type DenialContext,
  type PeerCertificateInput,
  type SecurityEvent,
} from './book';
import { TokenStore, type ApiTokenInfo, type CreateJoinTokenOptions, type JoinTokenInfo } from './tokens';

export type GuardEvent = SecurityEvent;

export interface GuardOptions {
  db: Knex;
  /** Folder of the database: `pki/` and `admin-token` live here. */
  dataDir: string;
  trustDomain: string;
  /** The operator's CA (PEM files); null: `<dataDir>/pki` (created on first start). */
  caCertFile?: string | null;
  caKeyFile?: string | null;
  /** DNS names and IPs of the server certificate. */
  serverNames: string[];
  /** Lifetime of node and relay certificates issued at enrollment (ms). */
  certTtlMs: number;
  logger: Logger;
  metrics: Metrics;
  /** Writes security events to the event log (best effort). */
  recordEvents?: (events: GuardEvent[]) => Promise<void>;
  /** How often API tokens and revocations are reloaded from the database (ms). Default 10 s. */
  refreshMs?: number;
}

export interface ServerTls {
  /** Server certificate followed by the CA's intermediates. */
  chainPem: string;
  keyPem: string;
  /** Trust bundle for client certificates (the deployment CA). */
  caPem: string;
  notAfter: Date;
}

export interface EnrollRequest {
  kind: IdentityKind;
  id: string;
  csrPem: string;
  /** A join token (first enrollment), or null when `renewing` proves the identity. */
  joinToken: string | null;
  /** The caller of a renewal (its current certificate or node token). */
  renewing?: Caller | null;
  /** A relay's renewal: the DNS names and IPs of the certificate it renews with (kept as they are). */
  renewingNames?: string[];
}

export interface EnrollResult {
  certPem: string;
  chainPem: string;
  caPem: string;
  serial: string;
  notAfter: string;
  /** Node enrollment only (not renewals): the node's API token for REST and the plaintext xDS listener. */
  nodeToken?: string;
}

export class EnrollError extends Error {
  constructor(
    readonly status: 400 | 401 | 403,
    readonly reason: string,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'EnrollError';
  }
}

const ADMIN_TOKEN_FILE = 'admin-token';
/** How long an expired API token is still known (refused as expired rather than unknown). */
const EXPIRED_TOKENS_KEPT_MS = 24 * 3600_000;

export class Guard implements Authenticator {
  readonly tokens: TokenStore;
  private readonly book: CredentialBook;
  private readonly revokedListeners = new Set<(identity: Identity) => void>();
  private readonly serverTlsListeners = new Set<(tls: ServerTls) => void>();
  private readonly credentialListeners = new Set<() => void>();
  /** The last snapshot told to credential listeners (to tell them only of changes). */
  private lastSnapshotJson = '';
  /** Bumped by every write of this process to tokens or revocations (as it lands in memory): a reload that read the database before one is stale. */
  private changes = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    private readonly opts: GuardOptions,
    readonly ca: Ca,
    private tls: ServerTls,
    /** The admin token file, and the token itself when it was created by this start (print it once). */
    readonly admin: { file: string; createdToken: string | null },
  ) {
    this.tokens = new TokenStore(opts.db);
    this.book = new CredentialBook(ca.trustDomain, opts.logger, opts.metrics, opts.recordEvents);
  }

  /** Loads or creates the CA, issues the server certificate, creates the admin token on first start. */
  static async open(opts: GuardOptions): Promise<Guard> {
    const ca =
      opts.caCertFile && opts.caKeyFile
        ? await loadCaFiles(opts.caCertFile, opts.caKeyFile, { trustDomain: opts.trustDomain })
        : (await loadOrCreateCa({ dir: path.join(opts.dataDir, 'pki'), trustDomain: opts.trustDomain })).ca;
    const tls = await Guard.serverTls(ca, opts.serverNames);
    const tokens = new TokenStore(opts.db);
    const file = path.join(opts.dataDir, ADMIN_TOKEN_FILE);
    let createdToken: string | null = null;
    if (!fs.existsSync(file)) {
      const t = await tokens.createApiToken({ role: 'admin', description: `created at first start, ${ADMIN_TOKEN_FILE}` });
      writeSecretFile(file, `${t.token}\n`);
      createdToken = t.token;
    }
    const g = new Guard(opts, ca, tls, { file, createdToken });
    await g.refresh();
    g.refreshTimer = setInterval(() => void g.refresh().catch((err: unknown) => opts.logger.warn({ err }, 'reloading tokens and revocations failed')), opts.refreshMs ?? 10_000);
    g.refreshTimer.unref();
    g.scheduleRenewal();
    return g;
  }

  private static async serverTls(ca: Ca, names: string[]): Promise<ServerTls> {
    const ips = names.filter((n) => isIP(n) !== 0);
    const dnsNames = names.filter((n) => isIP(n) === 0);
    const c = await issueServerCert(ca, { dnsNames, ips, ttlMs: DEFAULT_SERVER_CERT_TTL_MS });
    return { chainPem: c.chainPem, keyPem: c.keyPem, caPem: ca.bundlePem, notAfter: c.notAfter };
  }

  get trustDomain(): string {
    return this.ca.trustDomain;
  }

  /** The current server certificate and key (re-issued at 2/3 of its lifetime; see onServerTls). */
  serverTlsNow(): ServerTls {
    return this.tls;
  }

  onServerTls(listener: (tls: ServerTls) => void): () => void {
    this.serverTlsListeners.add(listener);
    return () => this.serverTlsListeners.delete(listener);
  }

  private scheduleRenewal(): void {
    if (this.closed) return;
    const lifetime = this.tls.notAfter.getTime() - Date.now();
    const delay = Math.max(60_000, Math.min(2 ** 31 - 1, Math.floor((lifetime * 2) / 3)));
    this.renewTimer = setTimeout(() => {
      Guard.serverTls(this.ca, this.opts.serverNames).then(
        (tls) => {
          this.tls = tls;
          this.opts.logger.info({ notAfter: tls.notAfter.toISOString() }, 'server certificate renewed');
          for (const l of this.serverTlsListeners) l(tls);
          this.scheduleRenewal();
        },
        (err: unknown) => {
          this.opts.logger.error({ err }, 'renewing the server certificate failed; retrying in a minute');
          this.renewTimer = setTimeout(() => this.scheduleRenewal(), 60_000);
          this.renewTimer.unref();
        },
      );
    }, delay);
    this.renewTimer.unref();
  }

  /** Reloads API tokens and revocations from the database. */
  async refresh(): Promise<void> {
    // A revocation or a new token of this process that lands while the database is read must not be
    // undone by what was read before it (a revoked token would work again, a new one be unknown,
    // until the next reload): read again, a few times at most; the next reload catches up.
    for (let attempt = 0; attempt < 3; attempt++) {
      const seen = this.changes;
      const now = Date.now();
      const rows = (await this.opts.db('api_tokens').whereNull('revoked_at').select('id', 'secret_hash', 'role', 'node_id', 'expires_at')) as Array<{
        id: string;
        secret_hash: string;
        role: string;
        node_id: string | null;
        expires_at: number | string | null;
      }>;
      const revocations = await this.tokens.revocations();
      if (this.changes !== seen) continue;
      this.book.tokens.clear();
      for (const r of rows) {
        const expiresAt = r.expires_at === null ? null : Number(r.expires_at);
        // Recently expired tokens stay, so that they are refused as "expired", not as "unknown".
        if (expiresAt !== null && expiresAt <= now - EXPIRED_TOKENS_KEPT_MS) continue;
        this.book.tokens.set(r.id, { hash: r.secret_hash, role: r.role as 'admin' | 'read' | 'node', nodeId: r.node_id, expiresAt });
      }
      this.book.setRevocations(revocations);
      this.credentialsChanged();
      return;
    }
  }

  // ---- authentication (in memory) ----------------------------------------

  authenticateBearer(token: string): AuthOutcome {
    return this.book.authenticateBearer(token);
  }

  /**
   * Who a client certificate speaks for. Call only with a certificate the
   * TLS layer verified against this CA (`authorized`); null when the peer
   * sent none.
   */
  authenticateCertificate(cert: PeerCertificateInput | null | undefined): AuthOutcome | null {
    return this.book.authenticateCertificate(cert);
  }

  denied(channel: AuthChannel, denial: Denial, ctx: DenialContext = {}): void {
    this.book.denied(channel, denial, ctx);
  }

  private record(events: SecurityEvent[]): Promise<void> {
    return this.book.record(events);
  }

  // ---- what relays receive -----------------------------------------------

  /** Token hashes and revocations, for relays (CredentialSnapshot). */
  credentialSnapshot(): CredentialSnapshot {
    return this.book.snapshot();
  }

  /** Called after any change of tokens or revocations (not on a reload that found nothing new). */
  onCredentialsChanged(listener: () => void): () => void {
    this.credentialListeners.add(listener);
    return () => this.credentialListeners.delete(listener);
  }

  private credentialsChanged(): void {
    const json = JSON.stringify(this.book.snapshot());
    if (json === this.lastSnapshotJson) return;
    this.lastSnapshotJson = json;
    for (const l of this.credentialListeners) l();
  }

  // ---- tokens, enrollment, revocation ------------------------------------

  async createJoinToken(opts: CreateJoinTokenOptions): Promise<JoinTokenInfo & { token: string }> {
    return this.tokens.createJoinToken(opts);
  }

  async createApiToken(role: 'admin' | 'read', opts: { ttlMs?: number; description?: string } = {}): Promise<ApiTokenInfo & { token: string }> {
    const t = await this.tokens.createApiToken({ role, ...opts });
    this.changes++;
    this.book.tokens.set(t.id, { hash: hashToken(t.token), role, nodeId: null, expiresAt: t.expiresAt });
    this.credentialsChanged();
    return t;
  }

  async listTokens(): Promise<{ join: JoinTokenInfo[]; api: ApiTokenInfo[] }> {
    const [join, api] = await Promise.all([this.tokens.listJoinTokens(), this.tokens.listApiTokens()]);
    return { join, api };
  }

  async revokeToken(id: string): Promise<boolean> {
    const ok = await this.tokens.revokeToken(id);
    this.changes++;
    this.book.tokens.delete(id);
    this.credentialsChanged();
    return ok;
  }

  /**
   * Issues a certificate for a CSR: with a join token (spent atomically), or
   * as a renewal by a caller that already is this identity. A node's first
   * enrollment also gets a node API token.
   */
  async enroll(req: EnrollRequest): Promise<EnrollResult> {
    const identity: Identity = { kind: req.kind, id: req.id };
    let revokedAt: number | null = null;
    let fresh = false;
    let sans: string[] = [];
    if (req.joinToken !== null) {
      const r = await this.tokens.redeemJoinToken(req.joinToken, identity);
      if (!r.ok) {
        const status = r.reason === 'wrong-id' || r.reason === 'wrong-kind' ? 403 : 401;
        throw new EnrollError(status, r.reason, r.message, 'token');
      }
      revokedAt = r.revokedAt;
      sans = r.sans;
      fresh = true;
    } else {
      const c = req.renewing;
      if (!c) throw new EnrollError(401, 'missing-credential', 'enrollment needs a join token, or (to renew) the current certificate or node token', 'token');
      if (!('id' in c) || c.kind !== req.kind || c.id !== req.id) {
        throw new EnrollError(403, 'wrong-identity', `${describeCaller(c)} may renew only its own certificate, not ${req.kind} ${req.id}`, 'id');
      }
      revokedAt = null;
    }
    let issued: IssuedCertificate;
    try {
      // A relay renewing keeps the names of its current certificate (renewing: the caller proved it is this relay).
      if (!fresh && req.kind === 'relay') sans = req.renewingNames ?? [];
      issued = await issueFromCsr(this.ca, req.csrPem, identity, this.opts.certTtlMs, {
        revokedAt,
        dnsNames: sans.filter((n) => isIP(n) === 0),
        ips: sans.filter((n) => isIP(n) !== 0),
      });
    } catch (err) {
      if (err instanceof IssueError) throw new EnrollError(400, err.reason, err.message, err.reason === 'bad-identity' ? 'id' : 'csr');
      throw err;
    }
    let nodeToken: string | undefined;
    if (fresh && req.kind === 'node') {
      const t = await this.tokens.createApiToken({ role: 'node', nodeId: req.id, description: 'issued at enrollment' });
      this.changes++;
      this.book.tokens.set(t.id, { hash: hashToken(t.token), role: 'node', nodeId: req.id, expiresAt: null });
      this.credentialsChanged();
      nodeToken = t.token;
    }
    const detail = { kind: req.kind, serial: issued.serial, notAfter: issued.notAfter.toISOString(), renewal: !fresh };
    this.opts.logger.info({ ...detail, id: req.id }, fresh ? 'enrolled' : 'certificate renewed');
    await this.record([{ at: Date.now(), nodeId: req.id, type: 'enrolled', detail }]);
    return {
      certPem: issued.certPem,
      chainPem: issued.chainPem,
      caPem: issued.caPem,
      serial: issued.serial,
      notAfter: issued.notAfter.toISOString(),
      ...(nodeToken ? { nodeToken } : {}),
    };
  }

  /** Revokes a node or relay: its certificates and tokens stop working at once and its open streams are closed. */
  async revoke(identity: Identity, by: string): Promise<{ revokedAt: number; joinTokens: number; apiTokens: number }> {
    const r = await this.tokens.revokeIdentity(identity);
    this.changes++;
    for (const [id, t] of this.book.tokens) if (identity.kind === 'node' && t.role === 'node' && t.nodeId === identity.id) this.book.tokens.delete(id);
    this.book.setRevocations(await this.tokens.revocations());
    this.credentialsChanged();
    this.opts.logger.warn({ kind: identity.kind, id: identity.id, by }, 'identity revoked');
    await this.record([{ at: r.revokedAt, nodeId: identity.id, type: 'revoked', detail: { kind: identity.kind, by, joinTokens: r.joinTokens, apiTokens: r.apiTokens } }]);
    for (const l of this.revokedListeners) l(identity);
    return r;
  }

  onRevoked(listener: (identity: Identity) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.renewTimer) clearTimeout(this.renewTimer);
  }
}

/** Writes a secret: mode 0600 from creation (never briefly world-readable), atomically. */
export function writeSecretFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}
