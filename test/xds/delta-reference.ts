/**
 * The delta stream as it was before per-stream state became compact and diffs
 * shared (commit 25e4896): the reference the equivalence test compares the
 * current DeltaStream with, byte for byte. Not used by the server.
 */
import { TYPE_URL, RESOURCE_KINDS, type ResourceKind } from '../../src/xds/protos';
import { XdsStream } from '../../src/xds/stream';
import type { ResourceSet, Snapshot } from '../../src/xds/snapshot';
import type { EncodedResource } from '../../src/xds/encoded-resource';
import { Writer } from 'protobufjs';
import type { DeltaDiscoveryRequest } from '../../src/xds/wire';
import { ADD_ORDER, REMOVE_ORDER, errorDetailMessage, type TypeStatus } from '../../src/xds/protocol-state';

const CONTROL_PLANE_ID = 'edge-xds';

// The response encoder as it was (src/xds/wire.ts at 25e4896).
function stringField(w: Writer, field: number, value: string): void {
  if (value.length > 0) w.uint32((field << 3) | 2).string(value);
}
let controlPlaneField: Buffer | undefined;
/** config.core.v3.ControlPlane { identifier = 1 }, as field `fieldNo`. */
function controlPlane(fieldNo: number): Buffer {
  if (!controlPlaneField) {
    const cp = Writer.create()
      .uint32((1 << 3) | 2)
      .string(CONTROL_PLANE_ID)
      .finish();
    controlPlaneField = Buffer.from(cp);
  }
  return Buffer.from(
    Writer.create()
      .uint32((fieldNo << 3) | 2)
      .bytes(controlPlaneField)
      .finish(),
  );
}
let deltaControlPlane: Buffer | undefined;
function deltaResponse(systemVersion: string, typeUrl: string, resources: readonly EncodedResource[], removed: readonly string[], nonce: string): Buffer {
  const head = Writer.create();
  stringField(head, 1, systemVersion);
  const tail = Writer.create();
  stringField(tail, 4, typeUrl);
  stringField(tail, 5, nonce);
  for (const name of removed) tail.uint32((6 << 3) | 2).string(name);
  deltaControlPlane ??= controlPlane(7);
  return Buffer.concat([head.finish(), ...resources.map((r) => r.deltaField), tail.finish(), deltaControlPlane]);
}

interface DeltaTypeState {
  wildcard: boolean;
  names: Set<string>;
  /** What the proxy has: name -> version (as sent; a NACKed send is not resent). */
  has: Map<string, string>;
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

export class ReferenceDeltaStream extends XdsStream<DeltaDiscoveryRequest> {
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
        wildcard: false,
        names: new Set(),
        has: new Map(),
        sentSet: null,
        sentNonce: null,
        sentAt: 0,
        ackedSet: null,
        awaitingAck: false,
        lastError: null,
        dirty: false,
      };
      for (const [name, version] of Object.entries(req.initial_resource_versions ?? {})) st.has.set(name, version);
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
    if (first && sub.length === 0 && isWildcardCapable(kind)) st.wildcard = true; // legacy wildcard
    for (const name of sub) {
      if (name === '*') st.wildcard = true;
      else if (!st.names.has(name)) st.names.add(name);
      else continue;
      changed = true;
    }
    for (const name of unsub) {
      // The proxy forgets what it unsubscribes from; no removal is sent for it.
      if (name === '*') {
        st.wildcard = false;
        for (const n of [...st.has.keys()]) if (!st.names.has(n)) st.has.delete(n);
      } else {
        st.names.delete(name);
        if (!st.wildcard) st.has.delete(name);
      }
      changed = true;
    }
    if (changed) {
      st.dirty = true;
      this.scheduleFlush();
    }
  }

  protected onSnapshot(s: Snapshot): void {
    this.snapshot = s;
    for (const [kind, st] of this.types) if (s[kind] !== st.sentSet) st.dirty = true;
    this.scheduleFlush();
  }

  private diff(st: DeltaTypeState, set: ResourceSet): { send: EncodedResource[]; removed: string[] } {
    const send: EncodedResource[] = [];
    const removed: string[] = [];
    if (st.wildcard) {
      for (const r of set.resources.values()) if (st.has.get(r.name) !== r.version) send.push(r);
    }
    for (const name of st.names) {
      if (st.wildcard && set.resources.has(name)) continue;
      const r = set.resources.get(name);
      if (r) {
        if (st.has.get(name) !== r.version) send.push(r);
      } else if (st.has.has(name)) removed.push(name);
    }
    for (const name of st.has.keys()) {
      if (!set.resources.has(name) && st.wildcard && !st.names.has(name)) removed.push(name);
    }
    return { send, removed: removed.sort() };
  }

  protected flush(): void {
    if (this.closed || this.inFlight || !this.snapshot) return;
    if (this.batchOrder === null) {
      const pending = [...this.types.entries()].filter(([, st]) => st.dirty);
      const removing = pending.some(([kind, st]) => isWildcardCapable(kind) && [...st.has.keys()].some((n) => !this.snapshot![kind].resources.has(n)));
      this.batchOrder = removing ? REMOVE_ORDER : ADD_ORDER;
    }
    for (const kind of this.batchOrder) {
      const st = this.types.get(kind);
      if (!st || !st.dirty) continue;
      st.dirty = false;
      const set = this.snapshot[kind];
      const { send, removed } = this.diff(st, set);
      st.sentSet = set;
      if (send.length === 0 && removed.length === 0) continue;
      for (const r of send) st.has.set(r.name, r.version);
      for (const name of removed) st.has.delete(name);
      const nonce = this.nextNonce();
      const msg = deltaResponse(set.version, TYPE_URL[kind], send, removed, nonce);
      st.sentNonce = nonce;
      st.sentAt = Date.now();
      st.awaitingAck = true;
      this.callbacks.onResponse(this, kind, set.version, msg.length, send.length, removed.length);
      // One response at a time: the next once HTTP/2 has taken this one (flow control, bounded buffering).
      this.inFlight = true;
      this.call.write(msg, () => {
        this.inFlight = false;
        this.scheduleFlush();
      });
      return;
    }
    this.batchOrder = null;
  }

  status(): Partial<Record<ResourceKind, TypeStatus>> {
    const out: Partial<Record<ResourceKind, TypeStatus>> = {};
    for (const kind of RESOURCE_KINDS) {
      const st = this.types.get(kind);
      if (!st) continue;
      out[kind] = {
        subscribed: st.wildcard ? '*' : [...st.names].sort(),
        sentVersion: st.sentSet?.version ?? null,
        ackedVersion: st.ackedSet?.version ?? null,
        state: st.lastError && !st.awaitingAck ? 'nacked' : st.awaitingAck ? 'pending' : st.ackedSet ? 'acked' : 'idle',
        lastError: st.lastError,
        resources: [...st.has.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, version]) => ({ name, version })),
      };
    }
    return out;
  }

  ackedResources(kind: ResourceKind): { set: ResourceSet; names: string[] } | null {
    const st = this.types.get(kind);
    if (!st || !st.ackedSet) return null;
    const set = st.ackedSet;
    return { set, names: [...st.has.keys()].filter((n) => set.resources.get(n)?.version === st.has.get(n)).sort() };
  }
}
