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
import { identityOf, type Identity, type IdentityKind } from './identity';
import { issueFromCsr, issueServerCert, IssueError, DEFAULT_SERVER_CERT_TTL_MS, type IssuedCertificate } from './issue';
import { RevocationList } from './revocation';
import { hashToken, parseToken, sameHash, API_TOKEN_PREFIX, type ApiRole } from './token-format';
import { TokenStore, type ApiTokenInfo, type CreateJoinTokenOptions, type JoinTokenInfo } from './tokens';

/** Who a request or stream speaks for, once authenticated. */
export type Caller =
  | { kind: 'admin' | 'read'; via: 'token'; tokenId: string }
  | { kind: 'node'; id: string; via: 'token'; tokenId: string }
  | { kind: 'node' | 'relay'; id: string; via: 'certificate'; serial: string };

/** Where a credential was presented (a label of edge_xds_auth_denials_total). */
export type AuthChannel = 'rest' | 'xds' | 'xds-plaintext' | 'relay-sync' | 'enroll';

export type DenialReason =
  | 'missing-credential'
  | 'malformed-credential'
  | 'unknown-credential'
  | 'expired'
  | 'revoked'
  | 'untrusted-certificate'
  | 'not-an-identity'
  | 'forbidden'
  | 'wrong-identity';

export interface Denial {
  /** 401: who you are is not established; 403: you are known and may not. */
  status: 401 | 403;
  reason: DenialReason;
  message: string;
}

export type AuthOutcome = { ok: true; caller: Caller } | { ok: false; denial: Denial };

/** A TLS peer as node:tls reports it. */
export interface PeerCertificateInput {
  raw?: Buffer;
  serialNumber?: string;
  valid_from?: string;
}

/** What the refusal is about, for logs and the event log (never a secret). */
export interface DenialContext {
  peer?: string;
  /** The node or relay id the client claimed (request path, node.id, Hello.relay_id). */
  claimed?: string;
  /** What was asked (method and path, service). */
  what?: string;
  caller?: Caller;
  tokenId?: string;
}

export interface GuardEvent {
  at: number;
  nodeId: string;
  type: 'auth-denied' | 'revoked' | 'enrolled';
  detail: Record<string, unknown>;
}

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

interface CachedToken {
  hash: string;
  role: ApiRole;
  nodeId: string | null;
  expiresAt: number | null;
}

const ADMIN_TOKEN_FILE = 'admin-token';
/** Denials of one (channel, reason) beyond this many per minute are counted but not logged or written. */
const DENIAL_RECORDS_PER_MINUTE = 30;

