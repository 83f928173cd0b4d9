/**
 * A separate process that redeems one join token on a database file and
 * prints the result as JSON (tokens.test.ts runs several at once: two
 * better-sqlite3 connections in one process would block each other's event
 * loop while SQLite waits for its lock).
 * Usage: node redeem-worker.js DB TOKEN NODE_ID
 */
import { openDatabase } from '../../src/store';
import { TokenStore } from '../../src/security';

async function main(): Promise<void> {
  const [file, token, id] = process.argv.slice(2) as [string, string, string];
  const db = openDatabase({ file });
  try {
    const r = await new TokenStore(db).redeemJoinToken(token, { kind: 'node', id });
    process.stdout.write(JSON.stringify(r) + '\n');
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(String((err as Error).stack ?? err) + '\n');
  process.exit(1);
});
