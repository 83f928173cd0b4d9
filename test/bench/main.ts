/**
 * `npm run bench [-- SUBCOMMAND ...]`
 *   (none)   short profile (< 3 min): 1,000 proxies, 50 services, 500 endpoints, SotW + delta, with the floor
 *   full     the issue's targets: 10,000 proxies, 200 services, 2,000 endpoints, SotW + delta, with the floor
 *   fleet    --proxies N --services S --endpoints E --mode sotw|delta [--via-relays R] [--target HOST:PORT]
 *            [--out results.json] [--workers 2] [--channels 8] [--rounds 4] [--churn 60s] [--observe 30s]
 *            [--settle 12s] [--no-floor] [--node-flags "--cpu-prof --cpu-prof-dir=DIR"] [--worker-flags "..."] [--server-args "..."] [--server-log FILE] [--no-write]
 *            [--secure] (secure mode: HTTPS with the admin token, one mTLS channel per proxy; no floor, relays or --target)
 *   secure   secure mode (#13) against --insecure in one run: REST heartbeats at saturation and fleet sync/convergence,
 *            ratios against 1.3x (test/bench/secure.ts; --proxies 1000 --mode sotw|delta|both --connections 200 --repeat 1 ...)
 *   pushes   EDS pushes under noisy heartbeats, hysteresis on/off (test/bench/pushes.ts) [--short] [--write]
 *   encode   encodedResource's writer against the hand-written one it replaced (test/bench/encode.ts, seconds)
 * Results: JSON (--out, default docs/bench-results/fleet-<mode>-<N>.json) and a table appended to docs/BENCHMARKS.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from '../../src/config';
import { runFleet, writeJson, type FleetArgs, type FleetResult } from './fleet-bench';
import { runPushes } from './pushes';
import { runEncodeBench } from './encode';
import { appendToBenchmarks, markdown } from './report';
import { runSecure } from './secure';

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function fleetArgs(argv: string[], defaults: Partial<FleetArgs> = {}): FleetArgs {
  const n = (name: string, def: number): number => {
    const v = flag(argv, name);
    if (v === undefined) return def;
    const x = Number(v);
    if (!Number.isInteger(x) || x < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
    return x;
  };
  const d = (name: string, def: number): number => (flag(argv, name) === undefined ? def : parseDuration(flag(argv, name)!));
  const mode = flag(argv, 'mode') ?? defaults.mode ?? 'sotw';
  if (mode !== 'sotw' && mode !== 'delta') throw new Error(`--mode must be sotw or delta, got ${mode}`);
  const split = (s: string | undefined): string[] => (s ?? '').split(' ').filter((x) => x !== '');
  const proxies = n('proxies', defaults.proxies ?? 1000);
  return {
    proxies,
    services: n('services', defaults.services ?? 50),
    endpoints: n('endpoints', defaults.endpoints ?? 500),
    mode,
    viaRelays: n('via-relays', 0),
    target: flag(argv, 'target') ?? null,
    workers: n('workers', defaults.workers ?? 2),
    channels: n('channels', defaults.channels ?? Math.max(1, Math.ceil(proxies / 2 / 250))),
    rounds: n('rounds', defaults.rounds ?? 4),
    churnMs: d('churn', defaults.churnMs ?? 60_000),
    observeMs: d('observe', 30_000),
    syncTimeoutMs: d('sync-timeout', defaults.syncTimeoutMs ?? 120_000),
    settleMs: d('settle', 12_000),
    floor: !argv.includes('--no-floor'),
    nodeFlags: split(flag(argv, 'node-flags')),
    workerFlags: split(flag(argv, 'worker-flags')),
    serverArgs: split(flag(argv, 'server-args')),
    serverLog: flag(argv, 'server-log') ?? null,
    secure: argv.includes('--secure'),
    dir: fs.mkdtempSync(path.join(os.tmpdir(), 'edge-xds-fleet-')),
  };
}

const RESULTS_DIR = path.resolve(__dirname, '../../../docs/bench-results');

async function runAll(command: string, list: FleetArgs[], argv: string[]): Promise<FleetResult[]> {
  const results: FleetResult[] = [];
  for (const a of list) {
    try {
      const r = await runFleet(a);
      results.push(r);
      const out =
        flag(argv, 'out') && list.length === 1
          ? path.resolve(flag(argv, 'out')!)
          : path.join(RESULTS_DIR, `fleet-${a.target ? 'target-' : ''}${a.secure ? 'secure-' : ''}${a.mode}-${a.proxies}${a.viaRelays ? `-relays${a.viaRelays}` : ''}.json`);
      writeJson(out, r);
      console.log(`[fleet] results written to ${out}`);
    } finally {
      fs.rmSync(a.dir, { recursive: true, force: true });
    }
  }
  if (!argv.includes('--no-write') && results.length > 0) {
    appendToBenchmarks(markdown(command, results));
    console.log('[fleet] table appended to docs/BENCHMARKS.md');
  }
  console.log(markdown(command, results));
  return results;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const sub = argv[0] && !argv[0].startsWith('--') ? argv[0] : 'short';
  const rest = sub === 'short' ? argv : argv.slice(1);
  const quote = (x: string): string => (/^[\w@%+=:,./-]+$/.test(x) ? x : `"${x.replace(/(["\\$`])/g, '\\$1')}"`);
  const command = `npm run bench${argv.length ? ` -- ${argv.map(quote).join(' ')}` : ''}`;
  if (sub === 'fleet') {
    await runAll(command, [fleetArgs(rest)], rest);
  } else if (sub === 'short') {
    const base = { proxies: 1000, services: 50, endpoints: 500, rounds: 2, churnMs: 20_000, syncTimeoutMs: 60_000 };
    await runAll(command, [fleetArgs(rest, { ...base, mode: 'sotw' }), fleetArgs(rest, { ...base, mode: 'delta' })], rest);
  } else if (sub === 'full') {
    const base = { proxies: 10_000, services: 200, endpoints: 2_000, rounds: 4, churnMs: 60_000, syncTimeoutMs: 180_000 };
    const modes = flag(rest, 'mode') ? [flag(rest, 'mode') as 'sotw' | 'delta'] : (['sotw', 'delta'] as const);
    await runAll(
      command,
      modes.map((mode) => fleetArgs(rest, { ...base, mode })),
      rest,
    );
  } else if (sub === 'encode') {
    runEncodeBench();
  } else if (sub === 'secure') {
    await runSecure(rest, command);
  } else if (sub === 'pushes') {
    await runPushes(rest, command);
  } else {
    throw new Error(`unknown bench subcommand ${sub} (fleet, full, secure, pushes, encode, or none for the short profile)`);
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`[fleet] ${err.message}`);
    process.exit(1);
  },
);
