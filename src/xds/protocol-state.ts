/**
 * The xDS protocol state SotW and delta streams share, per resource type and
 * stream (as go-control-plane's pkg/server/stream/v3/subscription.go serves
 * both its servers): the subscription and its wildcard rules, the latest
 * response's nonce and what its ACK or NACK says, as an explicit status, and
 * the status a config dump shows. The protocols differ only where the
 * protocol does: how a request states the subscription (SotW names all of
 * it, delta sends changes) and how what the proxy holds is tracked.
 */
import type { ResourceKind } from './protos';
import type { ResourceSet } from './snapshot';
import { contentHash } from './encoded-resource';
import { boundedString } from './proxy';
import { XDS_LIMITS } from './limits';
import { BoundedMap } from './bounded-map';

/** New things first in dependency order (a cluster before its endpoints, a listener before its routes). */
export const ADD_ORDER: readonly ResourceKind[] = ['cluster', 'endpoint', 'listener', 'route'];
/** When something goes away, stop referring to it before removing it. */
export const REMOVE_ORDER: readonly ResourceKind[] = ['listener', 'route', 'cluster', 'endpoint'];

/** LDS and CDS may be wildcard without saying so (xDS "How the client specifies what resources to return"); EDS and RDS only with '*'. */
export function isWildcardCapable(kind: ResourceKind): boolean {
  return kind === 'listener' || kind === 'cluster';
}

/** An immutable subscription, shared by the streams that subscribe to the same names in the same order. */
export interface Subscription {
  readonly wildcard: boolean;
  /** Explicitly subscribed names ('*' excluded): SotW sorted, delta in subscription order. */
  readonly names: ReadonlySet<string>;
  /** Hash of wildcard + names in order: the key of the shared response caches. */
  readonly key: string;
}

const EMPTY_NAMES: ReadonlySet<string> = new Set();
const subscriptionText = (wildcard: boolean, names: readonly string[]): string => `${wildcard ? '*' : ''}\n${names.join('\n')}`;
export const NO_SUBSCRIPTION: Subscription = { wildcard: false, names: EMPTY_NAMES, key: contentHash(subscriptionText(false, [])) };

/** Whether a set holds exactly `names`, in that order. */
function sameNames(set: ReadonlySet<string>, names: readonly string[]): boolean {
  if (set.size !== names.length) return false;
  let i = 0;
  for (const n of set) if (n !== names[i++]) return false;
  return true;
}

/**
 * Subscriptions interned by content. Their names come from clients and
 * outlive the streams here, so the table is bounded by characters too, and
 * one too big to be worth sharing is not kept.
 */
export class SubscriptionTable {
  private readonly table = new BoundedMap<string, Subscription>({ maxEntries: 4096, maxWeight: 32 * 1024 * 1024, maxEntryWeight: 2 * 1024 * 1024 });

  subscription(wildcard: boolean, names: ReadonlySet<string> | readonly string[]): Subscription {
    const list: readonly string[] = names instanceof Set ? [...names] : (names as readonly string[]);
    if (!wildcard && list.length === 0) return NO_SUBSCRIPTION;
    const text = subscriptionText(wildcard, list);
    const key = contentHash(text);
    const hit = this.table.get(key);
    if (hit && hit.wildcard === wildcard && sameNames(hit.names, list)) return hit;
    const set = list.length === 0 ? EMPTY_NAMES : names instanceof Set ? (names as ReadonlySet<string>) : new Set(list);
    const sub: Subscription = { wildcard, names: set, key };
    this.table.set(key, sub, text.length);
    return sub;
  }

  get size(): number {
    return this.table.size;
  }
}

/**
 * SotW: every request names the whole subscription. '*' is wildcard on any
 * type; no names on LDS/CDS is wildcard on the type's first request or when
 * it already was (a named subscription going to [] means none). Returns the
 * new subscription, or null when the request leaves it as it is.
 */
