/**
 * `serve` on a database it cannot use stops at once with exit code 2 and one
 * line naming the file and the problem: no stack, no hang, no half-created
 * folder in a pseudo-filesystem.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CLI_PATH } from '../helpers/cli-server';
import { makeTempDir, removeDir } from '../helpers/tmp';

const dir = makeTempDir('edge-xds-baddb-');
after(() => removeDir(dir));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

/** Runs `serve --db file` to its end (SIGKILL after 20 s: a hang is a failure, not a stuck suite). */
function serve(file: string, opts: { uid?: number; gid?: number } = {}): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--host', '127.0.0.1', '--http-port', '0', '--xds-port', '0', '--db', file, '--log-level', 'warn', '--insecure'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts,
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - t0 });
    });
  });
}

function assertRefused(r: Run, file: string, reason: RegExp): void {
  assert.equal(r.signal, null, `serve did not stop by itself (killed after ${r.ms} ms): ${r.stderr}`);
  assert.equal(r.code, 2, `exit code 2 expected: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^edge-xds: database ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'm'));
  assert.match(r.stderr, reason);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

/** A valid, migrated database to damage. */
function goodDb(name: string): string {
  const file = path.join(dir, name);
  const r = spawnSync(process.execPath, [CLI_PATH, 'migrate', '--db', file, '--log-level', 'warn'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return file;
}

test('a folder in /proc (a pseudo-filesystem) is refused at once, not an endless mkdir', async () => {
  const r = await serve('/proc/edge/x.db');
  assertRefused(r, '/proc/edge/x.db', /pseudo-filesystem/);
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
});

test('a path below a regular file is refused', async () => {
  fs.writeFileSync(path.join(dir, 'plain'), 'x');
  const file = path.join(dir, 'plain', 'x.db');
  assertRefused(await serve(file), file, /is not a directory/);
});

test('a directory where the database file should be is refused', async () => {
  const file = path.join(dir, 'adir.db');
  fs.mkdirSync(file);
  assertRefused(await serve(file), file, /not a regular file/);
});

test('a file of garbage is refused', async () => {
  const file = path.join(dir, 'garbage.db');
  fs.writeFileSync(file, Buffer.alloc(10_000, 0x5a));
  assertRefused(await serve(file), file, /not a SQLite database/);
});

test('a truncated database is refused', async () => {
  const file = goodDb('trunc.db');
  fs.truncateSync(file, 5000);
  assertRefused(await serve(file), file, /corrupted|I\/O error/);
});

test('a corrupted database is refused', async () => {
  const file = goodDb('corrupt.db');
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(8192, 0xff), 0, 8192, 4096);
  fs.closeSync(fd);
  assertRefused(await serve(file), file, /corrupted/);
});

test('a database locked by another process is refused after the busy timeout', async () => {
  const file = goodDb('locked.db');
  const holder = new Database(file);
  holder.pragma('locking_mode = EXCLUSIVE');
  holder.exec('BEGIN EXCLUSIVE');
  try {
    assertRefused(await serve(file), file, /locked/);
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
});

test('a read-only database is refused', async () => {
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(ro);
  const file = goodDb('ro/ro.db');
  fs.chmodSync(file, 0o444);
  fs.chmodSync(ro, 0o555);
  // root ignores file modes: run the server as an unprivileged user then.
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  fs.chmodSync(dir, 0o755); // the temp folder is 0700: the user must reach the file to find it read-only
  const r = await serve(file, asUser);
  fs.chmodSync(dir, 0o700);
  fs.chmodSync(ro, 0o755);
  assertRefused(r, file, /read-only|not writable/);
});
