/**
 * Incremental (delta) xDS stream. Per type it keeps the subscription and the
 * version of every resource the proxy has, so it sends only what changed and
 * names what went away. initial_resource_versions make a reconnect cheap.
 *
 * What the proxy has is kept compactly: in the common case it is exactly the
 * subscribed part of a ResourceSet that was sent (`base`), so a stream holds a
 * reference, not a map. Then what a stream must be sent for a new set depends
 * only on (base, new set, subscription): that diff and its encoded response
 * are computed once and shared by every stream of the view in the same state
 * (only the nonce is per stream). Anything else (initial_resource_versions,
 * a subscription change) is an explicit name -> version map until the next
 * send makes it a subscribed part of a set again.
 */
import { TYPE_URL, RESOURCE_KINDS, type ResourceKind } from './protos';
import { XdsStream } from './stream-base';
import type { ResourceSet, Snapshot } from './snapshot';
import { contentHash, type EncodedResource } from './resource';
import { deltaOutgoing, deltaParts, type DeltaDiscoveryRequest, type DeltaParts } from './wire';
import { ADD_ORDER, REMOVE_ORDER, errorDetailMessage, type TypeStatus } from './stream-common';

/** An immutable subscription, shared by the streams that subscribe to the same names in the same order. */
interface Subscription {
  readonly wildcard: boolean;
  /** Explicitly subscribed names, in subscription order. */
  readonly names: ReadonlySet<string>;
  /** Hash of wildcard + names in order: part of the shared diff cache key. */
  readonly key: string;
}

interface DeltaTypeState {
  sub: Subscription;
  /**
   * What the proxy has (as sent; a NACKed send is not resent): when `has` is
   * null, exactly the subscribed resources of `base` (nothing when base is
   * null); otherwise the explicit name -> version map.
   */
  base: ResourceSet | null;
  has: Map<string, string> | null;
  sentSet: ResourceSet | null;
  sentNonce: string | null;
  sentAt: number;
  ackedSet: ResourceSet | null;
  awaitingAck: boolean;
  lastError: { version: string | null; message: string; at: number } | null;
  dirty: boolean;
}

function isWildcardCapable(kind: ResourceKind): boolean {
  return kind === 'listener' || kind === 'cluster';
}

const subscriptions = new Map<string, Subscription>();
const MAX_SUBSCRIPTIONS = 4096;
const EMPTY_NAMES: ReadonlySet<string> = new Set();

function subscription(wildcard: boolean, names: ReadonlySet<string>): Subscription {
  const key = contentHash(`${wildcard ? '*' : ''}\n${[...names].join('\n')}`);
  const hit = subscriptions.get(key);
  if (hit && hit.wildcard === wildcard) return hit;
  const sub: Subscription = { wildcard, names: names.size === 0 ? EMPTY_NAMES : names, key };
  if (subscriptions.size >= MAX_SUBSCRIPTIONS) subscriptions.delete(subscriptions.keys().next().value as string);
  subscriptions.set(key, sub);
  return sub;
}
const NO_SUBSCRIPTION = subscription(false, EMPTY_NAMES);

/** The resources of `set` a subscription covers, in diff order. */
function* subscribed(set: ResourceSet, sub: Subscription): Iterable<EncodedResource> {
  if (sub.wildcard) {
    yield* set.resources.values();
    return;
  }
  for (const name of sub.names) {
    const r = set.resources.get(name);
    if (r) yield r;
  }
}

function subscribedCount(set: ResourceSet, sub: Subscription): number {
  if (sub.wildcard) return set.resources.size;
  let n = 0;
  for (const name of sub.names) if (set.resources.has(name)) n++;
  return n;
}

interface SharedDiff {
  send: EncodedResource[];
  removed: string[];
  parts: DeltaParts | null;
}

/** Diffs from (subscribed part of base) to set, shared by streams: set -> `${base version}|${subscription key}`. */
const diffCache = new WeakMap<ResourceSet, Map<string, SharedDiff>>();
const MAX_DIFFS_PER_SET = 64;

/** What a proxy holding exactly the subscribed part of `base` must be sent for `set`. */
function sharedDiff(base: ResourceSet | null, set: ResourceSet, sub: Subscription): SharedDiff {
  let perSet = diffCache.get(set);
  if (!perSet) diffCache.set(set, (perSet = new Map()));
  const key = `${base?.version ?? ''}|${sub.key}`;
  let d = perSet.get(key);
  if (!d) {
    const send: EncodedResource[] = [];
    for (const r of subscribed(set, sub)) if (base?.resources.get(r.name)?.version !== r.version) send.push(r);
    const removed: string[] = [];
    if (base) for (const r of subscribed(base, sub)) if (!set.resources.has(r.name)) removed.push(r.name);
    d = { send, removed: removed.sort(), parts: null };
    if (perSet.size >= MAX_DIFFS_PER_SET) perSet.delete(perSet.keys().next().value as string);
    perSet.set(key, d);
  }
  return d;
}

