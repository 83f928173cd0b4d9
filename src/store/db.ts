/**
 * Database connection and migrations. This is the only place that knows the
 * database is SQLite: pragmas are set when a connection is created; every
 * repository uses portable knex.
 */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { Knex } from 'knex';

export type Db = Knex;

export interface OpenDatabaseOptions {
  /** `:memory:` is allowed (tests); otherwise the folder is created. */
  file: string;
  /** SQLite busy timeout (ms). Default 5000. */
  busyTimeoutMs?: number;
  /**
   * SQLite `synchronous`: 'full' (default) fsyncs the WAL at every commit, so
   * a committed heartbeat survives power loss; 'normal' survives a process
   * crash but may lose the last commits on power loss or OS crash.
   */
  synchronous?: DbSync;
}

export type DbSync = 'full' | 'normal';

/** How each database was opened (the heartbeat writer thread opens its own connection alike). */
const opened = new WeakMap<Db, Required<OpenDatabaseOptions>>();

/** The options `db` was opened with (file resolved), or undefined for a knex instance made elsewhere. */
export function databaseOptions(db: Db): Readonly<Required<OpenDatabaseOptions>> | undefined {
  return opened.get(db);
}

/** Prepared statements kept per connection (by SQL text). */
const STATEMENT_CACHE = 64;

/** Opens a knex instance on a SQLite file with WAL, foreign keys and a busy timeout. */
export function openDatabase(opts: OpenDatabaseOptions): Db {
  const file = opts.file === ':memory:' ? ':memory:' : path.resolve(opts.file);
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const busy = opts.busyTimeoutMs ?? 5000;
  const sync = opts.synchronous === 'normal' ? 'NORMAL' : 'FULL';
  const db = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
        try {
          conn.pragma(`busy_timeout = ${busy}`);
          conn.pragma('journal_mode = WAL');
          // FULL: every commit is on disk before the caller is answered. Group
          // commit amortizes the fsync over a whole batch of heartbeats.
          conn.pragma(`synchronous = ${sync}`);
          conn.pragma('foreign_keys = ON');
          cachePreparedStatements(conn, STATEMENT_CACHE);
          done(null, conn);
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
  });
  opened.set(db, { file, busyTimeoutMs: busy, synchronous: opts.synchronous ?? 'full' });
  return db;
}

interface SqliteConnection {
  pragma(source: string): unknown;
  prepare(source: string): unknown;
}

/**
 * knex's better-sqlite3 client prepares every query anew; the connection keeps
 * the most recently used statements instead (LRU by SQL text). knex runs a
 * statement to completion (`all`/`run`) before the next, so reuse is safe, and
 * SQLite re-prepares a statement by itself after a schema change.
 */
function cachePreparedStatements(conn: SqliteConnection, max: number): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (source: string): unknown => {
    let st = cache.get(source);
    if (st !== undefined) {
      cache.delete(source);
    } else {
      st = prepare(source);
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    }
    cache.set(source, st);
    return st;
  };
}

interface DriverStatement {
  run(bindings: unknown[]): unknown;
}

/**
 * Runs one statement (SQL built by knex for this dialect) once per bindings
 * array, inside `trx`. On better-sqlite3 the statement is prepared once and
 * run directly on the transaction's connection (no knex round trip per row);
 * other clients go through `trx.raw` per row. Resolves after the last row.
 */
export async function runEach(trx: Knex.Transaction, sql: string, bindings: readonly unknown[][]): Promise<void> {
  if (bindings.length === 0) return;
  const client = trx.client as { config?: { client?: unknown }; acquireConnection(): Promise<unknown> };
  if (client.config?.client === 'better-sqlite3') {
    // A transaction's client hands out the transaction's own connection.
    const conn = (await client.acquireConnection()) as { prepare(source: string): DriverStatement };
    const st = conn.prepare(sql);
    for (const b of bindings) st.run(b);
    return;
  }
  for (const b of bindings) await trx.raw(sql, b as Knex.RawBinding[]);
}

/** The `migrations/` folder of the package (works from `src/` and `dist/src/`). */
export function migrationsDirectory(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'migrations');
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`migrations folder not found above ${__dirname}`);
}

const migrationConfig = (): Knex.MigratorConfig => ({
  directory: migrationsDirectory(),
  loadExtensions: ['.js'],
  tableName: 'knex_migrations',
});

/** Applies every pending migration; returns the names applied now. */
export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(migrationConfig())) as [number, string[]];
  return applied.map((f) => path.basename(f));
}

/** Names of migrations already applied. */
export async function appliedMigrations(db: Db): Promise<string[]> {
  const [done] = (await db.migrate.list(migrationConfig())) as [Array<{ name: string } | string>, unknown];
  return done.map((m) => (typeof m === 'string' ? m : m.name));
}