export function sotwSubscription(kind: ResourceKind, prev: Subscription | null, requested: readonly string[], table: SubscriptionTable): Subscription | null {
  // The common case, an ACK repeating the previous names: compared in place.
  if (prev && requested.length === prev.names.size && (prev.wildcard ? isWildcardCapable(kind) && requested.length === 0 : sameNames(prev.names, requested))) return null;
  const names = [...new Set(requested)].sort();
  const wildcard = names.includes('*') || (isWildcardCapable(kind) && names.length === 0 && (prev === null || prev.wildcard));
  const explicit = names.filter((n) => n !== '*');
  if (prev && wildcard === prev.wildcard && sameNames(prev.names, explicit)) return null;
  return table.subscription(wildcard, explicit);
}

/** Delta: whether a request touches the subscription (names to subscribe or unsubscribe, or the legacy wildcard). */
export function deltaSubscribes(kind: ResourceKind, first: boolean, subscribe: readonly string[], unsubscribe: readonly string[]): boolean {
  return subscribe.length > 0 || unsubscribe.length > 0 || (first && isWildcardCapable(kind));
}

/**
 * Delta: a request subscribes and unsubscribes names ('*': the wildcard);
 * the first request of LDS/CDS subscribing nothing is the legacy wildcard.
 * The proxy forgets what it unsubscribes from, and no removal is sent for
 * it: such names leave `has` (what the proxy holds: name -> version).
 * Returns the subscription and whether the request changed anything.
 */
export function deltaSubscription(
  kind: ResourceKind,
  prev: Subscription,
  first: boolean,
  subscribe: readonly string[],
  unsubscribe: readonly string[],
  has: Map<string, string>,
  table: SubscriptionTable,
): { sub: Subscription; changed: boolean } {
  let changed = false;
  let wildcard = prev.wildcard;
  let names: Set<string> | null = null; // copy on write: subscriptions are shared
  const own = (): Set<string> => (names ??= new Set(prev.names));
  if (first && subscribe.length === 0 && isWildcardCapable(kind)) wildcard = true;
  for (const name of subscribe) {
    if (name === '*') wildcard = true;
    else if (!(names ?? prev.names).has(name)) own().add(name);
    else continue;
    changed = true;
  }
  for (const name of unsubscribe) {
    if (name === '*') {
      wildcard = false;
      const current = names ?? prev.names;
      for (const n of [...has.keys()]) if (!current.has(n)) has.delete(n);
    } else {
      if ((names ?? prev.names).has(name)) own().delete(name);
      if (!wildcard) has.delete(name);
    }
    changed = true;
  }
  const sub = names !== null || wildcard !== prev.wildcard ? table.subscription(wildcard, names ?? prev.names) : prev;
  return { sub, changed };
}

/**
 * Where one type stands with the proxy (grpc-js-xds's client resource
 * status, seen from the server): REQUESTED (subscribed, nothing sent or
 * held yet), SENT (a response awaits its ACK), ACKED, NACKED. DOES_NOT_EXIST
 * is a client's verdict on one name: here a missing name is not held.
 */
export type ResourceStatus = 'REQUESTED' | 'SENT' | 'ACKED' | 'NACKED';

/** The status as the config dump and /v1/xds/connections show it. */
export type AckState = 'idle' | 'pending' | 'acked' | 'nacked';
const ACK_STATE: Readonly<Record<ResourceStatus, AckState>> = { REQUESTED: 'idle', SENT: 'pending', ACKED: 'acked', NACKED: 'nacked' };

export interface LastError {
  version: string | null;
  message: string;
  at: number;
}

/** What a request's response_nonce and error_detail were (the protocol-specific rest depends on it). */
export type Answer = 'ack' | 'nack' | 'stale' | 'stale-nack' | 'repeat';

