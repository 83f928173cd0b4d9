/**
 * The heartbeat group commit's statements. Portable knex: the multi-row upsert's SQL is built by
 * knex's query builder for the connection's dialect (once per shape, through
 * `.toSQL()`). On better-sqlite3 (in process, no round trip per statement)
 * the one-row upsert is prepared once and run per row, which SQLite executes
 * several times faster than knex's multi-row `INSERT ... SELECT ... UNION
 * ALL` form; other clients get multi-row upserts cut into a few fixed shapes
 * (256, 64, 16, 4, 1 rows) run through `raw`, so the server sees a handful of
 * distinct statements instead of one per batch size.
 */
import type { Knex } from 'knex';
import { runEach } from './db';
import type { HeartbeatRow, NewEvent, StateUpdate } from './rows';
import { eventToRow } from './rows';

/** Columns of `node_heartbeats`, node_id first, then the numeric ones in packing order. */
export const HEARTBEAT_COLUMNS = [
  'node_id',
  'at',
  'load_cpu',
  'load_memory',
  'load_network',
  'net_latency_ms',
  'net_jitter_ms',
  'net_packet_loss',
  'ewma_cpu',
  'ewma_memory',
  'ewma_network',
  'ewma_latency_ms',
  'ewma_jitter_ms',
  'ewma_packet_loss',
  'samples',
] as const satisfies readonly (keyof HeartbeatRow)[];

const WIDTH = HEARTBEAT_COLUMNS.length;
/** Numbers per packed row (every column but node_id). */
export const PACKED_WIDTH = WIDTH - 1;

/**
 * Heartbeat rows in a compact form for postMessage: the ids, and the numeric
 * columns row by row in a Float64Array (NaN stands for NULL; heartbeat values
 * are validated finite numbers, so NaN never is a value).
 */
export interface PackedHeartbeats {
  ids: string[];
  values: Float64Array;
}

export function packHeartbeats(rows: readonly HeartbeatRow[]): PackedHeartbeats {
  const ids = new Array<string>(rows.length);
  const values = new Float64Array(rows.length * PACKED_WIDTH);
  let o = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    ids[i] = r.node_id;
    values[o++] = Number(r.at);
    values[o++] = r.load_cpu ?? NaN;
    values[o++] = r.load_memory ?? NaN;
    values[o++] = r.load_network ?? NaN;
    values[o++] = r.net_latency_ms ?? NaN;
    values[o++] = r.net_jitter_ms ?? NaN;
    values[o++] = r.net_packet_loss ?? NaN;
    values[o++] = r.ewma_cpu;
    values[o++] = r.ewma_memory;
    values[o++] = r.ewma_network;
    values[o++] = r.ewma_latency_ms;
    values[o++] = r.ewma_jitter_ms;
    values[o++] = r.ewma_packet_loss;
    values[o++] = r.samples;
  }
  return { ids, values };
}

/** Statement shapes (rows per upsert), largest first; 1 guarantees every size decomposes. */
const SHAPES = [256, 64, 16, 4, 1];

interface Compiled {
  sql: string;
  /** For each binding: row * WIDTH + column index in HEARTBEAT_COLUMNS. */
  slots: Int32Array;
}

/** Builds (once per shape) and runs the multi-row heartbeat upsert. */
export class HeartbeatUpsert {
  private readonly shapes = new Map<number, Compiled>();

  constructor(private readonly db: Knex) {}

  private compiled(rows: number): Compiled {
    let c = this.shapes.get(rows);
    if (c !== undefined) return c;
    // Every value is a unique marker, so the bindings knex produces tell which
    // row and column each placeholder stands for, whatever order knex uses.
    const template = Array.from({ length: rows }, (_, r) => {
      const row: Record<string, string> = {};
      HEARTBEAT_COLUMNS.forEach((col, i) => (row[col] = `\u0000${r * WIDTH + i}`));
      return row;
    });
    const q = this.db('node_heartbeats').insert(template).onConflict('node_id').merge().toSQL();
    const bindings = q.bindings as readonly unknown[];
    if (bindings.length !== rows * WIDTH) throw new Error(`heartbeat upsert: ${bindings.length} bindings for ${rows} rows`);
    const slots = new Int32Array(bindings.length);
    bindings.forEach((b, k) => {
      if (typeof b !== 'string' || b[0] !== '\u0000') throw new Error('heartbeat upsert: unexpected binding');
      slots[k] = Number(b.slice(1));
    });
    c = { sql: q.sql, slots };
    this.shapes.set(rows, c);
    return c;
  }

  /** Upserts every packed row (ids must be distinct) inside `q`. */
  async write(q: Knex | Knex.Transaction, p: PackedHeartbeats): Promise<void> {
    const n = p.ids.length;
    if (n === 0) return;
    if (isTransaction(q) && (q.client as { config?: { client?: unknown } }).config?.client === 'better-sqlite3') {
      // In-process driver: SQLite runs a prepared one-row upsert fastest, once per row.
      const { sql, slots } = this.compiled(1);
      const all = new Array<(string | number | null)[]>(n);
      for (let r = 0; r < n; r++) all[r] = this.bindings(p, r, slots);
      return runEach(q, sql, all);
    }
    let off = 0;
    for (const size of SHAPES) {
      while (n - off >= size) {
        const { sql, slots } = this.compiled(size);
        await q.raw(sql, this.bindings(p, off, slots));
        off += size;
      }
    }
  }

  private bindings(p: PackedHeartbeats, off: number, slots: Int32Array): (string | number | null)[] {
    const bindings = new Array<string | number | null>(slots.length);
    for (let k = 0; k < slots.length; k++) {
      const s = slots[k];
      const row = off + ((s / WIDTH) | 0);
      const col = s % WIDTH;
      if (col === 0) bindings[k] = p.ids[row];
      else {
        const v = p.values[row * PACKED_WIDTH + col - 1];
        bindings[k] = v !== v ? null : v;
      }
    }
    return bindings;
  }
}

function isTransaction(q: Knex | Knex.Transaction): q is Knex.Transaction {
  return typeof (q as Knex.Transaction).commit === 'function' && typeof (q as Knex.Transaction).rollback === 'function';
}

/** Rows per multi-row INSERT of events. */
const EVENT_CHUNK = 500;

export async function appendEvents(q: Knex | Knex.Transaction, events: readonly NewEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += EVENT_CHUNK) {
    await q('events').insert(events.slice(i, i + EVENT_CHUNK).map(eventToRow));
  }
}

export async function applyStates(q: Knex | Knex.Transaction, states: readonly StateUpdate[]): Promise<void> {
  for (const s of states) {
    await q('nodes').where({ id: s.nodeId }).update({ state: s.state, drain_until: s.drainUntil });
  }
}

/** One group commit: the heartbeat rows, the state changes and events they cause, in one transaction. */
export async function writeHeartbeatBatch(
  db: Knex,
  upsert: HeartbeatUpsert,
  heartbeats: PackedHeartbeats,
  states: readonly StateUpdate[],
  events: readonly NewEvent[],
): Promise<void> {
  await db.transaction(async (trx) => {
    await upsert.write(trx, heartbeats);
    await applyStates(trx, states);
    await appendEvents(trx, events);
  });
}
