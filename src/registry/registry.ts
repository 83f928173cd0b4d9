/**
 * The Registry: the in-memory view of every node, kept in step with the
 * database. Every write goes through one lock so the in-memory view and the
 * database never disagree; listeners hear about a change only after it is
 * durable. Heartbeats are group-committed by a batcher.
 */
import type { Logger } from '../observability';
import { silentLogger } from '../observability';
import { GroupCommitBatcher, NewEvent, StateUpdate, Store, heartbeatToRow } from '../store';
import { sweepPeriodMs, sweepState } from './health';
import { DEFAULT_EWMA_ALPHA, foldHeartbeat } from './stats';
import type { EdgeNode, HeartbeatInput, NodeFilter, NodeRegistration, NodeState, RegistryChange, RegistryEvent, RegistryView, LastHeartbeat, SmoothedStats } from '../domain';
import { ServiceSummary, summarizeServices, matchesFilter } from './queries';

export interface RegistryOptions {
  store: Store;
  /** Expected heartbeat interval (ms); suspect after 2 missed, unhealthy after 3. */
  heartbeatIntervalMs: number;
  /** How long a deregistered node stays draining before removal (ms). */
  drainGraceMs: number;
  /** EWMA smoothing factor in (0,1]. Default 0.3. */
  ewmaAlpha?: number;
  /** Group commit: longest wait before a batch is written (ms). Default 5. */
  heartbeatBatchDelayMs?: number;
  /** Group commit: flush as soon as this many heartbeats wait. Default 1000. */
  heartbeatBatchMax?: number;
  logger?: Logger;
  /** Observes each heartbeat batch (metrics). */
  onHeartbeatBatch?: (size: number, durationMs: number, error?: unknown) => void;
  /** Clock (ms since epoch); tests may replace it. */
  now?: () => number;
  /**
   * Which nodes this registry's health sweep judges (default: all). A relay
   * judges only the nodes that heartbeat to it; the others' states come from
   * the global tier (see applyReplica).
   */
  sweeps?: (node: EdgeNode) => boolean;
  /**
   * Store-and-forward (relays): every accepted registration, heartbeat and
   * deregistration is also handed here, and the caller is answered only once
   * both this and the registry's own write are durable.
   */
  forward?: RegistryForwarder;
}

export interface RegistryForwarder {
  register(reg: NodeRegistration): Promise<void>;
  heartbeat(id: string, input: HeartbeatInput, at: number): Promise<void>;
  deregister(id: string): Promise<void>;
}

export interface RegisterResult {
  created: boolean;
  node: EdgeNode;
}

interface PendingHeartbeat {
  id: string;
  at: number;
  input: HeartbeatInput;
}

export class Registry implements RegistryView {
  private readonly map = new Map<string, EdgeNode>();
  private readonly listeners = new Set<(c: RegistryChange) => void>();
  private readonly batcher: GroupCommitBatcher<PendingHeartbeat, boolean>;
  private readonly log: Logger;
  private readonly alpha: number;
  private readonly now: () => number;
  private lock: Promise<unknown> = Promise.resolve();
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping = false;
  private startedAt = 0;
  private closed = false;

  private constructor(private readonly opts: RegistryOptions) {
    this.log = opts.logger ?? silentLogger();
    this.alpha = opts.ewmaAlpha ?? DEFAULT_EWMA_ALPHA;
    this.now = opts.now ?? Date.now;
    this.batcher = new GroupCommitBatcher<PendingHeartbeat, boolean>({
      write: (items) => this.exclusive(() => this.writeHeartbeats(items)),
      maxDelayMs: opts.heartbeatBatchDelayMs ?? 5,
      maxBatch: opts.heartbeatBatchMax ?? 1000,
      onBatch: opts.onHeartbeatBatch,
    });
  }

  /** Loads every node from the store and starts the health sweep. */
  static async open(opts: RegistryOptions): Promise<Registry> {
    const r = new Registry(opts);
    for (const n of await opts.store.loadNodes()) r.map.set(n.id, n);
    r.startedAt = r.now();
    const period = sweepPeriodMs(opts.heartbeatIntervalMs);
    r.sweepTimer = setInterval(() => void r.sweep().catch((err) => r.log.error({ err }, 'health sweep failed')), period);
    r.sweepTimer.unref();
    return r;
  }

  // ---- RegistryView -------------------------------------------------------

  nodes(): ReadonlyMap<string, EdgeNode> {
    return this.map;
  }

  getNode(id: string): EdgeNode | undefined {
    return this.map.get(id);
  }

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- commands -------------------------------------------------------------

