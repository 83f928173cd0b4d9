/**
 * The global tier's side of the relay sync protocol: one session per relay
 * stream. It serves the relay's views (only what differs from what the relay
 * has, then changes), applies the ops the relay forwards (in order,
 * idempotently: a seq already applied is skipped), replicates the registry,
 * and keeps the relay registered as a node of role "relay".
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { Registry } from '../registry';
import type { Store } from '../store';
import { heartbeatSchema, registrationSchema, type EdgeNode, type RegistryChange } from '../domain';
import type { ViewProducer } from '../xds/source';
import type { Snapshot } from '../xds/snapshot';
import { RESOURCE_KINDS, type ResourceKind } from '../xds/protos';
import { relaySyncService, type Forward__Output, type GlobalMessage, type RelayMessage__Output, type TypeUpdate } from './protocol';

export interface RelaySyncServerOptions {
  registry: Registry;
  source: ViewProducer;
  store: Store;
  logger: Logger;
  metrics: Metrics;
  /** How often registry changes are sent to relays (coalesced per node). */
  replicaIntervalMs?: number;
  /**
   * Secure mode: whether this stream's client may sync as `relayId` (null:
   * at stream start, before hello: is it a relay at all). Null to admit, or
   * the status to end the stream with.
   */
  authorize?: (call: Call, relayId: string | null) => { code: grpc.status; details: string } | null;
  /** Secure mode: the token hashes and revocations relays check credentials with (CredentialSnapshot JSON), and their changes. */
  credentials?: { snapshotJson(): string; onChange(listener: () => void): () => void };
}

export type Call = grpc.ServerDuplexStream<RelayMessage__Output, GlobalMessage>;
/**
 * The applied position is scoped to the relay's epoch (its incarnation): a relay
 * that restarts, or whose database was restored, starts a new epoch at 0, so
 * nothing it sends is mistaken for an op already applied.
 */
const seqKey = (relayId: string, epoch: string): string => (epoch ? `relay_seq:${relayId}:${epoch}` : `relay_seq:${relayId}`);
const EPOCH_RE = /^[A-Za-z0-9-]{1,64}$/;

export class RelaySyncServer {
  private readonly sessions = new Set<RelaySession>();
  private readonly forwarded;

  constructor(readonly opts: RelaySyncServerOptions) {
    this.forwarded = opts.metrics.counter('edge_xds_relay_forwarded_total', 'Ops forwarded by relays and applied', ['op']);
  }

  /** For XdsServer's extraServices. */
  service(): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
    return {
      definition: relaySyncService(),
      implementation: {
        Sync: (call: Call) => {
          const s = new RelaySession(call, this.opts, (op) => this.forwarded.inc({ op }));
          this.sessions.add(s);
          call.on('close', () => this.sessions.delete(s));
        },
      },
    };
  }

  /** Ends the sync streams of a relay (revocation); returns how many. */
  endSessionsOf(relayId: string, details: string): number {
    const mine = [...this.sessions].filter((s) => s.relayId === relayId);
    for (const s of mine) s.terminate(grpc.status.PERMISSION_DENIED, details);
    return mine.length;
  }

  /** Relay ids with an open sync stream. */
  connectedRelays(): string[] {
    return [...this.sessions].map((s) => s.relayId).filter((id): id is string => id !== null);
  }
}

