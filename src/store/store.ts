/**
 * The registry's persistence: every write is one transaction, every query is
 * portable knex (SQLite today, PostgreSQL possible).
 */
import type { EdgeNode, RegistryEvent, ServicePort } from '../registry/types';
import type { Db } from './db';
import { databaseOptions } from './db';
import { HeartbeatUpsert, appendEvents, applyStates, packHeartbeats, writeHeartbeatBatch } from './heartbeat-sql';
import { HeartbeatThread } from './heartbeat-thread';
import {
  EventRow,
  HeartbeatRow,
  NewEvent,
  NodeRow,
  ServiceRow,
  StateUpdate,
  nodeToRow,
  rowToEvent,
  rowToNode,
  rowToService,
  servicesToRows,
} from './rows';

/** Rows per multi-row INSERT (keeps bound parameters well below SQLite's and PostgreSQL's limits). */
const CHUNK = 500;

export interface HeartbeatBatchWrite {
  heartbeats: HeartbeatRow[];
  states: StateUpdate[];
  events: NewEvent[];
}

export interface StoreOptions {
  /**
   * Write heartbeat batches on a writer thread with its own connection (see
   * heartbeat-thread.ts) instead of on the main connection. Default: off,
   * unless EDGE_XDS_HEARTBEAT_WRITER=thread. Measured on the 2-core target
   * machine (docs/BENCHMARKS.md, Heartbeats) the thread costs more CPU per
   * heartbeat (a second event loop, a message each way per batch, a thread
   * wake-up each way) than the now short synchronous commit it moves off the
   * event loop; with spare cores or a disk with slow fsyncs it keeps the
   * event loop free during commits. An in-memory database is always written
   * inline (a second connection would be another database).
   */
  heartbeatThread?: boolean;
}

export class Store {
  private readonly upsert: HeartbeatUpsert;
  private thread: HeartbeatThread | null = null;
  private readonly useThread: boolean;
  private closed = false;

  constructor(
    readonly db: Db,
    opts: StoreOptions = {},
  ) {
    this.upsert = new HeartbeatUpsert(db);
    const where = databaseOptions(db);
    this.useThread = (opts.heartbeatThread ?? process.env.EDGE_XDS_HEARTBEAT_WRITER === 'thread') && where !== undefined && where.file !== ':memory:';
  }

  /**
   * Starts the heartbeat writer thread (if this store uses one) and waits
   * until its connection is open. Call after migrations; writeHeartbeats
   * starts it on first use otherwise. If the thread cannot start, batches are
   * written on the main connection.
   */
  async startHeartbeatWriter(): Promise<void> {
    const t = this.writerThread();
    if (t !== null) await t.ready.catch(() => undefined);
  }

  private writerThread(): HeartbeatThread | null {
    if (!this.useThread || this.closed) return null;
    if (this.thread === null) {
      const where = databaseOptions(this.db)!;
      this.thread = new HeartbeatThread({ file: where.file, busyTimeoutMs: where.busyTimeoutMs, synchronous: where.synchronous });
    }
    return this.thread.stopped === null ? this.thread : null;
  }

  /** Every node with its services and latest heartbeat (startup load). */
  async loadNodes(): Promise<EdgeNode[]> {
    const [nodes, services, hbs] = await Promise.all([
      this.db<NodeRow>('nodes').select('*').orderBy('id'),
      this.db<ServiceRow>('node_services').select('*').orderBy(['node_id', 'name']),
      this.db<HeartbeatRow>('node_heartbeats').select('*'),
    ]);
    const byNode = new Map<string, ServicePort[]>();
    for (const s of services) {
      let list = byNode.get(s.node_id);
      if (!list) byNode.set(s.node_id, (list = []));
      list.push(rowToService(s));
    }
    const hbByNode = new Map(hbs.map((h) => [h.node_id, h]));
    return nodes.map((n) => rowToNode(n, byNode.get(n.id) ?? [], hbByNode.get(n.id)));
  }

  /** Inserts or replaces a node and its services, appending events, in one transaction. */
  async saveNode(node: EdgeNode, events: NewEvent[]): Promise<void> {
    await this.db.transaction(async (trx) => {
      const row = nodeToRow(node);
      await trx('nodes').insert(row).onConflict('id').merge();
      await trx('node_services').where({ node_id: node.id }).delete();
      const services = servicesToRows(node);
      if (services.length > 0) await trx('node_services').insert(services);
      await appendEvents(trx, events);
    });
  }

