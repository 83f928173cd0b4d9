/**
 * Revocation rules shared by TokenStore.isRevoked (database) and
 * RevocationList (an in-memory snapshot for the handshake path).
 */
import { normalizeSerial } from './ca';
import type { Identity } from './identity';

export const identityKey = (i: Identity): string => `${i.kind}/${i.id}`;

export const toMs = (d: Date | number): number => (typeof d === 'number' ? d : d.getTime());

/**
 * A certificate of `identity` is refused when its serial was revoked, or when
 * the identity was revoked at or after its notBefore (issued before the
 * revocation). `revokedAt` is the identity's revocation time, if any.
 */
export function certificateRevoked(revokedAt: number | null | undefined, serialRevoked: boolean, notBefore: Date | number): boolean {
  return serialRevoked || (revokedAt !== null && revokedAt !== undefined && toMs(notBefore) <= revokedAt);
}

/**
 * A snapshot of every revocation (the TLS handshake path checks it in memory;
 * refresh it after each revocation).
 */
export class RevocationList {
  constructor(
    private readonly identities: ReadonlyMap<string, number>,
    private readonly serials: ReadonlySet<string>,
  ) {}

  /** Same rule as TokenStore.isRevoked. */
  isRevoked(identity: Identity, cert: { notBefore: Date | number; serial?: string }): boolean {
    const serialRevoked = cert.serial !== undefined && this.serials.has(normalizeSerial(cert.serial));
    return certificateRevoked(this.identities.get(identityKey(identity)), serialRevoked, cert.notBefore);
  }

  /** [kind/id, revokedAt] pairs (a relay's copy, CredentialSnapshot). */
  identityEntries(): Array<[string, number]> {
    return [...this.identities];
  }

  serialEntries(): string[] {
    return [...this.serials];
  }

  get size(): number {
    return this.identities.size + this.serials.size;
  }
}
