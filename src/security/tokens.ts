/**
 * Join tokens (enrollment), API tokens (REST credentials) and revocations,
 * over knex (tables of migrations/20250301000000_security.js).
 *
 * Tokens (format: token-format.ts) are stored as SHA-256 hashes; a presented
 * token is found by its public id and its hash compared in constant time.
 * The secret is shown once, when the token is created, and never logged.
 *
 * Every query is portable knex. A redemption is one transaction whose first
 * statement is the conditional decrement (uses left, not revoked, not
 * expired), so concurrent redemptions - in this process or another one on the
 * same database - can never spend one use twice.
 */
import type { Knex } from 'knex';
import { isIP } from 'node:net';
import { DNS_LABEL } from '../domain';
import { normalizeSerial } from './ca';
import { checkIdentity, Identity, IdentityKind, isIdentity } from './identity';
import { certificateRevoked, RevocationList, toMs } from './revocation';
import { API_TOKEN_PREFIX, ApiRole, hashToken, JOIN_TOKEN_PREFIX, newToken, parseToken, sameHash, TokenError } from './token-format';

export { RevocationList } from './revocation';
export { API_TOKEN_PREFIX, JOIN_TOKEN_PREFIX, parseApiRole, parseToken, TokenError, tokenId } from './token-format';
export type { ApiRole } from './token-format';

/** Default lifetime and number of uses of a join token. */
export const DEFAULT_JOIN_TTL_MS = 3600_000;
export const DEFAULT_JOIN_USES = 1;
const MAX_JOIN_TTL_MS = 366 * 24 * 3600_000;
const MAX_USES = 1_000_000;

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** An id prefix: the start of a DNS label (may end with "-"). */
const ID_PREFIX = /^[a-z0-9][a-z0-9-]{0,61}$/;

/** Who an API token speaks for. */
export interface Principal {
  role: ApiRole;
  /** role 'node' only: the one node it may act for. */
  nodeId?: string;
  /** The token's public id (for logs and events). */
  tokenId: string;
}

export type RedeemFailureReason = 'malformed' | 'unknown' | 'expired' | 'used' | 'revoked' | 'wrong-kind' | 'wrong-id';
export type AuthFailureReason = 'malformed' | 'unknown' | 'expired' | 'revoked';

export type RedeemResult =
  | {
      ok: true;
      tokenId: string;
      identity: Identity;
      usesLeft: number;
      /** The identity's last revocation, if any (pass to issueFromCsr). */
      revokedAt: number | null;
      /** Relay tokens: the DNS names and IPs for its certificate. */
      sans: string[];
    }
  | { ok: false; reason: RedeemFailureReason; message: string; tokenId?: string };

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: AuthFailureReason; tokenId?: string };

export interface CreateJoinTokenOptions {
  /** Default 'node'. */
  kind?: IdentityKind;
  /** The one id it enrolls... */
  nodeId?: string;
  /** ...or any id starting with this prefix (exactly one of the two). */
  prefix?: string;
  /** Default 1 h. */
  ttlMs?: number;
  /** Default 1. */
  uses?: number;
  /** Relay tokens only: DNS names and IPs the relay's certificate will carry (it serves nodes at them). */
  sans?: string[];
  description?: string;
  now?: number;
}

export interface JoinTokenInfo {
  id: string;
  kind: IdentityKind;
  nodeId?: string;
  prefix?: string;
  usesLeft: number;
  expiresAt: number;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
  description: string;
  /** Relay tokens: the DNS names and IPs of the relay's certificate. */
  sans: string[];
}

export interface CreateApiTokenOptions {
  role: ApiRole;
  /** Required for role 'node', refused otherwise. */
  nodeId?: string;
  /** Default: no expiry. */
  ttlMs?: number;
  description?: string;
  now?: number;
}

export interface ApiTokenInfo {
  id: string;
  role: ApiRole;
  nodeId?: string;
  expiresAt: number | null;
  createdAt: number;
  revokedAt: number | null;
  description: string;
}