  /** Registers a node, or re-registers it (same id): replaces its description, state healthy. */
  register(reg: NodeRegistration): Promise<RegisterResult> {
    return this.exclusive(async () => {
      this.assertOpen();
      const now = this.now();
      const prev = this.map.get(reg.id);
      const node: EdgeNode = {
        ...reg,
        services: reg.services.map((s) => ({ ...s })),
        capacity: { ...reg.capacity },
        labels: { ...reg.labels },
        location: { ...reg.location },
        state: 'healthy',
        registeredAt: prev?.registeredAt ?? now,
        updatedAt: now,
        lastHeartbeat: prev?.lastHeartbeat ?? null,
        stats: prev?.stats ?? null,
        drainUntil: null,
      };
      const detail: Record<string, unknown> = { created: prev === undefined, region: node.region, zone: node.zone, address: node.address };
      if (prev && prev.state !== 'healthy') detail.from = prev.state;
      await Promise.all([this.opts.store.saveNode(node, [{ at: now, nodeId: node.id, type: 'registered', detail }]), this.opts.forward?.register(reg)]);
      this.map.set(node.id, node);
      this.log.info({ nodeId: node.id, created: prev === undefined, from: prev?.state }, 'node registered');
      const services = unionNames(prev, node);
      this.emit({ what: 'node', nodeId: node.id, services, event: 'registered' });
      return { created: prev === undefined, node };
    });
  }

  /**
   * Records a heartbeat. Resolves true once it is durable, false when the node
   * is unknown. A suspect or unhealthy node becomes healthy again.
   */
  heartbeat(id: string, input: HeartbeatInput, receivedAt?: number): Promise<boolean> {
    if (!this.map.has(id)) return Promise.resolve(false);
    // A heartbeat forwarded by a relay keeps the time the relay received it (never in the future).
    const now = this.now();
    const at = receivedAt !== undefined && Number.isFinite(receivedAt) ? Math.min(now, receivedAt) : now;
    const local = this.batcher.submit({ id, at, input });
    if (!this.opts.forward) return local;
    return Promise.all([local, this.opts.forward.heartbeat(id, input, at)]).then(([ok]) => ok);
  }

  /**
   * Starts deregistration: the node goes to draining and is removed after the
   * drain grace. Returns the node (draining), or undefined when unknown.
   */
  deregister(id: string): Promise<EdgeNode | undefined> {
    return this.exclusive(async () => {
      this.assertOpen();
      const prev = this.map.get(id);
      if (!prev || prev.state === 'draining') return prev;
      const now = this.now();
      const drainUntil = now + this.opts.drainGraceMs;
      await Promise.all([
        this.opts.store.updateStates([{ nodeId: id, state: 'draining', drainUntil }], [{ at: now, nodeId: id, type: 'draining', detail: { from: prev.state, drainUntil } }]),
        this.opts.forward?.deregister(id),
      ]);
      const node: EdgeNode = { ...prev, state: 'draining', drainUntil };
      this.map.set(id, node);
      this.log.info({ nodeId: id, from: prev.state, drainUntil }, 'node draining');
      this.emit({ what: 'node', nodeId: id, services: node.services.map((s) => s.name), event: 'draining' });
      return node;
    });
  }

  /**
   * Takes node records as another tier has them (state, stats and last
   * heartbeat included) and removes the ones it no longer has. For relays: the
   * global tier's registry is replicated into the relay's, so the relay can
   * place proxies and compute config on its own while cut off.
   */
  applyReplica(nodes: EdgeNode[], removed: string[] = []): Promise<void> {
    return this.exclusive(async () => {
      this.assertOpen();
      const gone = removed.filter((id) => this.map.has(id));
      const heartbeats = nodes.filter((n) => n.lastHeartbeat && n.stats).map((n) => heartbeatToRow(n.id, n.lastHeartbeat!, n.stats!));
      await this.opts.store.saveReplica(nodes, heartbeats, gone);
      for (const id of gone) {
        const prev = this.map.get(id) as EdgeNode;
        this.map.delete(id);
        this.emit({ what: 'node', nodeId: id, services: prev.services.map((s) => s.name), event: 'deregistered' });
      }
      for (const n of nodes) {
        const prev = this.map.get(n.id);
        this.map.set(n.id, n);
        const services = unionNames(prev, n);
        if (!prev || prev.state !== n.state || prev.updatedAt !== n.updatedAt) {
          this.emit({ what: 'node', nodeId: n.id, services, event: n.state === 'draining' ? 'draining' : prev ? (n.state as 'healthy') : 'registered' });
        } else {
          this.emit({ what: 'heartbeat', nodeId: n.id, services });
        }
      }
    });
  }

  // ---- queries --------------------------------------------------------------

  list(filter: NodeFilter = {}): EdgeNode[] {
    const out: EdgeNode[] = [];
    for (const n of this.map.values()) if (matchesFilter(n, filter)) out.push(n);
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  services(): ServiceSummary[] {
    return summarizeServices(this.map.values());
  }

  events(sinceSeq: number, limit: number, nodeId?: string): Promise<RegistryEvent[]> {
    return this.opts.store.listEvents(sinceSeq, limit, nodeId);
  }

  // ---- lifecycle ------------------------------------------------------------

  /** Writes every queued heartbeat; resolves when durable. */
  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /** Stops the sweep, flushes pending heartbeats and waits for in-flight writes. Does not close the store. */
  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    await this.batcher.close();
    this.closed = true;
    await this.exclusive(async () => undefined);
    this.listeners.clear();
  }

