/**
 * The in-memory side of authentication, shared by the global tier (Guard,
 * which also owns the CA and the database) and relays (ReplicaAuthenticator,
 * fed by the global tier): API tokens by id (hashes only), revocations, the
 * identity of client certificates, and the one place where refusals are
 * counted, logged and written as events.
 */
import type { Logger, Metrics } from '../observability';
import { identityOfDer, type Identity } from './identity';
import { RevocationList } from './revocation';
import { hashToken, parseToken, sameHash, API_TOKEN_PREFIX, type ApiRole } from './token-format';

/** Who a request or stream speaks for, once authenticated. */
export type Caller =
  | { kind: 'admin' | 'read'; via: 'token'; tokenId: string }
  | { kind: 'node'; id: string; via: 'token'; tokenId: string }
  | { kind: 'node' | 'relay'; id: string; via: 'certificate'; serial: string };

/** Where a credential was presented (a label of edge_xds_auth_denials_total). */
export type AuthChannel = 'rest' | 'xds' | 'xds-plaintext' | 'relay-sync' | 'enroll';

export type DenialReason =
  'missing-credential' | 'malformed-credential' | 'unknown-credential' | 'expired' | 'revoked' | 'untrusted-certificate' | 'not-an-identity' | 'forbidden' | 'wrong-identity';

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

export interface SecurityEvent {
  at: number;
  nodeId: string;
  type: 'auth-denied' | 'revoked' | 'enrolled';
  detail: Record<string, unknown>;
}

/** What authenticates callers: the global tier's Guard, or a relay's replica of it. */
export interface Authenticator {
  readonly trustDomain: string;
  authenticateBearer(token: string): AuthOutcome;
  /** Null when the peer sent no certificate; call only with one the TLS layer verified. */
  authenticateCertificate(cert: PeerCertificateInput | null | undefined): AuthOutcome | null;
  denied(channel: AuthChannel, denial: Denial, ctx?: DenialContext): void;
}

export interface CachedToken {
  hash: string;
  role: ApiRole;
  nodeId: string | null;
  expiresAt: number | null;
}

/**
 * What a relay receives to authenticate on its own: token hashes (never
 * secrets) and revocations. Version 1.
 */
export interface CredentialSnapshot {
  v: 1;
  trustDomain: string;
  apiTokens: Array<{ id: string; hash: string; role: ApiRole; nodeId: string | null; expiresAt: number | null }>;
  revokedIdentities: Array<[string, number]>;
  revokedSerials: string[];
}

export const deny = (status: 401 | 403, reason: DenialReason, message: string): AuthOutcome => ({ ok: false, denial: { status, reason, message } });

/** `node web-1 (certificate 0a1b)`, `admin token 0123...` */
export function describeCaller(c: Caller): string {
  if (!('id' in c)) return `${c.kind} token ${c.tokenId}`;
  return `${c.kind} ${c.id} (${c.via === 'token' ? `token ${c.tokenId}` : `certificate ${c.serial}`})`;
}

