/**
 * State-of-the-world xDS stream (ADS or one per-type service).
 * Per type it tracks the subscription, what was sent and what was ACKed;
 * it only ever holds "which types need a look" as pending work, so a slow or
 * silent proxy costs a few flags, not a queue of responses.
 *
 * Listeners and clusters are state-of-the-world in the strict sense: every
 * response carries every subscribed resource (one left out is deleted).
 * ClusterLoadAssignments and RouteConfigurations are not (xDS protocol,
 * "Grouping resources into responses"; Envoy and gRPC update only the
 * resources a response names): once a proxy holds the full subscribed set, a
 * change sends only the resources whose version changed. A one-endpoint change
 * is then one assignment per proxy, not the whole EDS set. A full set is sent
 * again on a new stream, a subscription change, and after any NACK.
 */
import { TYPE_URL, RESOURCE_KINDS, type ResourceKind } from './protos';
import { XdsStream } from './stream-base';
import { changedNames, type ResourceSet, type Snapshot } from './snapshot';
import { contentHash, type EncodedResource } from './resource';
import { sotwOutgoing, sotwResponseBody, type DiscoveryRequest } from './wire';
import { ADD_ORDER, REMOVE_ORDER, errorDetailMessage, type TypeStatus } from './stream-common';

interface SotwTypeState {
  wildcard: boolean;
  names: string[]; // sorted, deduplicated
  subKey: string; // '*' or a hash of names: the key of the shared response body cache
  /** The encoded resource_names of the last request that set the subscription (a copy). */
  namesRaw: Buffer | null;
  sentSet: ResourceSet | null;
  sentVersion: string | null;
  sentNonce: string | null;
  sentAt: number;
  ackedSet: ResourceSet | null;
  ackedVersion: string | null;
  awaitingAck: boolean;
  lastError: { version: string | null; message: string; at: number } | null;
  dirty: boolean;
  forceSend: boolean;
  /** version_info of the first request on this stream (a reconnecting proxy's current version). */
  clientVersion: string | null;
  /**
   * EDS/RDS: the proxy holds every subscribed resource of sentSet (a full
   * response went out since the last subscription change and nothing was
   * NACKed since), so the next change may send only what changed.
   */
  incremental: boolean;
}

/** Response bodies shared by every stream that receives the same resources at the same version. */
interface CachedBody {
  body: Buffer;
  /** How many resources it carries. */
  count: number;
}
const bodyCache = new WeakMap<ResourceSet, Map<string, CachedBody>>();
const MAX_BODIES_PER_SET = 64;

function cachedBody(set: ResourceSet, subKey: string, build: () => CachedBody): CachedBody {
  let perSet = bodyCache.get(set);
  if (!perSet) bodyCache.set(set, (perSet = new Map()));
  let body = perSet.get(subKey);
  if (!body) {
    body = build();
    if (perSet.size >= MAX_BODIES_PER_SET) perSet.delete(perSet.keys().next().value as string);
    perSet.set(subKey, body);
  }
  return body;
}

/** Sorted name lists shared by the streams that subscribe to the same names (by subscription key). */
const nameLists = new Map<string, string[]>();
const MAX_NAME_LISTS = 4096;
function sharedNames(subKey: string, names: string[]): string[] {
  const hit = nameLists.get(subKey);
  if (hit && hit.length === names.length && hit.every((n, i) => n === names[i])) return hit;
  if (nameLists.size >= MAX_NAME_LISTS) nameLists.delete(nameLists.keys().next().value as string);
  nameLists.set(subKey, names);
  return names;
}

/**
 * Names that differ between two sets of a view, computed once per pair and
 * shared by every stream that goes from one to the other: a snapshot change
 * costs each stream a look-up of the (few) changed names in its
 * subscription, not a comparison of all its names.
 */
const changes = new WeakMap<ResourceSet, WeakMap<ResourceSet, Set<string>>>();
function changedBetween(from: ResourceSet, to: ResourceSet): Set<string> {
  let byTo = changes.get(from);
  if (!byTo) changes.set(from, (byTo = new WeakMap()));
  let c = byTo.get(to);
  if (!c) byTo.set(to, (c = changedNames(from, to)));
  return c;
}
function removes(from: ResourceSet, to: ResourceSet): boolean {
  if (from === to) return false;
  for (const n of changedBetween(from, to)) if (!to.resources.has(n)) return true;
  return false;
}
/** Subscriptions as sets, shared by the streams that share a name list. */
const nameSets = new WeakMap<readonly string[], Set<string>>();
function nameSet(names: readonly string[]): Set<string> {
  let set = nameSets.get(names);
  if (!set) nameSets.set(names, (set = new Set(names)));
  return set;
}

