/**
 * The heartbeat writer thread (see heartbeat-thread.ts): its own knex +
 * better-sqlite3 connection to the database file, one transaction per batch,
 * batches in the order they arrive, one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './db';
import type { Db } from './db';
import { HeartbeatUpsert, writeHeartbeatBatch } from './heartbeat-sql';
import type { FromWriter, HeartbeatThreadOptions, ToWriter } from './heartbeat-thread';

const port = parentPort;
if (port === null) throw new Error('heartbeat-worker runs as a worker thread');
const opts = workerData as HeartbeatThreadOptions;
const send = (m: FromWriter): void => port.postMessage(m);

let db: Db;
let upsert: HeartbeatUpsert;
/** Batches run strictly one after another, in arrival order. */
let chain: Promise<void>;

chain = (async () => {
  db = openDatabase({ file: opts.file, busyTimeoutMs: opts.busyTimeoutMs, synchronous: opts.synchronous });
  upsert = new HeartbeatUpsert(db);
  // Opens the connection now (pragmas), so the first batch does not pay for it.
  await db.raw('select 1');
  send({ type: 'ready' });
})().catch((err: unknown) => {
  send({ type: 'open-failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});

port.on('message', (m: ToWriter) => {
  if (m.type === 'write') {
    chain = chain.then(async () => {
      try {
        await writeHeartbeatBatch(db, upsert, { ids: typeof m.ids !== 'string' ? m.ids : m.ids === '' ? [] : m.ids.split('\n'), values: m.values }, m.states, m.events);
        send({ type: 'done', seq: m.seq });
      } catch (err) {
        const e = err as { message?: string; code?: unknown };
        send({ type: 'failed', seq: m.seq, message: e?.message ?? String(err), code: typeof e?.code === 'string' ? e.code : undefined });
      }
    });
  } else if (m.type === 'close') {
    chain = chain.then(async () => {
      await db.destroy();
      send({ type: 'closed' });
      port.close();
    });
  }
});
