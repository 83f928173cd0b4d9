/**
 * The relay's one stream to the global tier: connects to the upstreams in
 * order (with backoff), says hello, watches the relay's views, delivers the
 * outbox in order, heartbeats for the relay, and tells the relay when it is in
 * sync (the global tier has applied everything that was pending at connect).
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../observability/logger';
import type { EdgeNode, NodeRegistration } from '../domain';
import type { Outbox } from './outbox';
import { relaySyncClient, type GlobalMessage__Output, type RelayMessage, type RelaySyncClient, type ViewState, type ViewUpdate__Output } from './protocol';

export interface UpstreamLinkOptions {
  /** host:port of the global tier's xDS port, in order of preference. */
  upstreams: string[];
  /** The relay's own registration (read at each connect: ports are known only once bound). */
  registration: () => NodeRegistration;
  heartbeatIntervalMs: number;
  outbox: Outbox;
  logger: Logger;
  /** What the relay holds of a view (so only what differs is sent). */
  haveOf(view: string): ViewState['have'];
  onView(update: ViewUpdate__Output): void;
  onNodes(full: boolean, nodes: EdgeNode[], removed: string[]): void;
  onDisconnected(): void;
  onInSync(): void;
  /** The global tier's view of our position was ahead of ours: a new epoch was started and everything pending is resent. */
  onEpochReset?(from: string, to: string, globalSeq: number, ours: number): void;
  /** Secure mode: TLS credentials for each connection (read at each connect, so renewed certificate files are used). */
  credentials?: () => grpc.ChannelCredentials;
  /** Secure mode: the global tier's token hashes and revocations (CredentialSnapshot JSON). */
  onCredentials?(snapshotJson: string): void;
}

const MAX_IN_FLIGHT = 2000;

export class UpstreamLink {
  private readonly log: Logger;
  private client: RelaySyncClient | null = null;
  private call: grpc.ClientDuplexStream<RelayMessage, GlobalMessage__Output> | null = null;
  private index = 0;
  private backoffMs = 200;
  private closed = false;
  private connected = false;
  private inSync = false;
  private syncTarget = 0;
  private sentSeq = 0;
  private inFlight = 0;
  private pumping = false;
  private readonly views = new Set<string>();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly offEnqueued: () => void;
  private connectedTo: string | null = null;

  constructor(private readonly opts: UpstreamLinkOptions) {
    if (opts.upstreams.length === 0) throw new Error('a relay needs at least one --upstream');
    this.log = opts.logger.child({ component: 'upstream' });
    this.offEnqueued = opts.outbox.onEnqueued(() => void this.pump());
  }