  /** One pass of the health state machine (the timer calls this; tests may too). */
  sweep(): Promise<void> {
    if (this.sweeping || this.closed) return Promise.resolve();
    this.sweeping = true;
    return this.exclusive(() => this.sweepLocked()).finally(() => {
      this.sweeping = false;
    });
  }

  // ---- internals --------------------------------------------------------------

  private async sweepLocked(): Promise<void> {
    if (this.closed) return;
    const now = this.now();
    const states: StateUpdate[] = [];
    const events: NewEvent[] = [];
    const removals: EdgeNode[] = [];
    for (const n of this.map.values()) {
      if (n.state === 'draining') {
        if (n.drainUntil !== null && n.drainUntil <= now) {
          removals.push(n);
          events.push({ at: now, nodeId: n.id, type: 'deregistered', detail: { drainedSince: n.drainUntil - this.opts.drainGraceMs } });
        }
        continue;
      }
      if (this.opts.sweeps && !this.opts.sweeps(n)) continue;
      const to = sweepState(n, now, this.opts.heartbeatIntervalMs, this.startedAt);
      if (to === null) continue;
      const lastSeen = n.lastHeartbeat?.at ?? n.updatedAt;
      states.push({ nodeId: n.id, state: to, drainUntil: null });
      events.push({ at: now, nodeId: n.id, type: to as 'suspect' | 'unhealthy', detail: { from: n.state, lastSeen, silentMs: now - lastSeen } });
    }
    if (states.length === 0 && removals.length === 0) return;
    if (removals.length > 0) {
      await this.opts.store.deleteNodes(
        removals.map((n) => n.id),
        events.filter((e) => e.type === 'deregistered'),
      );
    }
    if (states.length > 0) {
      await this.opts.store.updateStates(
        states,
        events.filter((e) => e.type !== 'deregistered'),
      );
    }
    for (const n of removals) {
      this.map.delete(n.id);
      this.log.info({ nodeId: n.id }, 'node deregistered');
      this.emit({ what: 'node', nodeId: n.id, services: n.services.map((s) => s.name), event: 'deregistered' });
    }
    for (const s of states) {
      const prev = this.map.get(s.nodeId) as EdgeNode;
      this.map.set(s.nodeId, { ...prev, state: s.state });
      this.log.info({ nodeId: s.nodeId, from: prev.state, to: s.state }, 'node state changed');
      this.emit({ what: 'node', nodeId: s.nodeId, services: prev.services.map((x) => x.name), event: s.state as 'suspect' | 'unhealthy' });
    }
  }

  private async writeHeartbeats(items: PendingHeartbeat[]): Promise<boolean[]> {
    const results: boolean[] = new Array(items.length);
    const staged = new Map<string, { last: LastHeartbeat; stats: SmoothedStats }>();
    for (let i = 0; i < items.length; i++) {
      const { id, at, input } = items[i];
      const node = this.map.get(id);
      if (!node) {
        results[i] = false;
        continue;
      }
      const base = staged.get(id)?.stats ?? node.stats;
      const stats = foldHeartbeat(base, input, this.alpha);
      const last: LastHeartbeat = { at, load: { ...input.load }, network: { ...input.network } };
      staged.set(id, { last, stats });
      results[i] = true;
    }
    if (staged.size === 0) return results;
    const rows = [];
    const states: StateUpdate[] = [];
    const events: NewEvent[] = [];
    for (const [id, s] of staged) {
      rows.push(heartbeatToRow(id, s.last, s.stats));
      const node = this.map.get(id) as EdgeNode;
      if (node.state === 'suspect' || node.state === 'unhealthy') {
        states.push({ nodeId: id, state: 'healthy', drainUntil: null });
        events.push({ at: s.last.at, nodeId: id, type: 'healthy', detail: { from: node.state } });
      }
    }
    await this.opts.store.writeHeartbeats({ heartbeats: rows, states, events });
    const revived = new Set<string>();
    for (const st of states) revived.add(st.nodeId);
    for (const [id, s] of staged) {
      const prev = this.map.get(id) as EdgeNode;
      const state: NodeState = revived.has(id) ? 'healthy' : prev.state;
      this.map.set(id, { ...prev, state, lastHeartbeat: s.last, stats: s.stats });
    }
    for (const [id] of staged) {
      const node = this.map.get(id) as EdgeNode;
      const services = node.services.map((s) => s.name);
      if (revived.has(id)) {
        this.log.info({ nodeId: id, to: 'healthy' }, 'node state changed');
        this.emit({ what: 'node', nodeId: id, services, event: 'healthy' });
      } else {
        this.emit({ what: 'heartbeat', nodeId: id, services });
      }
    }
    return results;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private emit(change: RegistryChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.log.error({ err, change }, 'registry listener threw');
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new RegistryClosedError();
  }
}

export class RegistryClosedError extends Error {
  constructor() {
    super('registry is closed');
    this.name = 'RegistryClosedError';
  }
}

function unionNames(prev: EdgeNode | undefined, next: EdgeNode): string[] {
  const names = new Set<string>(next.services.map((s) => s.name));
  if (prev) for (const s of prev.services) names.add(s.name);
  return [...names].sort();
}