function clip(s: string | undefined, max = 200): string | undefined {
  if (s === undefined) return undefined;
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

/** Denials of one (channel, reason) beyond this many per minute are counted but not logged or written. */
const DENIAL_RECORDS_PER_MINUTE = 30;

/** API tokens, revocations and certificate identities in memory; the checks of Authenticator. */
export class CredentialBook {
  readonly tokens = new Map<string, CachedToken>();
  revocations = new RevocationList(new Map(), new Set());
  /** Identity of a client certificate by its DER (parsing with the X.509 library is not free). */
  private readonly certIdentities = new Map<string, Identity | null>();
  private readonly denialCounter: (channel: AuthChannel, reason: DenialReason) => void;
  private readonly denialWindow = new Map<string, { start: number; n: number; suppressed: number }>();

  constructor(
    readonly trustDomain: string,
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly recordEvents?: (events: SecurityEvent[]) => Promise<void>,
  ) {
    const c = metrics.counter('edge_xds_auth_denials_total', 'Requests and streams refused for a missing, bad or insufficient credential', ['channel', 'reason']);
    this.denialCounter = (channel, reason) => c.inc({ channel, reason });
  }

  authenticateBearer(token: string): AuthOutcome {
    const parsed = parseToken(token);
    if (!parsed || parsed.prefix !== API_TOKEN_PREFIX) return deny(401, 'malformed-credential', 'the bearer token is not an edge-xds API token');
    const t = this.tokens.get(parsed.id);
    if (!t || !sameHash(t.hash, hashToken(token))) return deny(401, 'unknown-credential', `token ${parsed.id} is unknown or revoked`);
    if (t.expiresAt !== null && t.expiresAt <= Date.now()) return deny(401, 'expired', `token ${parsed.id} has expired`);
    if (t.role === 'node') {
      if (t.nodeId === null) return deny(401, 'unknown-credential', `token ${parsed.id} is unknown or revoked`);
      return { ok: true, caller: { kind: 'node', id: t.nodeId, via: 'token', tokenId: parsed.id } };
    }
    return { ok: true, caller: { kind: t.role, via: 'token', tokenId: parsed.id } };
  }

  authenticateCertificate(cert: PeerCertificateInput | null | undefined): AuthOutcome | null {
    if (!cert || !cert.raw) return null;
    const key = cert.raw.toString('base64');
    let identity = this.certIdentities.get(key);
    if (identity === undefined) {
      identity = identityOfDer(cert.raw, this.trustDomain);
      if (this.certIdentities.size >= 10_000) this.certIdentities.delete(this.certIdentities.keys().next().value as string);
      this.certIdentities.set(key, identity);
    }
    if (identity === null) return deny(401, 'not-an-identity', `the client certificate carries no spiffe://${this.trustDomain}/node/<id> or /relay/<id> identity`);
    const serial = (cert.serialNumber ?? '').toLowerCase().replace(/^0+/, '');
    const notBefore = cert.valid_from ? Date.parse(cert.valid_from) : 0;
    if (this.revocations.isRevoked(identity, { notBefore, serial })) {
      return deny(401, 'revoked', `the certificate of ${identity.kind} ${identity.id} (serial ${serial}) was revoked`);
    }
    return { ok: true, caller: { kind: identity.kind, id: identity.id, via: 'certificate', serial } };
  }

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
    const line = {
      channel,
      reason: denial.reason,
      status: denial.status,
      peer: ctx.peer,
      claimed: clip(ctx.claimed),
      what: clip(ctx.what),
      caller: who,
      tokenId: ctx.tokenId,
      suppressedBefore: suppressed,
    };
    this.logger.warn(line, `denied: ${denial.message}`);
    const nodeId = ctx.caller && 'id' in ctx.caller ? ctx.caller.id : (clip(ctx.claimed, 63) ?? '');
    void this.record([
      {
        at: now,
        nodeId,
        type: 'auth-denied',
        detail: { channel, reason: denial.reason, message: denial.message, peer: ctx.peer, caller: who, what: clip(ctx.what), suppressedBefore: suppressed },
      },
    ]);
  }

  async record(events: SecurityEvent[]): Promise<void> {
    try {
      await this.recordEvents?.(events);
    } catch (err) {
      this.logger.debug({ err }, 'writing a security event failed');
    }
  }

  /** Revocations changed (checked on every use, after the identity lookup: the identity cache stays). */
  setRevocations(r: RevocationList): void {
    this.revocations = r;
  }

  snapshot(): CredentialSnapshot {
    return {
      v: 1,
      trustDomain: this.trustDomain,
      apiTokens: [...this.tokens].map(([id, t]) => ({ id, hash: t.hash, role: t.role, nodeId: t.nodeId, expiresAt: t.expiresAt })),
      revokedIdentities: this.revocations.identityEntries(),
      revokedSerials: this.revocations.serialEntries(),
    };
  }

  /** Replaces tokens and revocations with a snapshot (a relay; checked by parseCredentialSnapshot). */
  load(s: CredentialSnapshot): void {
    this.tokens.clear();
    for (const t of s.apiTokens) this.tokens.set(t.id, { hash: t.hash, role: t.role, nodeId: t.nodeId, expiresAt: t.expiresAt });
    this.setRevocations(new RevocationList(new Map(s.revokedIdentities), new Set(s.revokedSerials)));
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
const TOKEN_ID = /^[0-9a-f]{16}$/;

/** A snapshot from the wire, checked field by field; throws naming the first bad one. */
export function parseCredentialSnapshot(json: string, trustDomain: string): CredentialSnapshot {
  const v = JSON.parse(json) as Partial<CredentialSnapshot>;
  if (v === null || typeof v !== 'object' || v.v !== 1) throw new Error('credentials: unknown snapshot version');
  if (v.trustDomain !== trustDomain) throw new Error(`credentials: trust domain ${JSON.stringify(v.trustDomain)} is not ours (${trustDomain})`);
  if (!Array.isArray(v.apiTokens) || !Array.isArray(v.revokedIdentities) || !Array.isArray(v.revokedSerials)) throw new Error('credentials: missing lists');
  for (const t of v.apiTokens) {
    const ok =
      t &&
      TOKEN_ID.test(t.id) &&
      HEX64.test(t.hash) &&
      (t.role === 'admin' || t.role === 'read' || t.role === 'node') &&
      (t.nodeId === null || typeof t.nodeId === 'string') &&
      (t.expiresAt === null || Number.isFinite(t.expiresAt));
    if (!ok) throw new Error('credentials: a malformed API token entry');
  }
  for (const r of v.revokedIdentities) if (!Array.isArray(r) || typeof r[0] !== 'string' || !Number.isFinite(r[1])) throw new Error('credentials: a malformed revocation');
  for (const s of v.revokedSerials) if (typeof s !== 'string' || !/^[0-9a-f]{1,64}$/.test(s)) throw new Error('credentials: a malformed revoked serial');
  return v as CredentialSnapshot;
}

/**
 * A relay's authenticator: the global tier's token hashes and revocations
 * (kept across restarts by the relay), checked in memory like the Guard.
 * Relays cannot enroll (they hold no CA key).
 */
export class ReplicaAuthenticator implements Authenticator {
  readonly book: CredentialBook;
  private loaded = false;

  constructor(
    readonly trustDomain: string,
    logger: Logger,
    metrics: Metrics,
    recordEvents?: (events: SecurityEvent[]) => Promise<void>,
  ) {
    this.book = new CredentialBook(trustDomain, logger, metrics, recordEvents);
  }

  /** Whether a snapshot was received (or restored) at least once. */
  get ready(): boolean {
    return this.loaded;
  }

  load(s: CredentialSnapshot): void {
    this.book.load(s);
    this.loaded = true;
  }

  authenticateBearer(token: string): AuthOutcome {
    return this.book.authenticateBearer(token);
  }

  authenticateCertificate(cert: PeerCertificateInput | null | undefined): AuthOutcome | null {
    return this.book.authenticateCertificate(cert);
  }

  denied(channel: AuthChannel, denial: Denial, ctx?: DenialContext): void {
    this.book.denied(channel, denial, ctx);
  }
}
