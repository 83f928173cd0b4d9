/**
 * State-of-the-world xDS stream (ADS or one per-type service).
 * Per type it keeps the protocol state both stream kinds share
 * (protocol-state.ts: subscription, nonce, ACK status); it only ever holds
 * "which types need a look" as pending work, so a slow or silent proxy costs
 * a few flags, not a queue of responses.
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
import { XdsStream } from './stream';
import type { ResourceSet, Snapshot } from './snapshot';
import type { EncodedResource } from './encoded-resource';
import { sotwOutgoing, sotwResponseBody, type DiscoveryRequest } from './wire';
import { ADD_ORDER, REMOVE_ORDER, TypeState, clientVersion, isWildcardCapable, sotwSubscription, typeStatus, type Subscription, type TypeStatus } from './protocol-state';
import type { SotwBody } from './stream-caches';

class SotwTypeState extends TypeState {
  /** The encoded resource_names of the last request that set the subscription (a copy). */
  namesRaw: Buffer | null = null;
  /** Send even when nothing changed (a new or changed subscription is answered). */
  forceSend = false;
  /** version_info of the first request on this stream (a reconnecting proxy's current version). */
  presentedVersion: string | null = null;
  /**
   * EDS/RDS: the proxy holds every subscribed resource of sentSet (a full
   * response went out since the last subscription change and nothing was
   * NACKed since), so the next change may send only what changed.
   */
  incremental = false;
}

/** The response body for `set` under `sub`; with `from`, only what changed since that set. */
function sotwBody(kind: ResourceKind, set: ResourceSet, sub: Subscription, from: ResourceSet | null): SotwBody {
  const resources: EncodedResource[] = [];
  if (sub.wildcard) resources.push(...set.resources.values());
  else
    for (const name of sub.names) {
      const r = set.resources.get(name);
      if (r && (!from || from.resources.get(name)?.version !== r.version)) resources.push(r);
    }
  return { body: sotwResponseBody(set.version, TYPE_URL[kind], resources), count: resources.length };
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
    if (!st) this.types.set(kind, (st = new SotwTypeState(kind)));
    // The first request of a type on a stream answers no response of this stream.
    if (!first && req.response_nonce) {
      const answer = this.answer(st, req.response_nonce, req.error_detail, req.version_info);
      // After a NACK, even of an older response, what the proxy holds is not known exactly.
      if (answer === 'nack' || answer === 'stale-nack') st.incremental = false;
      if (answer === 'stale' || answer === 'stale-nack') return; // a reply to an older response: the newer one is on its way
    }
    if (this.updateSubscription(kind, st, req, first)) {
      // On a new stream, the version the proxy says it has: if that is still current, nothing is sent.
      if (first && req.version_info) st.presentedVersion = clientVersion(req.version_info);
      st.forceSend = isWildcardCapable(kind) || st.sub.names.size > 0;
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
    const sub = sotwSubscription(kind, first ? null : st.sub, req.resource_names ?? [], this.caches.subscriptions);
    if (sub === null) return false;
    st.sub = sub;
    return true;
  }

  protected onSnapshot(s: Snapshot): void {
    const prev = this.snapshot;
    this.snapshot = s;
    for (const [kind, st] of this.types) {
      if (s[kind] === st.sentSet) continue;
      if (this.touchesSubscription(st, st.sentSet, s[kind])) {
        st.dirty = true;
        if (prev && isWildcardCapable(kind) && this.removes(prev[kind], s[kind])) this.removalPending = true;
      }
    }
    this.scheduleFlush();
  }

  private removes(from: ResourceSet, to: ResourceSet): boolean {
    if (from === to) return false;
    for (const n of this.caches.changedBetween(from, to)) if (!to.resources.has(n)) return true;
    return false;
  }

  private touchesSubscription(st: SotwTypeState, sent: ResourceSet | null, next: ResourceSet): boolean {
    const { wildcard, names } = st.sub;
    if (sent === null) return wildcard || names.size > 0;
    if (wildcard) return sent.version !== next.version;
    if (sent === next) return false;
    const changed = this.caches.changedBetween(sent, next);
    if (changed.size === 0) return false;
    if (changed.size <= names.size) {
      for (const n of changed) if (names.has(n)) return true;
      return false;
    }
    for (const name of names) if (changed.has(name)) return true;
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
      if (st.sentSet === null && st.presentedVersion !== null && st.presentedVersion === set.version) {
        // Reconnect: the proxy already has exactly this version.
        st.holds(set);
        st.presentedVersion = null;
        st.forceSend = false;
        continue;
      }
      st.presentedVersion = null;
      if (!st.forceSend && !this.touchesSubscription(st, st.sentSet, set)) continue;
      st.forceSend = false;
      const from = st.incremental && !isWildcardCapable(kind) ? st.sentSet : null;
      // Shared by every stream of the view that holds the same set under the same subscription.
      const subKey = st.sub.wildcard ? '*' : st.sub.key;
      const key = from ? `${subKey}<${from.version}` : subKey;
      const { body, count } = this.caches.sotwBodies.get(set, key) ?? this.caches.sotwBodies.set(set, key, sotwBody(kind, set, st.sub, from));
      if (count === 0 && !isWildcardCapable(kind) && st.sentSet !== null) {
        // Nothing left to send for a named EDS/RDS subscription (SotW has no removal for them),
        // or only resources this proxy is not subscribed to changed.
        st.sentSet = set;
        continue;
      }
      if (!isWildcardCapable(kind) && !from) st.incremental = true;
      const nonce = this.nextNonce();
      const msg = sotwOutgoing(body, nonce);
      st.sent(set, nonce);
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
      out[kind] = typeStatus(st, acked ? acked.names.map((n) => ({ name: n, version: acked.set.resources.get(n)!.version })) : []);
    }
    return out;
  }

  ackedResources(kind: ResourceKind): { set: ResourceSet; names: string[] } | null {
    const st = this.types.get(kind);
    if (!st || !st.ackedSet) return null;
    const set = st.ackedSet;
    const names = st.sub.wildcard ? [...set.resources.keys()] : [...st.sub.names].filter((n) => set.resources.has(n));
    return { set, names };
  }
}