  start(): void {
    this.connect();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  get upstream(): string | null {
    return this.connectedTo;
  }

  watch(view: string): void {
    this.views.add(view);
    if (this.connected) this.send({ watch: { views: [{ view, have: this.opts.haveOf(view) }] } });
  }

  unwatch(view: string): void {
    if (!this.views.delete(view)) return;
    if (this.connected) this.send({ unwatch: { views: [view] } });
  }

  private send(m: RelayMessage): void {
    this.call?.write(m);
  }

  private connect(): void {
    if (this.closed) return;
    const target = this.opts.upstreams[this.index % this.opts.upstreams.length]!;
    this.client?.close();
    this.client = relaySyncClient(target, this.opts.credentials?.());
    const call = this.client.Sync();
    this.call = call;
    this.inSync = false;
    this.connected = false;
    this.firstAck = true;
    this.syncTarget = 0;
    this.sentSeq = 0;
    this.inFlight = 0;
    call.on('data', (m: GlobalMessage__Output) => {
      if (!this.connected) this.onConnected(target);
      this.onMessage(m);
    });
    const lost = (why: string) => {
      if (this.call !== call) return;
      this.call = null;
      this.onLost(target, why);
    };
    call.on('error', (err: Error) => lost(err.message));
    call.on('end', () => lost('stream ended'));
    void this.hello(call);
  }

  private async hello(call: grpc.ClientDuplexStream<RelayMessage, GlobalMessage__Output>): Promise<void> {
    const highWater = await this.opts.outbox.maxAssigned();
    if (this.call !== call) return;
    this.send({ hello: { registration_json: JSON.stringify({ ...this.opts.registration(), role: 'relay' }), epoch: this.opts.outbox.epoch, high_water: highWater } });
  }

  private onConnected(target: string): void {
    this.connected = true;
    this.connectedTo = target;
    this.backoffMs = 200;
    this.log.info({ upstream: target }, 'connected to the global tier');
    if (this.views.size > 0) this.send({ watch: { views: [...this.views].map((view) => ({ view, have: this.opts.haveOf(view) })) } });
    this.heartbeatTimer = setInterval(() => this.send({ heartbeat: {} }), this.opts.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  private onLost(target: string, why: string, immediately = false): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.inSync = false;
    this.connectedTo = null;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (wasConnected) {
      this.log.warn({ upstream: target, why }, 'lost the global tier');
      this.opts.onDisconnected();
    } else {
      this.log.debug({ upstream: target, why }, 'global tier unreachable');
    }
    if (this.closed) return;
    if (immediately) {
      this.retryTimer = setTimeout(() => this.connect(), 0);
      return;
    }
    this.index++; // try the next upstream
    const delay = this.backoffMs * (0.75 + Math.random() * 0.5);
    // Back within a heartbeat interval: a restarted global tier waits two intervals before it
    // judges nodes, so the relay's nodes are heard from again before that.
    this.backoffMs = Math.min(this.backoffMs * 2, Math.max(500, Math.min(5000, this.opts.heartbeatIntervalMs)));
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.retryTimer.unref();
  }

  private onMessage(m: GlobalMessage__Output): void {
    switch (m.msg) {
      case 'view':
        this.opts.onView(m.view!);
        return;
      case 'nodes': {
        const n = m.nodes!;
        this.opts.onNodes(
          n.full,
          n.nodes_json.map((j) => JSON.parse(j) as EdgeNode),
          n.removed,
        );
        return;
      }
      case 'watch_error':
        this.log.error({ view: m.watch_error!.view, error: m.watch_error!.message }, 'the global tier refused a view');
        return;
      case 'forward_ack':
        void this.onAck(Number(m.forward_ack!.seq));
        return;
      case 'applied':
        if (!this.inSync && Number(m.applied!.seq) >= this.syncTarget) this.markInSync();
        return;
      case 'credentials':
        this.opts.onCredentials?.(m.credentials!.snapshot_json);
        return;
    }
  }

  private firstAck = true;
  private resetting = false;
  private async onAck(seq: number): Promise<void> {
    const call = this.call;
    // An ack within what this stream sent is normal; only one beyond it needs the outbox's view of our position.
    if (seq > this.sentSeq) {
      const ours = Math.max(this.sentSeq, await this.opts.outbox.maxAssigned());
      if (this.call !== call || this.resetting) return;
      if (seq > ours) return this.resetEpoch(seq, ours);
    }
    if (this.resetting) return;
    if (this.firstAck) {
      // The answer to hello: the global tier's last applied seq. What is still pending must be applied first.
      this.firstAck = false;
      this.syncTarget = await this.opts.outbox.highWater();
      if (seq >= this.syncTarget) this.markInSync();
    }
    await this.opts.outbox.acknowledge(seq);
    this.inFlight = 0;
    void this.pump();
  }

  /**
   * The global tier says it applied ops we never assigned (a database restored
   * from an older copy, or a forged message under our id): trusting it would
   * drop our pending ops as duplicates. Nothing is acknowledged; a new epoch
   * starts and the stream is reopened, so every pending op is sent again.
   */
  private async resetEpoch(globalSeq: number, ours: number): Promise<void> {
    this.resetting = true;
    try {
      const from = this.opts.outbox.epoch;
      const to = await this.opts.outbox.newEpoch();
      this.log.warn({ globalSeq, ours, from, to }, "the global tier is ahead of this relay's outbox: new epoch, resending everything pending");
      this.opts.onEpochReset?.(from, to, globalSeq, ours);
      const call = this.call;
      if (call) {
        this.call = null;
        call.cancel();
        this.onLost(this.connectedTo ?? '', 'epoch reset', true);
      }
    } finally {
      this.resetting = false;
    }
  }

  private markInSync(): void {
    if (this.inSync || !this.connected) return;
    this.inSync = true;
    this.opts.onInSync();
  }

  /** Sends outbox entries after the last sent one, bounded in flight. */
  private async pump(): Promise<void> {
    if (this.pumping || !this.connected || this.firstAck) return;
    this.pumping = true;
    try {
      while (this.connected && this.inFlight < MAX_IN_FLIGHT) {
        const batch = await this.opts.outbox.after(this.sentSeq, 500);
        if (batch.length === 0) break;
        for (const e of batch) {
          const o = e.op;
          const forward =
            o.op === 'register'
              ? { seq: e.seq, register_json: JSON.stringify(o.registration) }
              : o.op === 'heartbeat'
                ? { seq: e.seq, heartbeat: { node_id: o.nodeId, input_json: JSON.stringify(o.input), received_at_ms: o.receivedAt } }
                : { seq: e.seq, deregister_id: o.nodeId };
          this.send({ forward });
          this.sentSeq = e.seq;
          this.inFlight++;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  close(): void {
    this.closed = true;
    this.offEnqueued();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const call = this.call;
    this.call = null;
    call?.cancel();
    this.client?.close();
  }
}