export class DeltaStream extends XdsStream<DeltaDiscoveryRequest> {
  readonly protocol = 'delta' as const;
  private readonly types = new Map<ResourceKind, DeltaTypeState>();
  /** The order of the send batch in progress (kept across the one-at-a-time writes of one batch). */
  private batchOrder: readonly ResourceKind[] | null = null;

  protected onRequest(req: DeltaDiscoveryRequest): void {
    const kind = this.kindOf(req.type_url);
    if (kind === undefined) return;
    if (!this.identify(req.node)) return;
    let st = this.types.get(kind);
    const first = st === undefined;
    if (!st) {
      st = {
        sub: NO_SUBSCRIPTION, base: null, has: null, sentSet: null, sentNonce: null, sentAt: 0,
        ackedSet: null, awaitingAck: false, lastError: null, dirty: false,
      };
      const initial = Object.entries(req.initial_resource_versions ?? {});
      if (initial.length > 0) st.has = new Map(initial);
      this.types.set(kind, st);
    }
    if (req.response_nonce) {
      if (req.response_nonce === st.sentNonce) {
        const nack = errorDetailMessage(req.error_detail);
        if (nack !== null) {
          st.awaitingAck = false;
          st.lastError = { version: st.sentSet?.version ?? null, message: nack, at: Date.now() };
          this.callbacks.onNack(this, kind, st.sentSet?.version ?? null, nack);
        } else if (st.awaitingAck) {
          st.awaitingAck = false;
          st.ackedSet = st.sentSet;
          st.lastError = null;
          this.callbacks.onAck(this, kind, st.sentSet?.version ?? '', Date.now() - st.sentAt);
        }
      } else {
        this.callbacks.onStale(this, kind);
      }
    }
    // Delta subscriptions are changes, valid whatever the nonce.
    const sub = req.resource_names_subscribe ?? [];
    const unsub = req.resource_names_unsubscribe ?? [];
    let changed = first;
    if (sub.length === 0 && unsub.length === 0 && !(first && isWildcardCapable(kind))) {
      if (changed) {
        st.dirty = true;
        this.scheduleFlush();
      }
      return;
    }
    // What the proxy has is about to be judged against another subscription: make it explicit.
    const has = this.materialize(st);
    let wildcard = st.sub.wildcard;
    let names: Set<string> | null = null; // copy on write: subscriptions are shared
    const own = (): Set<string> => (names ??= new Set(st.sub.names));
    if (first && sub.length === 0 && isWildcardCapable(kind)) wildcard = true; // legacy wildcard
    for (const name of sub) {
      if (name === '*') wildcard = true;
      else if (!(names ?? st.sub.names).has(name)) own().add(name);
      else continue;
      changed = true;
    }
    for (const name of unsub) {
      // The proxy forgets what it unsubscribes from; no removal is sent for it.
      if (name === '*') {
        wildcard = false;
        const current = names ?? st.sub.names;
        for (const n of [...has.keys()]) if (!current.has(n)) has.delete(n);
      } else {
        if ((names ?? st.sub.names).has(name)) own().delete(name);
        if (!wildcard) has.delete(name);
      }
      changed = true;
    }
    if (names !== null || wildcard !== st.sub.wildcard) st.sub = subscription(wildcard, names ?? st.sub.names);
    this.compact(st);
    if (changed) {
      st.dirty = true;
      this.scheduleFlush();
    }
  }

  /** The explicit map of what the proxy has (made from base when needed). */
  private materialize(st: DeltaTypeState): Map<string, string> {
    if (st.has) return st.has;
    const has = new Map<string, string>();
    if (st.base) for (const r of subscribed(st.base, st.sub)) has.set(r.name, r.version);
    st.has = has;
    st.base = null;
    return has;
  }

  /** Back to the compact form when the explicit map holds nothing (nothing is had). */
  private compact(st: DeltaTypeState): void {
    if (st.has && st.has.size === 0) {
      st.has = null;
      st.base = null;
    }
  }

  protected onSnapshot(s: Snapshot): void {
    this.snapshot = s;
    for (const [kind, st] of this.types) if (s[kind] !== st.sentSet) st.dirty = true;
    this.scheduleFlush();
  }