function isWildcardCapable(kind: ResourceKind): boolean {
  return kind === 'listener' || kind === 'cluster';
}

export class SotwStream extends XdsStream<DiscoveryRequest> {
  readonly protocol = 'sotw' as const;
  private readonly types = new Map<ResourceKind, SotwTypeState>();
  private removalPending = false;
  /** The order of the send batch in progress (kept across the one-at-a-time writes of one batch). */
  private batchOrder: readonly ResourceKind[] | null = null;

  protected onRequest(req: DiscoveryRequest): void {
    const kind = this.kindOf(req.type_url);
    if (kind === undefined) return;
    if (!this.identify(req.node)) return;
    let st = this.types.get(kind);
    const first = st === undefined;
    if (!st) {
      st = {
        wildcard: false, names: [], subKey: '', namesRaw: null, sentSet: null, sentVersion: null, sentNonce: null, sentAt: 0,
        ackedSet: null, ackedVersion: null, awaitingAck: false, lastError: null, dirty: false, forceSend: false,
        clientVersion: null, incremental: false,
      };
      this.types.set(kind, st);
    }
    if (!first && req.response_nonce) {
      if (req.response_nonce !== st.sentNonce) {
        // A NACK of an older response: what the proxy holds is no longer known exactly.
        if (errorDetailMessage(req.error_detail) !== null) st.incremental = false;
        this.callbacks.onStale(this, kind);
        return; // a reply to an older response: the newer one is on its way
      }
      const nack = errorDetailMessage(req.error_detail);
      if (nack !== null) {
        st.awaitingAck = false;
        st.incremental = false;
        st.lastError = { version: st.sentVersion, message: nack, at: Date.now() };
        this.callbacks.onNack(this, kind, st.sentVersion, nack);
      } else if (st.awaitingAck) {
        st.awaitingAck = false;
        st.ackedSet = st.sentSet;
        st.ackedVersion = req.version_info;
        st.lastError = null;
        this.callbacks.onAck(this, kind, req.version_info, Date.now() - st.sentAt);
      }
    }
    if (this.updateSubscription(kind, st, req, first)) {
      // On a new stream, the version the proxy says it has: if that is still current, nothing is sent.
      if (first && req.version_info) st.clientVersion = req.version_info;
      st.forceSend = isWildcardCapable(kind) || st.names.length > 0;
      st.incremental = false;
      st.dirty = true;
      this.scheduleFlush();
    }
  }

  /** Returns true when the subscription changed (or is new). */
  private updateSubscription(kind: ResourceKind, st: SotwTypeState, req: DiscoveryRequest, first: boolean): boolean {
    // The common case (an ACK repeating the names of the previous request): the same bytes, nothing to decode.
    // (A subscription is a function of the previous one and the names, and applying the same names twice changes nothing.)
    if (!first && req.namesRaw && st.namesRaw && req.namesRaw.equals(st.namesRaw)) return false;
    st.namesRaw = req.namesRaw ? Buffer.from(req.namesRaw) : null;
    const requested = req.resource_names ?? [];
    if (!first && requested.length === st.names.length && (st.wildcard ? isWildcardCapable(kind) && requested.length === 0 : requested.every((n, i) => n === st.names[i]))) return false;
    const names = [...new Set(requested)].sort();
    const wildcard = names.includes('*') || (isWildcardCapable(kind) && names.length === 0 && (first || st.wildcard));
    const explicit = names.filter((n) => n !== '*');
    if (!first && wildcard === st.wildcard && explicit.length === st.names.length && explicit.every((n, i) => n === st.names[i])) return false;
    st.wildcard = wildcard;
    st.subKey = wildcard ? '*' : contentHash(explicit.join('\n'));
    st.names = wildcard ? explicit : sharedNames(st.subKey, explicit);
    return true;
  }

  protected onSnapshot(s: Snapshot): void {
    const prev = this.snapshot;
    this.snapshot = s;
    for (const [kind, st] of this.types) {
      if (s[kind] === st.sentSet) continue;
      if (this.touchesSubscription(st, st.sentSet, s[kind])) {
        st.dirty = true;
        if (prev && isWildcardCapable(kind) && removes(prev[kind], s[kind])) this.removalPending = true;
      }
    }
    this.scheduleFlush();
  }

