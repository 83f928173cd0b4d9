/**
 * The token format: `<kind>.<id>.<secret>` with kind `exj` (join) or `exa`
 * (API), a public 16-hex id (logs, listings, revocation) and 32 random bytes
 * (base64url). Only the SHA-256 of the whole token is stored, and compared
 * in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DNS_LABEL } from '../domain';

export const JOIN_TOKEN_PREFIX = 'exj';
export const API_TOKEN_PREFIX = 'exa';

const TOKEN = /^(exj|exa)\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

export type ApiRole = 'admin' | 'read' | 'node';

/** Invalid arguments to a TokenStore method (the CLI and REST answer 400 with the message). */
export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex SHA-256 digests. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}

/** A new token: the secret to show once, its public id, and the hash to store. */
export function newToken(prefix: string): { token: string; id: string; hash: string } {
  const id = randomBytes(8).toString('hex');
  const token = `${prefix}.${id}.${randomBytes(32).toString('base64url')}`;
  return { token, id, hash: hashToken(token) };
}

/** `{ prefix, id }` of a well-formed token, else null. Never throws, never logs. */
export function parseToken(token: unknown): { prefix: string; id: string } | null {
  if (typeof token !== 'string' || token.length > 100) return null;
  const m = TOKEN.exec(token);
  return m ? { prefix: m[1]!, id: m[2]! } : null;
}

/** The public id of a token, for logs (never the secret); null when malformed. */
export function tokenId(token: unknown): string | null {
  return parseToken(token)?.id ?? null;
}

/** 'admin' | 'read' | 'node:<id>' -> { role, nodeId }. */
export function parseApiRole(s: string): { role: ApiRole; nodeId?: string } {
  if (s === 'admin' || s === 'read') return { role: s };
  const m = /^node:(.+)$/.exec(s);
  if (m && DNS_LABEL.test(m[1]!)) return { role: 'node', nodeId: m[1]! };
  throw new TokenError(`role ${JSON.stringify(s)} is not valid: admin, read or node:<id>`);
}