  /** The diff against an explicit map (initial_resource_versions, subscription changes). */
  private explicitDiff(st: DeltaTypeState, has: Map<string, string>, set: ResourceSet): { send: EncodedResource[]; removed: string[] } {
    const send: EncodedResource[] = [];
    const removed: string[] = [];
    const { wildcard, names } = st.sub;
    if (wildcard) {
      for (const r of set.resources.values()) if (has.get(r.name) !== r.version) send.push(r);
    }
    for (const name of names) {
      if (wildcard && set.resources.has(name)) continue;
      const r = set.resources.get(name);
      if (r) {
        if (has.get(name) !== r.version) send.push(r);
      } else if (has.has(name)) removed.push(name);
    }
    for (const name of has.keys()) {
      if (!set.resources.has(name) && (wildcard && !names.has(name))) removed.push(name);
    }
    return { send, removed: removed.sort() };
  }

  /** Whether the proxy has a resource that is not in `set` (a removal is coming). */
  private hasAnyNotIn(st: DeltaTypeState, set: ResourceSet): boolean {
    if (st.has) {
      for (const n of st.has.keys()) if (!set.resources.has(n)) return true;
      return false;
    }
    return st.base !== null && sharedDiff(st.base, set, st.sub).removed.length > 0;
  }

  protected flush(): void {
    if (this.closed || this.inFlight || !this.snapshot) return;
    if (!this.mayWrite()) return;
    if (this.batchOrder === null) {
      let removing = false;
      for (const [kind, st] of this.types) {
        if (st.dirty && isWildcardCapable(kind) && this.hasAnyNotIn(st, this.snapshot[kind])) removing = true;
      }
      this.batchOrder = removing ? REMOVE_ORDER : ADD_ORDER;
    }
    for (const kind of this.batchOrder) {
      const st = this.types.get(kind);
      if (!st || !st.dirty) continue;
      st.dirty = false;
      const set = this.snapshot[kind];
      st.sentSet = set;
      let send: readonly EncodedResource[];
      let removed: readonly string[];
      let shared: SharedDiff | null = null;
      if (st.has === null) {
        shared = sharedDiff(st.base, set, st.sub);
        ({ send, removed } = shared);
        // The proxy now has exactly the subscribed part of this set.
        st.base = set;
      } else {
        const has = st.has;
        ({ send, removed } = this.explicitDiff(st, has, set));
        for (const r of send) has.set(r.name, r.version);
        for (const name of removed) has.delete(name);
        if (has.size === subscribedCount(set, st.sub)) {
          // Every subscribed resource of the set is had at its version, and nothing else.
          st.has = null;
          st.base = set;
        }
      }
      if (send.length === 0 && removed.length === 0) continue;
      const parts = shared ? (shared.parts ??= deltaParts(set.version, TYPE_URL[kind], send, removed)) : deltaParts(set.version, TYPE_URL[kind], send, removed);
      const nonce = this.nextNonce();
      const msg = deltaOutgoing(parts, nonce);
      st.sentNonce = nonce;
      st.sentAt = Date.now();
      st.awaitingAck = true;
      this.callbacks.onResponse(this, kind, set.version, msg.length, send.length, removed.length);
      this.send(msg);
      return;
    }
    this.batchOrder = null;
  }

  /** name -> version of everything the proxy has of one type. */
  private hasEntries(st: DeltaTypeState): Array<[string, string]> {
    if (st.has) return [...st.has.entries()];
    if (!st.base) return [];
    return [...subscribed(st.base, st.sub)].map((r) => [r.name, r.version]);
  }

  status(): Partial<Record<ResourceKind, TypeStatus>> {
    const out: Partial<Record<ResourceKind, TypeStatus>> = {};
    for (const kind of RESOURCE_KINDS) {
      const st = this.types.get(kind);
      if (!st) continue;
      out[kind] = {
        subscribed: st.sub.wildcard ? '*' : [...st.sub.names].sort(),
        sentVersion: st.sentSet?.version ?? null,
        ackedVersion: st.ackedSet?.version ?? null,
        state: st.lastError && !st.awaitingAck ? 'nacked' : st.awaitingAck ? 'pending' : st.ackedSet ? 'acked' : 'idle',
        lastError: st.lastError,
        resources: this.hasEntries(st).sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, version]) => ({ name, version })),
      };
    }
    return out;
  }

  ackedResources(kind: ResourceKind): { set: ResourceSet; names: string[] } | null {
    const st = this.types.get(kind);
    if (!st || !st.ackedSet) return null;
    const set = st.ackedSet;
    return { set, names: this.hasEntries(st).filter(([n, v]) => set.resources.get(n)?.version === v).map(([n]) => n).sort() };
  }
}
