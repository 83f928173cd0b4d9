/**
 * The regional relay: everything that makes an edge-xds server a relay,
 * around the same registry, model and xDS server as the global tier.
 */
import type { Knex } from 'knex';
import type { Logger } from '../observability/logger';
import type { Registry, RegistryForwarder } from '../registry';
import type { EdgeNode, HeartbeatInput, NodeRegistration } from '../domain';
import type { ViewProducer } from '../xds/source';
import { encodedResource, type EncodedResource } from '../xds/encoded-resource';
import { resourceSet, emptySnapshot, type Snapshot } from '../xds/snapshot';
import { RESOURCE_KINDS, type ResourceKind } from '../xds/protos';
import { Outbox } from './outbox';
import { RelaySource } from './relay-source';
import { SnapshotStore, type StoredChange } from './snapshot-store';
import { UpstreamLink, type UpstreamLinkOptions } from './upstream';
import type { ViewState, ViewUpdate__Output } from './protocol';

/**
 * Which nodes talk to this relay. Their health is judged here (the sweep) and
 * the global tier's copy of them is not applied over ours, until the global
 * tier shows a heartbeat newer than the last one we received: then the node
 * talks to someone else (another relay) and the global tier's copy wins again.
 */
export class Ownership {
  private readonly lastContact = new Map<string, number>();
  touch(id: string, at = Date.now()): void {
    this.lastContact.set(id, Math.max(at, this.lastContact.get(id) ?? 0));
  }
  owns(id: string): boolean {
    return this.lastContact.has(id);
  }
  /** True when the replica's copy should replace ours (and then we no longer own the node). */
  yieldsTo(replica: EdgeNode): boolean {
    const ours = this.lastContact.get(replica.id);
    if (ours === undefined) return true;
    if ((replica.lastHeartbeat?.at ?? 0) > ours) {
      this.lastContact.delete(replica.id);
      return true;
    }
    return false;
  }
}

/** The registry's store-and-forward hook: every accepted op goes to the outbox too. */
export function relayForwarder(outbox: Outbox, ownership: Ownership): RegistryForwarder {
  return {
    register: (reg: NodeRegistration) => {
      ownership.touch(reg.id);
      return outbox.enqueue({ op: 'register', nodeId: reg.id, registration: reg });
    },
    heartbeat: (id: string, input: HeartbeatInput, at: number) => {
      ownership.touch(id, at);
      return outbox.enqueue({ op: 'heartbeat', nodeId: id, input, receivedAt: at });
    },
    deregister: (id: string) => outbox.enqueue({ op: 'deregister', nodeId: id }),
  };
}

export interface RelayTierOptions {
  db: Knex;
  registry: Registry;
  mesh: ViewProducer;
  outbox: Outbox;
  ownership: Ownership;
  registration: () => NodeRegistration;
  upstreams: string[];
  heartbeatIntervalMs: number;
  logger: Logger;
  upstreamWaitMs?: number;
  viewIdleMs?: number;
  /** Secure mode: TLS credentials of the upstream link, and where the global tier's credential snapshots go. */
  credentials?: UpstreamLinkOptions['credentials'];
  onCredentials?: UpstreamLinkOptions['onCredentials'];
}

export class RelayTier {
  readonly source: RelaySource;
  readonly link: UpstreamLink;
  private readonly snapshots: SnapshotStore;
  private chain: Promise<void> = Promise.resolve();
  /** Times the global tier's view of our position was found ahead of ours (each one started a new epoch). */
  epochResets = 0;
  private readonly log: Logger;