class RelaySession {
  relayId: string | null = null;
  private readonly views = new Map<string, { unwatch: () => void; sent: Map<string, string> }>();
  private appliedSeq = 0;
  private epoch = '';
  private helloSeen = false;
  private chain: Promise<void> = Promise.resolve();
  private queuedForwards = 0;
  private unsubscribe: (() => void) | null = null;
  private offCredentials: (() => void) | null = null;
  private replicaTimer: NodeJS.Timeout | null = null;
  private readonly changedNodes = new Set<string>();
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly call: Call,
    private readonly opts: RelaySyncServerOptions,
    private readonly countForward: (op: string) => void,
  ) {
    this.log = opts.logger.child({ component: 'relay-sync' });
    call.on('data', (m: RelayMessage__Output) => this.onMessage(m));
    call.on('end', () => {
      this.close();
      call.end();
    });
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
    const denied = opts.authorize?.(call, null) ?? null;
    if (denied) this.fail(denied.details, denied.code);
  }

  private send(m: GlobalMessage): void {
    if (!this.closed) this.call.write(m);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [view, v] of this.views) {
      v.unwatch();
      this.opts.source.release(view);
    }
    this.views.clear();
    this.unsubscribe?.();
    this.offCredentials?.();
    if (this.replicaTimer) clearInterval(this.replicaTimer);
    this.log.info({ relay: this.relayId }, 'relay sync stream closed');
  }

  terminate(code: grpc.status, details: string): void {
    this.fail(details, code);
  }

  private fail(details: string, code: grpc.status = grpc.status.INVALID_ARGUMENT): void {
    if (this.closed) return;
    this.log.warn({ relay: this.relayId, details }, 'relay sync stream refused');
    this.close();
    this.call.emit('error', Object.assign(new Error(details), { code, details }));
  }

  private onMessage(m: RelayMessage__Output): void {
    if (this.closed) return;
    if (m.msg !== 'hello' && !this.helloSeen) return this.fail('the first message on a relay sync stream must be hello');
    switch (m.msg) {
      case 'hello':
        if (this.helloSeen) return this.fail('hello may be sent only once per relay sync stream');
        this.helloSeen = true;
        return void this.enqueue(() => this.onHello(m.hello!.registration_json, m.hello!.epoch));
      case 'watch':
        for (const v of m.watch!.views) this.watchView(v.view, v.have);
        return;
      case 'unwatch':
        for (const view of m.unwatch!.views) this.unwatchView(view);
        return;
      case 'forward':
        this.queuedForwards++;
        return void this.enqueue(() => this.onForward(m.forward!));
      case 'heartbeat':
        if (this.relayId) void this.opts.registry.heartbeat(this.relayId, {});
        return;
    }
  }

  /** Ops are applied strictly in arrival order. */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn).catch((err: Error) => this.fail(err.message));
    return this.chain;
  }

  private async onHello(json: string, epoch: string): Promise<void> {
    if (epoch !== '' && !EPOCH_RE.test(epoch)) throw new Error('hello.epoch: must be 1-64 characters of [A-Za-z0-9-]');
    let body: unknown;
    try {
      body = JSON.parse(json);
    } catch {
      throw new Error('hello.registration_json: not valid JSON');
    }
    const parsed = registrationSchema.safeParse(body);
    if (!parsed.success) throw new Error(`relay registration: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
    const reg = { ...parsed.data, role: 'relay' as const };
    const denied = this.opts.authorize?.(this.call, reg.id) ?? null;
    if (denied) return this.fail(denied.details, denied.code);
    this.relayId = reg.id;
    this.epoch = epoch;
    await this.opts.registry.register(reg);
    this.appliedSeq = (await this.opts.store.getSetting<number>(seqKey(reg.id, epoch))) ?? 0;
    // Positions of the relay's earlier epochs are never needed again.
    if (epoch) await this.opts.store.deleteSettings(`relay_seq:${reg.id}:`, seqKey(reg.id, epoch));
    this.log.info({ relay: reg.id, region: reg.region, epoch, appliedSeq: this.appliedSeq }, 'relay connected');
    this.send({ nodes: { full: true, nodes_json: [...this.opts.registry.nodes().values()].map((n) => JSON.stringify(n)), removed: [] } });
    this.send({ forward_ack: { seq: this.appliedSeq } });
    const creds = this.opts.credentials;
    if (creds) {
      this.send({ credentials: { snapshot_json: creds.snapshotJson() } });
      this.offCredentials = creds.onChange(() => this.send({ credentials: { snapshot_json: creds.snapshotJson() } }));
    }
    this.unsubscribe = this.opts.registry.onChange((c: RegistryChange) => this.changedNodes.add(c.nodeId));
    this.replicaTimer = setInterval(() => this.sendReplicaChanges(), this.opts.replicaIntervalMs ?? 200);
    this.replicaTimer.unref();
  }

  private sendReplicaChanges(): void {
    if (this.changedNodes.size === 0) return;
    const nodes: string[] = [];
    const removed: string[] = [];
    for (const id of this.changedNodes) {
      const n = this.opts.registry.getNode(id);
      if (n) nodes.push(JSON.stringify(n));
      else removed.push(id);
    }
    this.changedNodes.clear();
    this.send({ nodes: { full: false, nodes_json: nodes, removed } });
  }

  private async onForward(f: Forward__Output): Promise<void> {
    this.queuedForwards--;
    // A refused or ended stream applies nothing (no relay id: nothing may be written under it).
    if (this.closed || this.relayId === null) return;
    const seq = Number(f.seq);
    if (seq > this.appliedSeq) {
      await this.apply(f);
      this.appliedSeq = seq;
    }
    if (this.queuedForwards > 0) return; // acknowledge once per burst
    await this.opts.store.putSetting(seqKey(this.relayId!, this.epoch), this.appliedSeq);
    const acked = this.appliedSeq;
    this.send({ forward_ack: { seq: acked } });
    // Once the views that include these ops are published, tell the relay.
    this.opts.source.afterFlush(() => this.send({ applied: { seq: acked } }));
  }

  private async apply(f: Forward__Output): Promise<void> {
    const r = this.opts.registry;
    switch (f.op) {
      case 'register_json': {
        const parsed = registrationSchema.safeParse(JSON.parse(f.register_json!));
        if (!parsed.success) {
          this.log.warn({ relay: this.relayId, seq: f.seq, issue: parsed.error.issues[0] }, 'forwarded registration rejected');
          return;
        }
        await r.register(parsed.data);
        this.countForward('register');
        return;
      }
      case 'heartbeat': {
        const hb = f.heartbeat!;
        const parsed = heartbeatSchema.safeParse(JSON.parse(hb.input_json || '{}'));
        const receivedAt = Number(hb.received_at_ms) || undefined;
        if (!parsed.success || !(await r.heartbeat(hb.node_id, parsed.data, receivedAt))) {
          this.log.debug({ relay: this.relayId, node: hb.node_id }, 'forwarded heartbeat for an unknown node (or invalid) skipped');
          return;
        }
        this.countForward('heartbeat');
        return;
      }
      case 'deregister_id':
        await r.deregister(f.deregister_id!);
        this.countForward('deregister');
        return;
    }
  }

  private watchView(view: string, have: Array<{ kind: string; name: string; version: string }>): void {
    if (this.views.has(view)) this.unwatchView(view);
    if (!this.opts.source.ensureView(view)) {
      this.send({ watch_error: { view, message: 'malformed view key' } });
      return;
    }
    const sent = new Map<string, string>(have.map((h) => [`${h.kind}\u0000${h.name}`, h.version]));
    const snapshot = this.opts.source.acquire(view);
    const unwatch = this.opts.source.watch(view, (s) => this.sendView(view, s, sent, false));
    this.views.set(view, { unwatch, sent });
    // null: the first build failed; the view follows through watch() once a build succeeds.
    if (snapshot) this.sendView(view, snapshot, sent, true);
  }

  private unwatchView(view: string): void {
    const v = this.views.get(view);
    if (!v) return;
    v.unwatch();
    this.opts.source.release(view);
    this.views.delete(view);
  }

  /** Sends what differs between `sent` (what the relay has) and the snapshot. */
  private sendView(view: string, s: Snapshot, sent: Map<string, string>, always: boolean): void {
    const types: TypeUpdate[] = [];
    for (const kind of RESOURCE_KINDS as readonly ResourceKind[]) {
      const set = s[kind];
      const resources = [];
      const removed: string[] = [];
      for (const r of set.resources.values()) {
        const key = `${kind}\u0000${r.name}`;
        if (sent.get(key) !== r.version) {
          resources.push({ name: r.name, version: r.version, body: r.bytes });
          sent.set(key, r.version);
        }
      }
      for (const key of [...sent.keys()]) {
        const [k, name] = key.split('\u0000') as [string, string];
        if (k === kind && !set.resources.has(name)) {
          removed.push(name);
          sent.delete(key);
        }
      }
      if (always || resources.length || removed.length) types.push({ kind, version: set.version, resources, removed });
    }
    if (types.length) this.send({ view: { view, types } });
  }
}

export type { EdgeNode };
