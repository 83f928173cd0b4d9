/**
 * The registry's persistence: every write is one transaction, every query is
 * portable knex (SQLite today, PostgreSQL possible).
 */
import type { EdgeNode, RegistryEvent, ServicePort } from '../domain';
import type { Db } from './db';
import { HeartbeatUpsert, appendEvents, applyStates, packHeartbeats, writeHeartbeatBatch } from './heartbeat-sql';
import { EventRow, HeartbeatRow, NewEvent, NodeRow, ServiceRow, StateUpdate, nodeToRow, rowToEvent, rowToNode, rowToService, servicesToRows } from './rows';

/** Rows per multi-row INSERT (keeps bound parameters well below SQLite's and PostgreSQL's limits). */
const CHUNK = 500;

export interface HeartbeatBatchWrite {
  heartbeats: HeartbeatRow[];
  states: StateUpdate[];
  events: NewEvent[];
}

export class Store {
  private readonly upsert: HeartbeatUpsert;

  constructor(readonly db: Db) {
    this.upsert = new HeartbeatUpsert(db);
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
      for (let i = 0; i < removedIds.length; i += CHUNK)
        await trx('nodes')
          .whereIn('id', removedIds.slice(i, i + CHUNK))
          .delete();
      for (let i = 0; i < nodes.length; i += CHUNK) {
        const chunk = nodes.slice(i, i + CHUNK);
        await trx('nodes').insert(chunk.map(nodeToRow)).onConflict('id').merge();
        await trx('node_services')
          .whereIn(
            'node_id',
            chunk.map((n) => n.id),
          )
          .delete();
        const services = chunk.flatMap(servicesToRows);
        for (let j = 0; j < services.length; j += CHUNK) await trx('node_services').insert(services.slice(j, j + CHUNK));
      }
      for (let i = 0; i < heartbeats.length; i += CHUNK) {
        await trx('node_heartbeats')
          .insert(heartbeats.slice(i, i + CHUNK))
          .onConflict('node_id')
          .merge();
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
        await trx('nodes')
          .whereIn('id', ids.slice(i, i + CHUNK))
          .delete();
      }
      await appendEvents(trx, events);
    });
  }

  /**
   * One group commit of heartbeats, in one transaction: a multi-row upsert of
   * the latest values and EWMA stats per node (distinct node ids), plus the
   * state changes and events they cause; resolves once committed.
   */
  async writeHeartbeats(batch: HeartbeatBatchWrite): Promise<void> {
    await writeHeartbeatBatch(this.db, this.upsert, packHeartbeats(batch.heartbeats), batch.states, batch.events);
  }

  /** Events with seq > sinceSeq, oldest first. */
  /** Appends events that go with no registry write (security events). */
  async appendEvents(events: NewEvent[]): Promise<void> {
    await appendEvents(this.db, events);
  }

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

  /** Closes the database. */
  async close(): Promise<void> {
    await this.db.destroy();
  }
}
