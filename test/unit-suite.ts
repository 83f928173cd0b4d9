/**
 * The unit part of `npm test` in two processes (one per core), each loading
 * its half of the files: every unit test file is loaded
 * inside its own `describe` (so its top-level tests and hooks belong to that
 * file), and files run a few at a time. One process instead of one per file
 * saves starting Node, gRPC and the Envoy protos ~50 times, which dominated
 * the unit part on a 2-core machine. Usage:
 *   node --test --test-concurrency=2 dist/test/unit-shard-0.js dist/test/unit-shard-1.js
 * (EDGE_XDS_UNIT_CONCURRENCY files at a time in each, default 4).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe } from 'node:test';

const concurrency = Number(process.env.EDGE_XDS_UNIT_CONCURRENCY ?? 4) || 4;
const files = execFileSync(process.execPath, [path.join(__dirname, 'test-files.js'), 'shared'], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '');
// Longest first, so the long files do not start last (they set the wall time).
const LONG = ['xds/delta-equivalence', 'security/tokens', 'bootstrap/advertise', 'store/store', 'store/heartbeat-sql', 'api/validation'];
const rank = (f: string): number => {
  const i = LONG.findIndex((l) => f.includes(l));
  return i < 0 ? LONG.length : i;
};
files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

/** Registers shard `index` of `count`: files dealt round-robin, longest first. */
export function unitShard(index: number, count: number): void {
  const mine = files.filter((_, i) => i % count === index);
  describe(`unit ${index + 1}/${count}`, { concurrency }, () => {
    for (const f of mine) {
      const abs = path.resolve(__dirname, '../..', f);
      // Inside a file, tests run in order (many build on the previous one).
      describe(path.relative(__dirname, abs), { concurrency: 1 }, () => {
        require(abs);
      });
    }
  });
}