interface JoinTokenRow {
  id: string;
  secret_hash: string;
  kind: string;
  node_id: string;
  is_prefix: number | boolean;
  uses_left: number;
  expires_at: number | string;
  created_at: number | string;
  revoked_at: number | string | null;
  last_used_at: number | string | null;
  description: string;
  sans?: string;
}

interface ApiTokenRow {
  id: string;
  secret_hash: string;
  role: string;
  node_id: string | null;
  expires_at: number | string | null;
  created_at: number | string;
  revoked_at: number | string | null;
  description: string;
}

/** PostgreSQL returns bigint as strings; SQLite as numbers. */
const num = (v: number | string): number => Number(v);
const numOrNull = (v: number | string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

function checkDescription(d: string | undefined): string {
  const s = d ?? '';
  if (typeof s !== 'string' || s.length > 200) throw new TokenError('description: at most 200 characters');
  return s;
}

function joinInfo(r: JoinTokenRow): JoinTokenInfo {
  const prefix = Boolean(r.is_prefix);
  return {
    id: r.id,
    kind: r.kind as IdentityKind,
    ...(prefix ? { prefix: r.node_id } : { nodeId: r.node_id }),
    usesLeft: r.uses_left,
    expiresAt: num(r.expires_at),
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
    lastUsedAt: numOrNull(r.last_used_at),
    description: r.description,
    sans: r.sans ? r.sans.split(',') : [],
  };
}

function apiInfo(r: ApiTokenRow): ApiTokenInfo {
  return {
    id: r.id,
    role: r.role as ApiRole,
    ...(r.node_id !== null ? { nodeId: r.node_id } : {}),
    expiresAt: numOrNull(r.expires_at),
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
    description: r.description,
  };
}

/** A refused redemption, thrown inside the transaction to roll it back. */
class Refused extends Error {
  constructor(readonly result: Extract<RedeemResult, { ok: false }>) {
    super(result.message);
  }
}

export class TokenStore {
  constructor(private readonly db: Knex) {}

  // ---- join tokens -------------------------------------------------------

  /** A join token bound to one id (or an id prefix). The returned `token` is the only copy of the secret. */
  async createJoinToken(opts: CreateJoinTokenOptions): Promise<JoinTokenInfo & { token: string }> {
    const kind = opts.kind ?? 'node';
    if (kind !== 'node' && kind !== 'relay') throw new TokenError(`kind ${JSON.stringify(kind)}: node or relay`);
    if ((opts.nodeId === undefined) === (opts.prefix === undefined)) throw new TokenError('a join token is bound to exactly one of: an id, an id prefix');
    if (opts.nodeId !== undefined && !DNS_LABEL.test(opts.nodeId)) throw new TokenError(`id ${JSON.stringify(opts.nodeId)} is not a DNS label`);
    if (opts.prefix !== undefined && !ID_PREFIX.test(opts.prefix)) throw new TokenError(`prefix ${JSON.stringify(opts.prefix)} is not the start of a DNS label`);
    const ttl = opts.ttlMs ?? DEFAULT_JOIN_TTL_MS;
    if (!Number.isInteger(ttl) || ttl < 1000 || ttl > MAX_JOIN_TTL_MS) throw new TokenError(`ttl ${ttl} ms: 1 s to 366 days`);
    const uses = opts.uses ?? DEFAULT_JOIN_USES;
    if (!Number.isInteger(uses) || uses < 1 || uses > MAX_USES) throw new TokenError(`uses ${uses}: an integer from 1 to ${MAX_USES}`);
    const sans = opts.sans ?? [];
    if (sans.length > 0 && kind !== 'relay') throw new TokenError('DNS names and IPs (sans) are for relay tokens only');
    if (sans.length > 32) throw new TokenError('at most 32 names (sans)');
    for (const n of sans) {
      if (typeof n !== 'string' || (isIP(n) === 0 && !DNS_NAME.test(n))) throw new TokenError(`${JSON.stringify(n)} is neither an IP address nor a DNS name`);
    }
    const now = opts.now ?? Date.now();
    const t = newToken(JOIN_TOKEN_PREFIX);
    const row: JoinTokenRow = {
      id: t.id,
      secret_hash: t.hash,
      kind,
      node_id: opts.nodeId ?? opts.prefix!,
      is_prefix: opts.prefix !== undefined,
      uses_left: uses,
      expires_at: now + ttl,
      created_at: now,
      revoked_at: null,
      last_used_at: null,
      description: checkDescription(opts.description),
      sans: sans.map((n) => n.toLowerCase()).join(','),
    };
    await this.db('join_tokens').insert(row);
    return { ...joinInfo(row), token: t.token };
  }

  /**
   * Spends one use of a join token for `identity`, atomically. Refused with a
   * specific reason: malformed, unknown (no such token, or wrong secret),
   * revoked (the token, or the identity after the token was made), expired,
   * used (no use left), wrong-kind (node token for a relay or the reverse),
   * wrong-id (not the id, or not under the prefix, it is bound to). A refused
   * redemption spends nothing.
   */
  async redeemJoinToken(token: string, identity: Identity, now = Date.now()): Promise<RedeemResult> {
    const parsed = parseToken(token);
    if (!parsed || parsed.prefix !== JOIN_TOKEN_PREFIX) return { ok: false, reason: 'malformed', message: 'not a join token' };
    const id = parsed.id;
    if (!isIdentity(identity)) return { ok: false, reason: 'wrong-id', message: `${JSON.stringify(identity)} is not a valid identity`, tokenId: id };
    const hash = hashToken(token);
    const refuse = (reason: RedeemFailureReason, message: string): never => {
      throw new Refused({ ok: false, reason, message, tokenId: id });
    };
    try {
      return await this.db.transaction(async (trx) => {
        // First statement: the write (takes the write lock before anything is read).
        const updated = await trx('join_tokens')
          .where({ id })
          .andWhere('uses_left', '>', 0)
          .whereNull('revoked_at')
          .andWhere('expires_at', '>', now)
          .update({ uses_left: trx.raw('?? - 1', ['uses_left']), last_used_at: now });
        const row = (await trx<JoinTokenRow>('join_tokens').where({ id }).first()) as JoinTokenRow | undefined;
        if (!row || !sameHash(row.secret_hash, hash)) return refuse('unknown', 'no such join token');
        if (row.revoked_at !== null) return refuse('revoked', `join token ${id} was revoked`);
        if (num(row.expires_at) <= now) return refuse('expired', `join token ${id} expired at ${new Date(num(row.expires_at)).toISOString()}`);
        if (updated !== 1) return refuse('used', `join token ${id} has no use left`);
        if (row.kind !== identity.kind) return refuse('wrong-kind', `join token ${id} enrolls a ${row.kind}, not a ${identity.kind}`);
        if (row.is_prefix ? !identity.id.startsWith(row.node_id) : identity.id !== row.node_id) {
          return refuse('wrong-id', `join token ${id} enrolls ${row.is_prefix ? `ids starting with "${row.node_id}"` : `"${row.node_id}"`}, not "${identity.id}"`);
        }
        const rev = (await trx('revoked_identities').where({ kind: identity.kind, id: identity.id }).first('revoked_at')) as { revoked_at: number | string } | undefined;
        const revokedAt = rev ? num(rev.revoked_at) : null;
        if (revokedAt !== null && revokedAt >= num(row.created_at)) {
          return refuse('revoked', `${identity.kind} ${identity.id} was revoked after join token ${id} was created: create a new token`);
        }
        return {
          ok: true as const,
          tokenId: id,
          identity: { kind: identity.kind, id: identity.id },
          usesLeft: row.uses_left,
          revokedAt,
          sans: row.sans ? row.sans.split(',') : [],
        };
      });
    } catch (err) {
      if (err instanceof Refused) return err.result;
      throw err;
    }
  }

  async listJoinTokens(): Promise<JoinTokenInfo[]> {
    const rows = (await this.db<JoinTokenRow>('join_tokens').select('*').orderBy('created_at')) as JoinTokenRow[];
    return rows.map(joinInfo);
  }

  // ---- API tokens --------------------------------------------------------

  /** An API token (admin, read, or node:<id>). The returned `token` is the only copy of the secret. */
  async createApiToken(opts: CreateApiTokenOptions): Promise<ApiTokenInfo & { token: string }> {
    if (opts.role !== 'admin' && opts.role !== 'read' && opts.role !== 'node') throw new TokenError(`role ${JSON.stringify(opts.role)}: admin, read or node`);
    if (opts.role === 'node' ? opts.nodeId === undefined || !DNS_LABEL.test(opts.nodeId) : opts.nodeId !== undefined) {
      throw new TokenError(opts.role === 'node' ? 'a node token needs the node id (a DNS label)' : `an ${opts.role} token has no node id`);
    }
    if (opts.ttlMs !== undefined && (!Number.isInteger(opts.ttlMs) || opts.ttlMs < 1000)) throw new TokenError(`ttl ${opts.ttlMs} ms: at least 1 s`);
    const now = opts.now ?? Date.now();
    const t = newToken(API_TOKEN_PREFIX);
    const row: ApiTokenRow = {
      id: t.id,
      secret_hash: t.hash,
      role: opts.role,
      node_id: opts.role === 'node' ? opts.nodeId! : null,
      expires_at: opts.ttlMs !== undefined ? now + opts.ttlMs : null,
      created_at: now,
      revoked_at: null,
      description: checkDescription(opts.description),
    };
    await this.db('api_tokens').insert(row);
    return { ...apiInfo(row), token: t.token };
  }

  /** The principal of an API token, or why it is refused (for metrics and logs; never echo the token). */
  async check(token: string, now = Date.now()): Promise<AuthResult> {
    const parsed = parseToken(token);
    if (!parsed || parsed.prefix !== API_TOKEN_PREFIX) return { ok: false, reason: 'malformed' };
    const row = (await this.db<ApiTokenRow>('api_tokens').where({ id: parsed.id }).first()) as ApiTokenRow | undefined;
    if (!row || !sameHash(row.secret_hash, hashToken(token))) return { ok: false, reason: 'unknown', tokenId: parsed.id };
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked', tokenId: row.id };
    if (row.expires_at !== null && num(row.expires_at) <= now) return { ok: false, reason: 'expired', tokenId: row.id };
    const principal: Principal = { role: row.role as ApiRole, tokenId: row.id };
    if (row.node_id !== null) principal.nodeId = row.node_id;
    return { ok: true, principal };
  }

  /** `{ role, nodeId?, tokenId }` of a valid API token, else null. */
  async authenticate(token: string, now = Date.now()): Promise<Principal | null> {
    const r = await this.check(token, now);
    return r.ok ? r.principal : null;
  }

  async listApiTokens(): Promise<ApiTokenInfo[]> {
    const rows = (await this.db<ApiTokenRow>('api_tokens').select('*').orderBy('created_at')) as ApiTokenRow[];
    return rows.map(apiInfo);
  }

  // ---- revocation --------------------------------------------------------

  /** Revokes one join or API token by its public id; false if there is no such token or it was already revoked. */
  async revokeToken(id: string, now = Date.now()): Promise<boolean> {
    if (!/^[0-9a-f]{16}$/.test(id)) return false;
    return this.db.transaction(async (trx) => {
      const a = await trx('join_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: now });
      const b = await trx('api_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: now });
      return a + b > 0;
    });
  }

  /**
   * Revokes an identity at `now`, in one transaction: its certificates with
   * notBefore at or before `now` are refused from then on (isRevoked), its
   * exact-id join tokens and its node API tokens are revoked, and join tokens
   * created before now (prefix ones included) can no longer enroll it.
   * Revoking again moves the time forward.
   */
  async revokeIdentity(identity: Identity, now = Date.now()): Promise<{ revokedAt: number; joinTokens: number; apiTokens: number }> {
    checkIdentity(identity);
    return this.db.transaction(async (trx) => {
      await trx('revoked_identities').insert({ kind: identity.kind, id: identity.id, revoked_at: now }).onConflict(['kind', 'id']).merge();
      const joinTokens = await trx('join_tokens').where({ kind: identity.kind, node_id: identity.id, is_prefix: false }).whereNull('revoked_at').update({ revoked_at: now });
      const apiTokens = identity.kind === 'node' ? await trx('api_tokens').where({ role: 'node', node_id: identity.id }).whereNull('revoked_at').update({ revoked_at: now }) : 0;
      return { revokedAt: now, joinTokens, apiTokens };
    });
  }

  /** revokeIdentity for a node. */
  async revokeNode(id: string, now = Date.now()): Promise<{ revokedAt: number; joinTokens: number; apiTokens: number }> {
    return this.revokeIdentity({ kind: 'node', id }, now);
  }

  /** Revokes one certificate by serial (hex, any case). `notAfter` lets pruneExpired drop the row once the certificate has expired anyway. */
  async revokeCertificate(serial: string, notAfter?: Date | number, now = Date.now()): Promise<void> {
    const s = normalizeSerial(serial);
    if (!/^[0-9a-f]{1,64}$/.test(s)) throw new TokenError(`serial ${JSON.stringify(serial)} is not hex`);
    await this.db('revoked_certificates')
      .insert({ serial: s, revoked_at: now, not_after: notAfter === undefined ? null : toMs(notAfter) })
      .onConflict('serial')
      .ignore();
  }

  /** When `identity` was last revoked (ms), or null. */
  async revocationTime(identity: Identity): Promise<number | null> {
    const row = (await this.db('revoked_identities').where({ kind: identity.kind, id: identity.id }).first('revoked_at')) as { revoked_at: number | string } | undefined;
    return row ? num(row.revoked_at) : null;
  }

  /**
   * Whether a certificate of `identity` must be refused: its serial was
   * revoked, or the identity was revoked at or after the certificate's
   * notBefore (issued before the revocation).
   */
  async isRevoked(identity: Identity, cert: { notBefore: Date | number; serial?: string }): Promise<boolean> {
    const serialRevoked =
      cert.serial !== undefined &&
      (await this.db('revoked_certificates')
        .where({ serial: normalizeSerial(cert.serial) })
        .first('serial')) !== undefined;
    return certificateRevoked(await this.revocationTime(identity), serialRevoked, cert.notBefore);
  }

  /** Every revocation, for in-memory checks on the handshake path. */
  async revocations(): Promise<RevocationList> {
    const [ids, serials] = await Promise.all([
      this.db('revoked_identities').select('kind', 'id', 'revoked_at') as Promise<Array<{ kind: string; id: string; revoked_at: number | string }>>,
      this.db('revoked_certificates').select('serial') as Promise<Array<{ serial: string }>>,
    ]);
    return new RevocationList(new Map(ids.map((r) => [`${r.kind}/${r.id}`, num(r.revoked_at)])), new Set(serials.map((r) => r.serial)));
  }

  /**
   * Housekeeping: deletes join and API tokens expired more than `graceMs`
   * ago (default 7 days) and revoked serials whose certificate has expired.
   * Identity revocations are kept.
   */
  async pruneExpired(now = Date.now(), graceMs = 7 * 24 * 3600_000): Promise<{ joinTokens: number; apiTokens: number; certificates: number }> {
    return this.db.transaction(async (trx) => {
      const joinTokens = await trx('join_tokens')
        .where('expires_at', '<', now - graceMs)
        .delete();
      const apiTokens = await trx('api_tokens')
        .whereNotNull('expires_at')
        .andWhere('expires_at', '<', now - graceMs)
        .delete();
      const certificates = await trx('revoked_certificates').whereNotNull('not_after').andWhere('not_after', '<', now).delete();
      return { joinTokens, apiTokens, certificates };
    });
  }
}