  /**
   * Replica sync (relays): upserts whole node records, their services and
   * latest heartbeat rows, and deletes removed nodes, in one transaction.
   */
  async saveReplica(nodes: EdgeNode[], heartbeats: HeartbeatRow[], removedIds: string[]): Promise<void> {
    if (nodes.length === 0 && removedIds.length === 0) return;
    await this.db.transaction(async (trx) => {
      for (let i = 0; i < removedIds.length; i += CHUNK) await trx('nodes').whereIn('id', removedIds.slice(i, i + CHUNK)).delete();
      for (let i = 0; i < nodes.length; i += CHUNK) {
        const chunk = nodes.slice(i, i + CHUNK);
        await trx('nodes').insert(chunk.map(nodeToRow)).onConflict('id').merge();
        await trx('node_services').whereIn('node_id', chunk.map((n) => n.id)).delete();
        const services = chunk.flatMap(servicesToRows);
        for (let j = 0; j < services.length; j += CHUNK) await trx('node_services').insert(services.slice(j, j + CHUNK));
      }
      for (let i = 0; i < heartbeats.length; i += CHUNK) {
        await trx('node_heartbeats').insert(heartbeats.slice(i, i + CHUNK)).onConflict('node_id').merge();
      }
    });
  }

  /** Updates node states (and drain deadlines), appending events, in one transaction. */
  async updateStates(states: StateUpdate[], events: NewEvent[]): Promise<void> {
    if (states.length === 0 && events.length === 0) return;
    await this.db.transaction(async (trx) => {
      await applyStates(trx, states);
      await appendEvents(trx, events);
    });
  }

  /** Deletes nodes (services and heartbeats cascade), appending events, in one transaction. */
  async deleteNodes(ids: string[], events: NewEvent[]): Promise<void> {
    if (ids.length === 0 && events.length === 0) return;
    await this.db.transaction(async (trx) => {
      for (let i = 0; i < ids.length; i += CHUNK) {
        await trx('nodes').whereIn('id', ids.slice(i, i + CHUNK)).delete();
      }
      await appendEvents(trx, events);
    });
  }

  /**
   * One group commit of heartbeats, in one transaction: a multi-row upsert of
   * the latest values and EWMA stats per node (distinct node ids), plus the
   * state changes and events they cause. Runs on the writer thread when there
   * is one; resolves once committed.
   */
  async writeHeartbeats(batch: HeartbeatBatchWrite): Promise<void> {
    const packed = packHeartbeats(batch.heartbeats);
    const t = this.writerThread();
    if (t !== null) {
      if (!t.isReady) await t.ready.catch(() => undefined);
      if (t.stopped === null) return t.write(packed, batch.states, batch.events);
    }
    await writeHeartbeatBatch(this.db, this.upsert, packed, batch.states, batch.events);
  }

  /** Events with seq > sinceSeq, oldest first. */
  async listEvents(sinceSeq: number, limit: number, nodeId?: string): Promise<RegistryEvent[]> {
    let q = this.db<EventRow>('events').select('*').where('seq', '>', sinceSeq);
    if (nodeId !== undefined) q = q.andWhere('node_id', nodeId);
    const rows = await q.orderBy('seq').limit(limit);
    return rows.map(rowToEvent);
  }

  async lastEventSeq(): Promise<number> {
    const row = (await this.db('events').max({ m: 'seq' }).first()) as { m: number | string | null } | undefined;
    return row && row.m !== null ? Number(row.m) : 0;
  }

  async getSetting<T>(key: string): Promise<T | undefined> {
    const row = (await this.db('kv').where({ key }).first()) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  async putSetting(key: string, value: unknown): Promise<void> {
    await this.db('kv')
      .insert({ key, value: JSON.stringify(value), updated_at: Date.now() })
      .onConflict('key')
      .merge();
  }

  /** Deletes every setting whose key starts with `prefix`, except `keep` (a range, not LIKE: ids may hold `_`). */
  async deleteSettings(prefix: string, keep: string): Promise<void> {
    await this.db('kv').where('key', '>=', prefix).andWhere('key', '<', `${prefix}\uffff`).andWhereNot('key', keep).delete();
  }

  /** Closes the heartbeat writer thread (after its in-flight batches) and the database. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.thread !== null) await this.thread.close();
    await this.db.destroy();
  }
}
