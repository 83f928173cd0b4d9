/**
 * Prints the compiled test files of one part of `npm test`, one per line:
 *   unit  everything in-process (protocol cases, in-process servers), run 2 at a time
 *   e2e   real processes and multi-second scenarios: test/e2e (the CLI as a child
 *         process), relay, fleet, demo; run one at a time
 *   shared   the unit files loaded together by unit-shard-*.js (unit-suite.ts)
 *   isolated the unit files that assert on timing (coalescing windows, health
 *            intervals, pacing): each in its own process, so another file's
 *            CPU-heavy work never stalls their event loop
 * Only files whose test/*.ts source exists are listed, so the compiled output
 * of a test that was moved or deleted (tsc leaves it in dist/) never runs.
 * Usage: node dist/test/test-files.js unit|e2e
 */
import fs from 'node:fs';
import path from 'node:path';

const E2E_FOLDERS = new Set(['e2e', 'relay', 'fleet', 'demo']);
/** Unit files whose assertions measure time. */
export const ISOLATED = [
  'xds/sotw.test',
  'xds/delta.test',
  'xds/send-budget.test',
  'xds/snapshot-builder.test',
  'xds/build-failure.test',
  'registry/registry.test',
  'store/batcher.test',
  'api/seed-limits.test',
  // The fuzz tests run against a time budget and assert a minimum number of runs in it.
  'api/fuzz.test',
  'xds/fuzz.test',
];

const root = path.resolve(__dirname, '../..');
const distTest = path.join(root, 'dist/test');

function* compiledTests(dir: string): Iterable<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* compiledTests(p);
    else if (entry.name.endsWith('.test.js')) yield p;
  }
}

const part = process.argv[2];
if (part !== 'unit' && part !== 'e2e' && part !== 'shared' && part !== 'isolated') {
  process.stderr.write('usage: node dist/test/test-files.js unit|e2e|shared|isolated\n');
  process.exit(2);
}
const isolated = (rel: string): boolean => ISOLATED.some((i) => rel.replace(/\\/g, '/').startsWith(i));
const files: string[] = [];
for (const file of compiledTests(distTest)) {
  const rel = path.relative(distTest, file);
  if (!fs.existsSync(path.join(root, 'test', rel.replace(/\.js$/, '.ts')))) continue;
  if (E2E_FOLDERS.has(rel.split(path.sep)[0]!) !== (part === 'e2e')) continue;
  if (part === 'shared' && isolated(rel)) continue;
  if (part === 'isolated' && !isolated(rel)) continue;
  files.push(path.relative(process.cwd(), file));
}
process.stdout.write(files.sort().join('\n') + '\n');