  constructor(private readonly opts: RelayTierOptions) {
    this.log = opts.logger.child({ component: 'relay' });
    this.snapshots = new SnapshotStore(opts.db);
    this.source = new RelaySource({
      local: opts.mesh,
      logger: opts.logger,
      onWatch: (view) => this.link.watch(view),
      onUnwatch: (view) => this.link.unwatch(view),
      upstreamWaitMs: opts.upstreamWaitMs,
      viewIdleMs: opts.viewIdleMs,
      onDrop: (view) => this.serial(() => this.snapshots.dropView(view)),
      // The global tier needs up to 3 heartbeat intervals (after its own restart) to judge the region's nodes as we do.
      reconcileWaitMs: Math.max(5000, 4 * opts.heartbeatIntervalMs + 2000),
    });
    this.link = new UpstreamLink({
      upstreams: opts.upstreams,
      registration: opts.registration,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      outbox: opts.outbox,
      logger: opts.logger,
      haveOf: (view) => this.haveOf(view),
      onView: (u) => this.serial(() => this.applyView(u)),
      onNodes: (full, nodes, removed) => this.serial(() => this.applyNodes(full, nodes, removed)),
      onDisconnected: () => this.source.setDisconnected(),
      onInSync: () => void this.serial(async () => this.source.setInSync()),
      onEpochReset: () => this.epochResets++,
      credentials: opts.credentials,
      onCredentials: opts.onCredentials,
    });
  }

  /** Serves what was stored from an earlier run, then connects upstream (under a new outbox epoch). */
  async start(): Promise<void> {
    const epoch = await this.opts.outbox.newEpoch();
    const stored = await this.snapshots.loadAll();
    this.source.preload(stored);
    for (const view of stored.keys()) this.link.watch(view);
    this.log.info({ views: stored.size, upstreams: this.opts.upstreams, epoch, pending: await this.opts.outbox.pending() }, 'relay started');
    this.link.start();
  }

  async close(): Promise<void> {
    this.source.close();
    this.link.close();
    await this.chain;
    await this.opts.outbox.close();
  }

  /** Upstream messages are handled one at a time, in order. */
  private serial(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((err: Error) => this.log.error({ err }, 'applying an upstream message failed'));
  }

  private haveOf(view: string): ViewState['have'] {
    const s = this.source.upstreamSnapshot(view);
    if (!s) return [];
    const out: ViewState['have'] = [];
    for (const kind of RESOURCE_KINDS) for (const r of s[kind].resources.values()) out.push({ kind, name: r.name, version: r.version });
    return out;
  }

  private async applyView(u: ViewUpdate__Output): Promise<void> {
    const prev = this.source.upstreamSnapshot(u.view) ?? emptySnapshot();
    const next: Record<ResourceKind, Snapshot[ResourceKind]> = { ...prev };
    const change: StoredChange = { view: u.view, upserts: [], removed: [] };
    for (const t of u.types) {
      const kind = t.kind as ResourceKind;
      if (!RESOURCE_KINDS.includes(kind)) continue;
      const map = new Map<string, EncodedResource>(prev[kind].resources);
      for (const name of t.removed) {
        map.delete(name);
        change.removed.push({ kind, name });
      }
      for (const r of t.resources) {
        const res = encodedResource(kind, r.name, Buffer.from(r.body), r.version);
        map.set(r.name, res);
        change.upserts.push(res);
      }
      const set = resourceSet(kind, map.values());
      if (set.version !== t.version) {
        // Byte identity is the contract: a mismatch means a lost update; ask again from scratch.
        this.log.error({ view: u.view, kind, expected: t.version, got: set.version }, 'view out of step with the global tier: re-watching');
        this.link.unwatch(u.view);
        await this.snapshots.dropView(u.view);
        this.source.setUpstream(u.view, prev);
        this.link.watch(u.view);
        return;
      }
      next[kind] = set;
    }
    await this.snapshots.save([change]);
    this.source.setUpstream(u.view, next);
  }

  private async applyNodes(full: boolean, nodes: EdgeNode[], removed: string[]): Promise<void> {
    const own = this.opts.ownership;
    const take = nodes.filter((n) => own.yieldsTo(n));
    let gone = removed.filter((id) => !own.owns(id));
    if (full) {
      const listed = new Set(nodes.map((n) => n.id));
      gone = [...this.opts.registry.nodes().keys()].filter((id) => !listed.has(id) && !own.owns(id));
    }
    await this.opts.registry.applyReplica(take, gone);
  }
}