export class Guard {
  readonly tokens: TokenStore;
  private readonly apiTokens = new Map<string, CachedToken>();
  private revocations = new RevocationList(new Map(), new Set());
  /** Identity of a client certificate by its fingerprint (parsing with the X.509 library is not free). */
  private readonly certIdentities = new Map<string, Identity | null>();
  private readonly revokedListeners = new Set<(identity: Identity) => void>();
  private readonly serverTlsListeners = new Set<(tls: ServerTls) => void>();
  private readonly denialCounter: (channel: AuthChannel, reason: DenialReason) => void;
  private readonly denialWindow = new Map<string, { start: number; n: number; suppressed: number }>();
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
    const c = opts.metrics.counter('edge_xds_auth_denials_total', 'Requests and streams refused for a missing, bad or insufficient credential', ['channel', 'reason']);
    this.denialCounter = (channel, reason) => c.inc({ channel, reason });
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
    const now = Date.now();
    const rows = (await this.opts.db('api_tokens').whereNull('revoked_at').select('id', 'secret_hash', 'role', 'node_id', 'expires_at')) as Array<{
      id: string;
      secret_hash: string;
      role: string;
      node_id: string | null;
      expires_at: number | string | null;
    }>;
    const fresh = new Map<string, CachedToken>();
    for (const r of rows) {
      const expiresAt = r.expires_at === null ? null : Number(r.expires_at);
      if (expiresAt !== null && expiresAt <= now) continue;
      fresh.set(r.id, { hash: r.secret_hash, role: r.role as ApiRole, nodeId: r.node_id, expiresAt });
    }
    this.apiTokens.clear();
    for (const [k, v] of fresh) this.apiTokens.set(k, v);
    this.revocations = await this.tokens.revocations();
  }

  // ---- authentication ----------------------------------------------------

  /** Who a bearer token speaks for (in memory). */
  authenticateBearer(token: string): AuthOutcome {
    const parsed = parseToken(token);
    if (!parsed || parsed.prefix !== API_TOKEN_PREFIX) return deny(401, 'malformed-credential', 'the bearer token is not an edge-xds API token');
    const t = this.apiTokens.get(parsed.id);
    if (!t || !sameHash(t.hash, hashToken(token))) return deny(401, 'unknown-credential', `token ${parsed.id} is unknown or revoked`);
    if (t.expiresAt !== null && t.expiresAt <= Date.now()) return deny(401, 'expired', `token ${parsed.id} has expired`);
    if (t.role === 'node') {
      if (t.nodeId === null) return deny(401, 'unknown-credential', `token ${parsed.id} is unknown or revoked`);
      return { ok: true, caller: { kind: 'node', id: t.nodeId, via: 'token', tokenId: parsed.id } };
    }
    return { ok: true, caller: { kind: t.role, via: 'token', tokenId: parsed.id } };
  }

  /**
   * Who a client certificate speaks for. Call only with a certificate the
   * TLS layer verified against this CA (`authorized`); null when the peer
   * sent none.
   */
  authenticateCertificate(cert: PeerCertificateInput | null | undefined): AuthOutcome | null {
    if (!cert || !cert.raw) return null;
    const fp = cert.raw.toString('base64');
    let identity = this.certIdentities.get(fp);
    if (identity === undefined) {
      identity = identityOf({ raw: cert.raw }, this.trustDomain);
      if (this.certIdentities.size >= 10_000) this.certIdentities.delete(this.certIdentities.keys().next().value as string);
      this.certIdentities.set(fp, identity);
    }
    if (identity === null) return deny(401, 'not-an-identity', `the client certificate carries no spiffe://${this.trustDomain}/node/<id> or /relay/<id> identity`);
    const serial = (cert.serialNumber ?? '').toLowerCase().replace(/^0+/, '');
    const notBefore = cert.valid_from ? Date.parse(cert.valid_from) : 0;
    if (this.revocations.isRevoked(identity, { notBefore, serial })) {
      return deny(401, 'revoked', `the certificate of ${identity.kind} ${identity.id} (serial ${serial}) was revoked`);
    }
    return { ok: true, caller: { kind: identity.kind, id: identity.id, via: 'certificate', serial } };
  }

  // ---- refusals ----------------------------------------------------------

  /**
   * Counts a refusal, and (at most DENIAL_RECORDS_PER_MINUTE per channel and
   * reason, so a flood cannot fill the disk) logs it at warn and writes an
   * `auth-denied` event with the identity that tried.
   */
  denied(channel: AuthChannel, denial: Denial, ctx: DenialContext = {}): void {
    this.denialCounter(channel, denial.reason);
    const key = `${channel}/${denial.reason}`;
    const now = Date.now();
    let w = this.denialWindow.get(key);
    if (!w || now - w.start >= 60_000) {
      w = { start: now, n: 0, suppressed: w?.suppressed ?? 0 };
      this.denialWindow.set(key, w);
    }
    if (w.n >= DENIAL_RECORDS_PER_MINUTE) {
      w.suppressed++;
      return;
    }
    w.n++;
    const suppressed = w.suppressed;
    w.suppressed = 0;
    const who = ctx.caller ? describeCaller(ctx.caller) : undefined;
    const line = { channel, reason: denial.reason, status: denial.status, peer: ctx.peer, claimed: clip(ctx.claimed), what: clip(ctx.what), caller: who, tokenId: ctx.tokenId, suppressedBefore: suppressed };
    this.opts.logger.warn(line, `denied: ${denial.message}`);
    const nodeId = ctx.caller && 'id' in ctx.caller ? ctx.caller.id : (clip(ctx.claimed, 63) ?? '');
    void this.record([{ at: now, nodeId, type: 'auth-denied', detail: { channel, reason: denial.reason, message: denial.message, peer: ctx.peer, caller: who, what: clip(ctx.what), suppressedBefore: suppressed } }]);
  }

  private async record(events: GuardEvent[]): Promise<void> {
    try {
      await this.opts.recordEvents?.(events);
    } catch (err) {
      this.opts.logger.debug({ err }, 'writing a security event failed');
    }
  }

  // ---- tokens, enrollment, revocation ------------------------------------

  async createJoinToken(opts: CreateJoinTokenOptions): Promise<JoinTokenInfo & { token: string }> {
    return this.tokens.createJoinToken(opts);
  }

  async createApiToken(role: 'admin' | 'read', opts: { ttlMs?: number; description?: string } = {}): Promise<ApiTokenInfo & { token: string }> {
    const t = await this.tokens.createApiToken({ role, ...opts });
    this.apiTokens.set(t.id, { hash: hashToken(t.token), role, nodeId: null, expiresAt: t.expiresAt });
    return t;
  }

  async listTokens(): Promise<{ join: JoinTokenInfo[]; api: ApiTokenInfo[] }> {
    const [join, api] = await Promise.all([this.tokens.listJoinTokens(), this.tokens.listApiTokens()]);
    return { join, api };
  }

  async revokeToken(id: string): Promise<boolean> {
    const ok = await this.tokens.revokeToken(id);
    this.apiTokens.delete(id);
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
    if (req.joinToken !== null) {
      const r = await this.tokens.redeemJoinToken(req.joinToken, identity);
      if (!r.ok) {
        const status = r.reason === 'wrong-id' || r.reason === 'wrong-kind' ? 403 : 401;
        throw new EnrollError(status, r.reason, r.message, 'token');
      }
      revokedAt = r.revokedAt;
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
      issued = await issueFromCsr(this.ca, req.csrPem, identity, this.opts.certTtlMs, { revokedAt });
    } catch (err) {
      if (err instanceof IssueError) throw new EnrollError(400, err.reason, err.message, err.reason === 'bad-identity' ? 'id' : 'csr');
      throw err;
    }
    let nodeToken: string | undefined;
    if (fresh && req.kind === 'node') {
      const t = await this.tokens.createApiToken({ role: 'node', nodeId: req.id, description: 'issued at enrollment' });
      this.apiTokens.set(t.id, { hash: hashToken(t.token), role: 'node', nodeId: req.id, expiresAt: null });
      nodeToken = t.token;
    }
    const detail = { kind: req.kind, serial: issued.serial, notAfter: issued.notAfter.toISOString(), renewal: !fresh };
    this.opts.logger.info({ ...detail, id: req.id }, fresh ? 'enrolled' : 'certificate renewed');
    await this.record([{ at: Date.now(), nodeId: req.id, type: 'enrolled', detail }]);
    return { certPem: issued.certPem, chainPem: issued.chainPem, caPem: issued.caPem, serial: issued.serial, notAfter: issued.notAfter.toISOString(), ...(nodeToken ? { nodeToken } : {}) };
  }

  /** Revokes a node or relay: its certificates and tokens stop working at once and its open streams are closed. */
  async revoke(identity: Identity, by: string): Promise<{ revokedAt: number; joinTokens: number; apiTokens: number }> {
    const r = await this.tokens.revokeIdentity(identity);
    for (const [id, t] of this.apiTokens) if (identity.kind === 'node' && t.role === 'node' && t.nodeId === identity.id) this.apiTokens.delete(id);
    this.revocations = await this.tokens.revocations();
    this.certIdentities.clear();
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

const deny = (status: 401 | 403, reason: DenialReason, message: string): AuthOutcome => ({ ok: false, denial: { status, reason, message } });

/** `node web-1 (certificate)`, `admin token 0123...` */
export function describeCaller(c: Caller): string {
  if (!('id' in c)) return `${c.kind} token ${c.tokenId}`;
  return `${c.kind} ${c.id} (${c.via === 'token' ? `token ${c.tokenId}` : `certificate ${c.serial}`})`;
}

function clip(s: string | undefined, max = 200): string | undefined {
  if (s === undefined) return undefined;
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

/** Writes a secret: mode 0600 from creation (never briefly world-readable), atomically. */
export function writeSecretFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}
