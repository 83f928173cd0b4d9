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
import { XdsStream } from './stream';
import type { ResourceSet, Snapshot } from './snapshot';
import type { EncodedResource } from './encoded-resource';
import { deltaOutgoing, deltaParts, type DeltaDiscoveryRequest } from './wire';
import { ADD_ORDER, REMOVE_ORDER, TypeState, deltaSubscribes, deltaSubscription, isWildcardCapable, typeStatus, type Subscription, type TypeStatus } from './protocol-state';
import type { DeltaDiff, SharedStreamCaches } from './stream-caches';

class DeltaTypeState extends TypeState {
  /**
   * What the proxy has (as sent; a NACKed send is not resent): when `has` is
   * null, exactly the subscribed resources of `base` (nothing when base is
   * null); otherwise the explicit name -> version map.
   */
  base: ResourceSet | null = null;
  has: Map<string, string> | null = null;
}

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

/** What a proxy holding exactly the subscribed part of `base` must be sent for `set`, shared by the server's streams. */
function sharedDiff(caches: SharedStreamCaches, base: ResourceSet | null, set: ResourceSet, sub: Subscription): DeltaDiff {
  const key = `${base?.version ?? ''}|${sub.key}`;
  const hit = caches.deltaDiffs.get(set, key);
  if (hit) return hit;
  const send: EncodedResource[] = [];
  for (const r of subscribed(set, sub)) if (base?.resources.get(r.name)?.version !== r.version) send.push(r);
  const removed: string[] = [];
  if (base) for (const r of subscribed(base, sub)) if (!set.resources.has(r.name)) removed.push(r.name);
  return caches.deltaDiffs.set(set, key, { send, removed: removed.sort(), parts: null });
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
      st = new DeltaTypeState(kind);
      const initial = Object.entries(req.initial_resource_versions ?? {});
      if (initial.length > 0) st.has = new Map(initial);
      this.types.set(kind, st);
    }
    if (req.response_nonce) this.answer(st, req.response_nonce, req.error_detail);
    // Delta subscriptions are changes, valid whatever the nonce.
    const sub = req.resource_names_subscribe ?? [];
    const unsub = req.resource_names_unsubscribe ?? [];
    let changed = first;
    if (deltaSubscribes(kind, first, sub, unsub)) {
      // What the proxy has is about to be judged against another subscription: make it explicit.
      const next = deltaSubscription(kind, st.sub, first, sub, unsub, this.materialize(st), this.caches.subscriptions);
      st.sub = next.sub;
      changed ||= next.changed;
      this.compact(st);
    }
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
      if (!set.resources.has(name) && wildcard && !names.has(name)) removed.push(name);
    }
    return { send, removed: removed.sort() };
  }

  /** Whether the proxy has a resource that is not in `set` (a removal is coming). */
  private hasAnyNotIn(st: DeltaTypeState, set: ResourceSet): boolean {
    if (st.has) {
      for (const n of st.has.keys()) if (!set.resources.has(n)) return true;
      return false;
    }
    return st.base !== null && sharedDiff(this.caches, st.base, set, st.sub).removed.length > 0;
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
      // Delta versions are per resource: the proxy is up to date with the set whether or not anything is sent.
      st.sentSet = set;
      st.sentVersion = set.version;
      let send: readonly EncodedResource[];
      let removed: readonly string[];
      let shared: DeltaDiff | null = null;
      if (st.has === null) {
        shared = sharedDiff(this.caches, st.base, set, st.sub);
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
      st.sent(set, nonce);
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
      out[kind] = typeStatus(
        st,
        this.hasEntries(st)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([name, version]) => ({ name, version })),
      );
    }
    return out;
  }

  ackedResources(kind: ResourceKind): { set: ResourceSet; names: string[] } | null {
    const st = this.types.get(kind);
    if (!st || !st.ackedSet) return null;
    const set = st.ackedSet;
    return {
      set,
      names: this.hasEntries(st)
        .filter(([n, v]) => set.resources.get(n)?.version === v)
        .map(([n]) => n)
        .sort(),
    };
  }
}