/** The protocol state of one resource type on one stream; sotw.ts and delta.ts add how they track what the proxy holds. */
export class TypeState {
  sub: Subscription = NO_SUBSCRIPTION;
  status: ResourceStatus = 'REQUESTED';
  /** The set the proxy was last brought up to date with (by a response, or because nothing it subscribes to changed). */
  sentSet: ResourceSet | null = null;
  /** The version of the last response (SotW version_info; delta: of sentSet). */
  sentVersion: string | null = null;
  sentNonce: string | null = null;
  sentAt = 0;
  ackedSet: ResourceSet | null = null;
  /** The version the proxy last accepted. */
  ackedVersion: string | null = null;
  lastError: LastError | null = null;
  /** Needs a look at the next flush. */
  dirty = false;

  constructor(readonly kind: ResourceKind) {}

  /** A response bringing the proxy to `set` went out with `nonce`: its ACK or NACK is owed. */
  sent(set: ResourceSet, nonce: string): void {
    this.sentSet = set;
    this.sentVersion = set.version;
    this.sentNonce = nonce;
    this.sentAt = Date.now();
    this.status = 'SENT';
  }

  /** The proxy holds `set` without a response (it presented that version on a new stream). */
  holds(set: ResourceSet): void {
    this.sentSet = this.ackedSet = set;
    this.sentVersion = this.ackedVersion = set.version;
    this.status = 'ACKED';
  }

  /**
   * Applies a request's response_nonce and error_detail. Only the latest
   * response can be ACKed or NACKed; an answer to an older one is stale (the
   * newer one is on its way). `versionInfo`: what a SotW proxy says it
   * applied (delta requests carry none).
   */
  answer(nonce: string, errorDetail: { code?: number; message?: string } | null | undefined, versionInfo?: string): Answer {
    const nack = errorDetailMessage(errorDetail);
    if (nonce !== this.sentNonce) return nack === null ? 'stale' : 'stale-nack';
    if (nack !== null) {
      this.status = 'NACKED';
      this.lastError = { version: this.sentVersion, message: nack, at: Date.now() };
      return 'nack';
    }
    if (this.status !== 'SENT') return 'repeat';
    this.status = 'ACKED';
    this.ackedSet = this.sentSet;
    // What the proxy says it accepted, as a bounded copy (normally our own sentVersion).
    this.ackedVersion = versionInfo === undefined || versionInfo === this.sentVersion ? this.sentVersion : clientVersion(versionInfo);
    this.lastError = null;
    return 'ack';
  }
}

export interface TypeStatus {
  subscribed: '*' | string[];
  /** Version of the last response sent on this stream. */
  sentVersion: string | null;
  /** Version the proxy last accepted. */
  ackedVersion: string | null;
  state: AckState;
  lastError: LastError | null;
  /** Resources of the last accepted version that the proxy has (names and versions). */
  resources: Array<{ name: string; version: string }>;
}

/** What the config dump shows of one type; `resources`: what the proxy holds. */
export function typeStatus(st: TypeState, resources: TypeStatus['resources']): TypeStatus {
  return {
    subscribed: st.sub.wildcard ? '*' : [...st.sub.names].sort(),
    sentVersion: st.sentVersion,
    ackedVersion: st.ackedVersion,
    state: ACK_STATE[st.status],
    lastError: st.lastError,
    resources,
  };
}

/** google.rpc.Status from a request, reduced to its message (cut short: it is kept, shown and logged). */
export function errorDetailMessage(detail: { code?: number; message?: string } | null | undefined): string | null {
  if (!detail) return null;
  if ((detail.code ?? 0) === 0 && !detail.message) return null;
  return detail.message ? boundedString(detail.message, XDS_LIMITS.maxErrorDetailChars) : `code ${detail.code}`;
}

/** A version_info from a client, as kept (ours are short; a longer one can match none of them). */
export function clientVersion(v: string | null | undefined): string {
  return boundedString(v ?? '', XDS_LIMITS.maxVersionChars);
}
