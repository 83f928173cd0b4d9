#!/usr/bin/env node
/**
 * npm run demo [-- --quick] [--out DIR] [--plain] [--insecure]
 * Runs the local multi-region demo (src/demo/orchestrator.ts) and writes
 * DIR/demo-report.md and DIR/demo-report.svg (DIR: the current directory).
 * Ctrl-C stops it cleanly (every child process stopped, temp dir removed);
 * a second Ctrl-C kills the children at once.
 */
import { Command } from 'commander';
import { runDemo } from './orchestrator';
import { killEverythingNow } from './procs';

interface Flags {
  quick: boolean;
  out: string;
  plain: boolean;
  phaseMs?: string;
  insecure: boolean;
}

export async function runDemoMain(argv: string[]): Promise<number> {
  const cmd = new Command('edge-xds-demo')
    .description('local multi-region demo: edge-aware routing vs round robin through five scenarios')
    .option('--quick', 'one region (1 relay, 3 sites, 1 client), three phases (~20-30 s)', false)
    .option('--out <dir>', 'folder for demo-report.md and demo-report.svg', '.')
    .option('--plain', 'plain progress lines even on a terminal', false)
    .option('--phase-ms <ms>', 'length of every phase (default 6-7 s, quick 3-4 s)')
    .option('--insecure', 'run every server in open mode (no TLS, no enrollment)', false)
    .exitOverride();
  try {
    cmd.parse(argv);
  } catch (err) {
    return (err as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const f = cmd.opts<Flags>();
  const phaseMs = f.phaseMs === undefined ? undefined : Number(f.phaseMs);
  if (phaseMs !== undefined && !(phaseMs >= 500 && phaseMs <= 120_000)) {
    process.stderr.write(`demo: --phase-ms: expected 500..120000, got ${f.phaseMs}\n`);
    return 2;
  }
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    process.stderr.write(`\ndemo: ${sig}: stopping every process${signals > 1 ? ' now' : ' (again to kill at once)'}\n`);
    if (signals > 1) {
      killEverythingNow();
      process.exit(130);
    }
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killEverythingNow);
  try {
    await runDemo({ quick: f.quick, outDir: f.out, tty: Boolean(process.stdout.isTTY) && !f.plain, signal: ac.signal, phaseMs, insecure: f.insecure });
    return 0;
  } catch (err) {
    process.stderr.write(`demo: ${ac.signal.aborted ? 'aborted' : ((err as Error).stack ?? String(err))}\n`);
    return ac.signal.aborted ? 130 : 1;
  }
}

if (require.main === module) {
  void runDemoMain(process.argv).then((code) => process.exit(code));
}
