#!/usr/bin/env node
/**
 * Load generator process (one per client locality: grpc-js-xds reads its
 * bootstrap once per process, from GRPC_XDS_BOOTSTRAP or GRPC_XDS_BOOTSTRAP_CONFIG):
 *   node dist/src/demo/loadgen-main.js --target xds:///echo --rate 200 --duration 10s --report-every 250ms
 *   node dist/src/demo/loadgen-main.js --target 127.0.0.1:15001 --authority echo --format text   (through Envoy)
 * stdout: one JSON record per line (see loadgen.ts), or text with --format text.
 * stdin: JSON lines {"cmd":"reset"} | {"cmd":"mark","name":"phase-2"} | {"cmd":"stop"}.
 * Logs and errors: stderr. SIGTERM/SIGINT stop like {"cmd":"stop"} (summary, exit 0).
 */
import readline from 'node:readline';
import { Command, InvalidArgumentError, Option } from 'commander';
import { durationArg, intArg, numberArg } from './args';
import { Loadgen, LoadgenRecord, formatRecord } from './loadgen';

interface Flags {
  target: string;
  authority?: string;
  rate: number;
  duration: number;
  maxRequests?: number;
  deadline: number;
  reportEvery: number;
  warmup: number;
  format: 'json' | 'text';
  clientLocality?: { region: string; zone: string };
}

export function buildLoadgenCommand(): Command {
  return new Command('edge-xds-loadgen')
    .description('steady-rate Echo load generator printing which node served each RPC and the latency')
    .option('--target <target>', 'gRPC target: xds:///echo (proxyless) or host:port of an Envoy egress listener', 'xds:///echo')
    .option('--authority <authority>', ':authority of the RPCs (Envoy routes by it, e.g. "echo")')
    .option('--rate <rps>', 'requests per second', numberArg(0.001, 100_000), 50)
    .option('--duration <duration>', 'how long to send', durationArg, 10_000)
    .option('--max-requests <n>', 'stop after this many requests (default rate x duration)', intArg(1, 1e9))
    .option('--deadline <duration>', 'per-RPC deadline', durationArg, 1000)
    .option('--report-every <duration>', 'window record interval', durationArg, 1000)
    .option('--warmup <duration>', 'wait up to this long for a first successful RPC before starting (0 = no wait)', durationArg, 10_000)
    .option('--client-locality <region/zone>', 'where this client is, sent as x-client-region/x-client-zone metadata (demo backends add distance delay)', localityArg)
    .addOption(new Option('--format <format>', 'stdout format').choices(['json', 'text']).default('json'));
}

function localityArg(text: string): { region: string; zone: string } {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(text);
  if (!m) throw new InvalidArgumentError(`expected REGION/ZONE, got "${text}"`);
  return { region: m[1], zone: m[2] };
}

export async function runLoadgen(argv: string[]): Promise<void> {
  const cmd = buildLoadgenCommand();
  cmd.parse(argv);
  const f = cmd.opts<Flags>();
  if (f.target.startsWith('xds:')) {
    (require('@grpc/grpc-js-xds') as { register(): void }).register();
  }
  const print = (r: LoadgenRecord): void => {
    process.stdout.write(`${f.format === 'text' ? formatRecord(r) : JSON.stringify(r)}\n`);
  };
  const lg = new Loadgen({
    target: f.target,
    authority: f.authority,
    rate: f.rate,
    durationMs: f.duration,
    maxRequests: f.maxRequests,
    deadlineMs: f.deadline,
    reportEveryMs: f.reportEvery,
    warmupMs: f.warmup,
    clientLocality: f.clientLocality,
    onRecord: print,
  });

  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    try {
      const c = JSON.parse(line) as { cmd?: string; name?: string };
      if (c.cmd === 'stop') lg.stop();
      else if (c.cmd === 'reset' || c.cmd === 'mark') lg.mark(typeof c.name === 'string' ? c.name : `phase-${Date.now()}`);
      else process.stderr.write(`loadgen: unknown command ${line}\n`);
    } catch {
      process.stderr.write(`loadgen: stdin lines must be JSON, got ${line}\n`);
    }
  });
  process.once('SIGTERM', () => lg.stop());
  process.once('SIGINT', () => lg.stop());

  await lg.run();
  rl.close();
  lg.close();
  process.stdout.write('', () => process.exit(0));
}

if (require.main === module) {
  runLoadgen(process.argv).catch((err: Error) => {
    process.stderr.write(`loadgen: ${err.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
