/**
 * The relay's durable store-and-forward queue: registrations, heartbeats and
 * deregistrations it accepted, delivered upstream in order. A node is answered
 * only once its op is stored here. Heartbeats are coalesced: only the latest
 * undelivered heartbeat of a node is kept (the global tier needs the latest
 * state, not the history), as a new entry after everything before it.
 */
import type { Knex } from 'knex';
import { GroupCommitBatcher } from '../store';
import type { HeartbeatInput, NodeRegistration } from '../registry/types';

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

export class Outbox {
  private readonly batcher: GroupCommitBatcher<OutboxOp, void>;
  private listeners = new Set<() => void>();

  constructor(private readonly db: Knex) {
    this.batcher = new GroupCommitBatcher<OutboxOp, void>({ write: (ops) => this.write(ops), maxDelayMs: 5, maxBatch: 1000 });
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
        await trx('relay_outbox').where('op', 'heartbeat').whereIn('node_id', hbNodes.slice(i, i + 500)).delete();
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
    await this.db('relay_outbox').where('seq', '<=', upTo).delete();
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
