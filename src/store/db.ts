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

/** How each database was opened (errors name the file). */
const opened = new WeakMap<Db, Required<OpenDatabaseOptions>>();

/** Prepared statements kept per connection (by SQL text). */
const STATEMENT_CACHE = 64;

/** The database cannot be used as given (the CLI exits 2 with this message, no stack). */
export class DatabaseUnusableError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`database ${file}: ${reason}`);
    this.name = 'DatabaseUnusableError';
  }
}

/** Kernel pseudo-filesystems (statfs f_type): a database there can never work, and mkdir in them can spin forever. */
const VIRTUAL_FS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
]);

/**
 * Checks the database path before anything is created: the nearest existing
 * ancestor must be a writable directory on a real filesystem, and the file, if
 * present, a regular file. Throws DatabaseUnusableError naming the problem.
 */
export function checkDatabasePath(file: string): void {
  if (fs.existsSync(file) && !fs.statSync(file).isFile()) throw new DatabaseUnusableError(file, 'exists and is not a regular file (a directory?)');
  let dir = path.dirname(file);
  while (!fs.existsSync(dir)) {
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const st = fs.statSync(dir);
  if (!st.isDirectory()) throw new DatabaseUnusableError(file, `${dir} is not a directory`);
  const fsType = VIRTUAL_FS.get(Number(fs.statfsSync(dir).type));
  if (fsType) throw new DatabaseUnusableError(file, `${dir} is on ${fsType}, a kernel pseudo-filesystem: choose a folder on a real disk`);
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    if (dir !== path.dirname(file) || !fs.existsSync(file)) throw new DatabaseUnusableError(file, `folder ${dir} is not writable`);
  }
}

/** A one-line reason for a SQLite error met while opening or migrating (garbage, corrupt, locked, read-only...). */
export function describeDatabaseError(err: unknown): string | null {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return null;
  const reasons: Record<string, string> = {
    SQLITE_NOTADB: 'is not a SQLite database (garbage, or encrypted)',
    SQLITE_CORRUPT: 'is corrupted (restore it from a backup, or move it away to start empty)',
    SQLITE_CANTOPEN: 'cannot be opened (missing folder, a directory, or no permission)',
    SQLITE_BUSY: 'is locked by another process (another edge-xds on the same file?)',
    SQLITE_LOCKED: 'is locked by another connection',
    SQLITE_READONLY: 'is read-only (file, folder or filesystem): edge-xds must write to it',
    SQLITE_PERM: 'access denied',
    SQLITE_IOERR: 'I/O error (disk full, truncated file or failing disk)',
    SQLITE_FULL: 'the disk is full',
  };
  // Extended codes (SQLITE_IOERR_SHORT_READ, SQLITE_CANTOPEN_ISDIR...) share their primary code's reason.
  const key = Object.keys(reasons).find((k) => code === k || code.startsWith(`${k}_`));
  const known = key === undefined ? undefined : reasons[key];
  return `${known ?? 'cannot be used'} (${code}: ${(err as Error).message})`;
}

/** Opens a knex instance on a SQLite file with WAL, foreign keys and a busy timeout. */
export function openDatabase(opts: OpenDatabaseOptions): Db {
  const file = opts.file === ':memory:' ? ':memory:' : path.resolve(opts.file);
  if (file !== ':memory:') {
    checkDatabasePath(file);
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
    } catch (err) {
      throw new DatabaseUnusableError(file, `cannot create folder ${path.dirname(file)}: ${(err as Error).message}`);
    }
  }
  const busy = opts.busyTimeoutMs ?? 5000;
  const sync = opts.synchronous === 'normal' ? 'NORMAL' : 'FULL';
  const db = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
    // A connection that cannot be made is reported once, by migrateLatest (DatabaseUnusableError), not as a stack per attempt.
    log: {
      warn: (m: unknown) => {
        if (!(typeof m === 'string' && m.startsWith('Acquire connection error'))) process.emitWarning(String(m), 'KnexWarning');
      },
    },
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

/** Applies every pending migration; returns the names applied now. A database SQLite cannot use throws DatabaseUnusableError. */
export async function migrateLatest(db: Db): Promise<string[]> {
  try {
    const [, applied] = (await db.migrate.latest(migrationConfig())) as [number, string[]];
    return applied.map((f) => path.basename(f));
  } catch (err) {
    const reason = describeDatabaseError(err);
    if (reason) throw new DatabaseUnusableError(opened.get(db)?.file ?? '(database)', reason);
    throw err;
  }
}

/** Names of migrations already applied. */
export async function appliedMigrations(db: Db): Promise<string[]> {
  const [done] = (await db.migrate.list(migrationConfig())) as [Array<{ name: string } | string>, unknown];
  return done.map((m) => (typeof m === 'string' ? m : m.name));
}
