/**
 * The relay's durable store-and-forward queue: registrations, heartbeats and
 * deregistrations it accepted, delivered upstream in order. A node is answered
 * only once its op is stored here. Heartbeats are coalesced: only the latest
 * undelivered heartbeat of a node is kept (the global tier needs the latest
 * state, not the history), as a new entry after everything before it.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { GroupCommitBatcher } from '../store';
import type { HeartbeatInput, NodeRegistration } from '../domain';

export type OutboxOp =
  | { op: 'register'; nodeId: string; registration: NodeRegistration }
  | { op: 'heartbeat'; nodeId: string; input: HeartbeatInput; receivedAt: number }
  | { op: 'deregister'; nodeId: string };

export interface OutboxEntry {
  seq: number;
  op: OutboxOp;
}

interface Row {
  seq: number;
  op: string;
  node_id: string;
  payload: string;
  created_at: number;
}

function toRow(op: OutboxOp, now: number): Omit<Row, 'seq'> {
  const payload = op.op === 'register' ? op.registration : op.op === 'heartbeat' ? { input: op.input, receivedAt: op.receivedAt } : {};
  return { op: op.op, node_id: op.nodeId, payload: JSON.stringify(payload), created_at: now };
}

function fromRow(r: Row): OutboxEntry {
  const p = JSON.parse(r.payload) as Record<string, unknown>;
  const seq = Number(r.seq);
  if (r.op === 'register') return { seq, op: { op: 'register', nodeId: r.node_id, registration: p as unknown as NodeRegistration } };
  if (r.op === 'heartbeat') return { seq, op: { op: 'heartbeat', nodeId: r.node_id, input: p.input as HeartbeatInput, receivedAt: Number(p.receivedAt) } };
  return { seq, op: { op: 'deregister', nodeId: r.node_id } };
}

/** kv keys of the relay's own position, stored in the relay's database next to the outbox. */
const EPOCH_KEY = 'relay_outbox:epoch';
const ACKED_KEY = 'relay_outbox:acked';

/**
 * Sequence numbers mean something only within one epoch (one incarnation of
 * the relay): the global tier keeps its applied position per (relay, epoch).
 * A new epoch is chosen at every start, so a database restored from an older
 * copy or re-created can never reuse numbers the global tier already applied;
 * what is still pending is simply resent under the new epoch (every op is
 * idempotent when replayed in order).
 */
export class Outbox {
  private readonly batcher: GroupCommitBatcher<OutboxOp, void>;
  private listeners = new Set<() => void>();
  private currentEpoch: string | null = null;

  constructor(private readonly db: Knex) {
    this.batcher = new GroupCommitBatcher<OutboxOp, void>({ write: (ops) => this.write(ops), maxDelayMs: 5, maxBatch: 1000 });
  }

  /** Chooses and persists a new epoch (at start, and when the global tier's view of our position is ahead of ours). */
  async newEpoch(): Promise<string> {
    const epoch = randomUUID();
    await this.db.transaction(async (trx) => {
      await trx('kv')
        .insert({ key: EPOCH_KEY, value: JSON.stringify(epoch), updated_at: Date.now() })
        .onConflict('key')
        .merge();
      // Positions of the old epoch mean nothing in the new one.
      await trx('kv').insert({ key: ACKED_KEY, value: '0', updated_at: Date.now() }).onConflict('key').merge();
    });
    this.currentEpoch = epoch;
    return epoch;
  }

  /** The epoch of this incarnation (newEpoch() must have run). */
  get epoch(): string {
    if (this.currentEpoch === null) throw new Error('outbox epoch not chosen yet (newEpoch() first)');
    return this.currentEpoch;
  }

  /** The highest sequence number assigned in this epoch: pending entries, or the last acknowledged one. */
  async maxAssigned(): Promise<number> {
    const [hw, acked] = await Promise.all([this.highWater(), this.acked()]);
    return Math.max(hw, acked);
  }

  private async acked(): Promise<number> {
    const row = (await this.db('kv').where({ key: ACKED_KEY }).first()) as { value: string } | undefined;
    return row ? Number(JSON.parse(row.value)) || 0 : 0;
  }

  /** Resolves once the op is durable. */
  enqueue(op: OutboxOp): Promise<void> {
    return this.batcher.submit(op);
  }

  /** Called after new entries are durable (the delivery loop wakes up). */
  onEnqueued(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private async write(ops: OutboxOp[]): Promise<void[]> {
    const now = Date.now();
    // Within one batch the last heartbeat of a node wins; any older undelivered one is replaced.
    const lastHb = new Map<string, number>();
    ops.forEach((o, i) => {
      if (o.op === 'heartbeat') lastHb.set(o.nodeId, i);
    });
    const rows = ops.filter((o, i) => o.op !== 'heartbeat' || lastHb.get(o.nodeId) === i).map((o) => toRow(o, now));
    const hbNodes = [...lastHb.keys()];
    await this.db.transaction(async (trx) => {
      for (let i = 0; i < hbNodes.length; i += 500) {
        await trx('relay_outbox')
          .where('op', 'heartbeat')
          .whereIn('node_id', hbNodes.slice(i, i + 500))
          .delete();
      }
      for (let i = 0; i < rows.length; i += 200) await trx('relay_outbox').insert(rows.slice(i, i + 200));
    });
    for (const fn of this.listeners) fn();
    return ops.map(() => undefined);
  }

  /** Entries after `afterSeq`, oldest first. */
  async after(afterSeq: number, limit: number): Promise<OutboxEntry[]> {
    const rows = (await this.db('relay_outbox').where('seq', '>', afterSeq).orderBy('seq').limit(limit)) as Row[];
    return rows.map(fromRow);
  }

  /** Drops everything the global tier acknowledged (seq <= upTo). */
  async acknowledge(upTo: number): Promise<void> {
    // The acknowledged position is kept with the deletion: maxAssigned() must never go back.
    await this.db.transaction(async (trx) => {
      const n = await trx('relay_outbox').where('seq', '<=', upTo).delete();
      if (n > 0)
        await trx('kv')
          .insert({ key: ACKED_KEY, value: JSON.stringify(upTo), updated_at: Date.now() })
          .onConflict('key')
          .merge();
    });
  }

  async pending(): Promise<number> {
    const row = (await this.db('relay_outbox').count({ n: '*' }).first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  }

  async highWater(): Promise<number> {
    const row = (await this.db('relay_outbox').max({ m: 'seq' }).first()) as { m: number | string | null } | undefined;
    return row?.m === null || row?.m === undefined ? 0 : Number(row.m);
  }

  flush(): Promise<void> {
    return this.batcher.flush();
  }

  close(): Promise<void> {
    return this.batcher.close();
  }
}
