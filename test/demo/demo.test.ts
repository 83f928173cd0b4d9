/**
 * Smoke test of `npm run demo` in its quick mode (one region, three phases,
 * both strategies): the real orchestrator process, its report and chart, and
 * no process or temp dir left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeDir } from '../helpers/tmp';

const DEMO_MAIN = path.resolve(__dirname, '../../src/demo/main.js');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('npm run demo -- --quick (secure mode): report with both strategies, every process stopped', { timeout: 90_000 }, async () => {
  const out = makeTempDir('edge-xds-demo-test-');
  try {
    const child = spawn(process.execPath, [DEMO_MAIN, '--quick', '--plain', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGINT'), 85_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, `demo exited ${code}\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);

    // Progress and live lines (plain mode: one line per client locality).
    assert.match(stdout, /pass 1\/2 edge-aware \| phase 1\/3 steady/);
    assert.match(stdout, /pass 2\/2 round-robin \| phase 3\/3 kill-site/);
    assert.match(stdout, /client-sh +east-sh-\d \d+%.*\| p50 [\d.]+ ms p99 [\d.]+ ms \| errors \d+/);
    assert.match(stdout, /Summary \(all clients/);
    // Secure by default: the tiers made a CA, everything enrolled, clients use their node credentials.
    assert.match(stdout, /secure mode: the global tier created its CA and admin token/);
    assert.match(stdout, /grpc-js-xds clients \(plaintext xDS listeners, each with its node credential\)/);

    const report = fs.readFileSync(path.join(out, 'demo-report.md'), 'utf8');
    assert.match(report, /\| scenario \| edge-aware p50 \| p99 \| errors \| round-robin p50 \| p99 \| errors \|/);
    for (const s of ['steady', 'overload', 'kill-site']) {
      assert.match(
        report,
        new RegExp(`^\\| ${s} \\| [\\d.]+ ms \\| [\\d.]+ ms \\| \\d+/\\d+ \\| [\\d.]+ ms \\| [\\d.]+ ms \\| \\d+/\\d+ \\|$`, 'm'),
        `${s} row with both strategies`,
      );
    }
    // Edge-aware keeps client-sh in its zone in steady state; round robin spreads it over the region.
    const row = (strategy: string): string[] =>
      report
        .split('\n')
        .find((l) => l.startsWith(`| ${strategy} | steady | client-sh |`))
        ?.split('|')
        .map((x) => x.trim()) ?? [];
    assert.equal(row('edge-aware')[9], '0', `edge-aware: client-sh sends nothing to east-hz (${row('edge-aware').join(' ')})`);
    assert.ok(Number(row('round-robin')[9]) > 10, `round robin: client-sh sends to east-hz (${row('round-robin').join(' ')})`);
    const svg = fs.readFileSync(path.join(out, 'demo-report.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok((svg.match(/<rect [^>]*><title>/g) ?? []).length >= 6, 'a bar per scenario, strategy and percentile');

    // Cleanup: every process it started is gone, its temp dir removed.
    const m = /cleanup: stopped (\d+) processes \(pids ([\d,]+)\), removed (\S+)/.exec(stdout);
    assert.ok(m, `cleanup line\n${stdout.slice(-2000)}`);
    const pids = m[2].split(',').map(Number);
    assert.ok(pids.length >= 6, `global, relay, 3 sites, client: ${pids.length}`);
    assert.deepEqual(pids.filter(alive), [], 'no process left running');
    assert.equal(fs.existsSync(m[3]), false, 'temp dir removed');
  } finally {
    removeDir(out);
  }
});