  private touchesSubscription(st: SotwTypeState, sent: ResourceSet | null, next: ResourceSet): boolean {
    if (sent === null) return st.wildcard || st.names.length > 0;
    if (st.wildcard) return sent.version !== next.version;
    if (sent === next) return false;
    const changed = changedBetween(sent, next);
    if (changed.size === 0) return false;
    if (changed.size <= st.names.length) {
      const names = nameSet(st.names);
      for (const n of changed) if (names.has(n)) return true;
      return false;
    }
    for (const name of st.names) if (changed.has(name)) return true;
    return false;
  }

  /**
   * Sends what is pending, newest snapshot only, in dependency order,
   * respecting flow control: one response at a time per stream, the next
   * only once HTTP/2 has taken the previous one (so a slow reader holds at
   * most one response, and newer snapshots replace what was not sent yet).
   */
  protected flush(): void {
    if (this.closed || this.inFlight || !this.snapshot) return;
    if (!this.mayWrite()) return;
    if (this.batchOrder === null) {
      this.batchOrder = this.removalPending ? REMOVE_ORDER : ADD_ORDER;
      this.removalPending = false;
    }
    for (const kind of this.batchOrder) {
      const st = this.types.get(kind);
      if (!st || !st.dirty) continue;
      st.dirty = false;
      const set = this.snapshot[kind];
      if (st.sentSet === null && st.clientVersion !== null && st.clientVersion === set.version) {
        // Reconnect: the proxy already has exactly this version.
        st.sentSet = st.ackedSet = set;
        st.sentVersion = st.ackedVersion = set.version;
        st.clientVersion = null;
        st.forceSend = false;
        continue;
      }
      st.clientVersion = null;
      if (!st.forceSend && !this.touchesSubscription(st, st.sentSet, set)) continue;
      st.forceSend = false;
      const from = st.incremental && !isWildcardCapable(kind) ? st.sentSet : null;
      // Shared by every stream of the view that holds the same set under the same subscription.
      const { body, count } = cachedBody(set, from ? `${st.subKey}<${from.version}` : st.subKey, () => {
        const resources: EncodedResource[] = [];
        if (st.wildcard) resources.push(...set.resources.values());
        else for (const name of st.names) {
          const r = set.resources.get(name);
          if (r && (!from || from.resources.get(name)?.version !== r.version)) resources.push(r);
        }
        return { body: sotwResponseBody(set.version, TYPE_URL[kind], resources), count: resources.length };
      });
      if (count === 0 && !isWildcardCapable(kind) && st.sentSet !== null) {
        // Nothing left to send for a named EDS/RDS subscription (SotW has no removal for them),
        // or only resources this proxy is not subscribed to changed.
        st.sentSet = set;
        continue;
      }
      if (!isWildcardCapable(kind) && !from) st.incremental = true;
      const nonce = this.nextNonce();
      const msg = sotwOutgoing(body, nonce);
      st.sentSet = set;
      st.sentVersion = set.version;
      st.sentNonce = nonce;
      st.sentAt = Date.now();
      st.awaitingAck = true;
      this.callbacks.onResponse(this, kind, set.version, msg.length, count, 0);
      this.send(msg);
      return;
    }
    this.batchOrder = null;
  }

  status(): Partial<Record<ResourceKind, TypeStatus>> {
    const out: Partial<Record<ResourceKind, TypeStatus>> = {};
    for (const kind of RESOURCE_KINDS) {
      const st = this.types.get(kind);
      if (!st) continue;
      const acked = this.ackedResources(kind);
      out[kind] = {
        subscribed: st.wildcard ? '*' : st.names,
        sentVersion: st.sentVersion,
        ackedVersion: st.ackedVersion,
        state: st.lastError && !st.awaitingAck ? 'nacked' : st.awaitingAck ? 'pending' : st.ackedVersion ? 'acked' : 'idle',
        lastError: st.lastError,
        resources: acked ? acked.names.map((n) => ({ name: n, version: acked.set.resources.get(n)!.version })) : [],
      };
    }
    return out;
  }

  ackedResources(kind: ResourceKind): { set: ResourceSet; names: string[] } | null {
    const st = this.types.get(kind);
    if (!st || !st.ackedSet) return null;
    const set = st.ackedSet;
    const names = st.wildcard ? [...set.resources.keys()] : st.names.filter((n) => set.resources.has(n));
    return { set, names };
  }
}
