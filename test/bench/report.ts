/** Fleet results as a markdown table appended to docs/BENCHMARKS.md, with targets marked met / not met. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FleetResult } from './fleet-bench';

export const BENCHMARKS_MD = path.resolve(__dirname, '../../../docs/BENCHMARKS.md');

export function machine(): string {
  let model = os.cpus()[0]?.model ?? 'unknown';
  try {
    model = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  return `${os.cpus().length} cores (nproc), ${model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

const ms = (x: number): string => (Number.isFinite(x) ? (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`) : 'n/a');
const mib = (b: number): string => (Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(1)} MiB` : 'n/a');
const kib = (b: number): string => (Number.isFinite(b) ? `${(b / 1024).toFixed(1)} KiB` : 'n/a');
const num = (x: number, d = 0): string => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d }) : 'n/a');

interface Row {
  label: string;
  cell: (r: FleetResult) => string;
}

function verdict(ok: boolean | null, value: string): string {
  return ok === null ? value : `${value} — ${ok ? 'met' : '**not met**'}`;
}

function atScale(r: FleetResult): string {
  const a = r.args;
  return a.proxies === 10_000 && a.services === 200 && a.endpoints === 2_000 ? '' : ' (target is set for 10k/200/2k)';
}

const ROWS: Row[] = [
  {
    label: 'proxies / services / endpoints',
    cell: (r) => `${num(r.args.proxies)} / ${r.args.services} / ${num(r.args.endpoints)}${r.args.viaRelays ? ` via ${r.args.viaRelays} relays` : ''}`,
  },
  {
    label: 'initial sync (target < 15 s)',
    cell: (r) =>
      verdict(
        r.args.target ? null : r.sync.synced === r.args.proxies && r.sync.ms < 15_000,
        `${ms(r.sync.ms)} (${num(r.sync.synced)} synced; per stream p50 ${ms(r.sync.perStream.p50)}, p99 ${ms(r.sync.perStream.p99)})`,
      ) + atScale(r),
  },
  {
    label: 'REST heartbeats answered during the sync p50 / p99 / max',
    cell: (r) =>
      r.sync.heartbeatMs && r.sync.heartbeatMs.n > 0
        ? `${ms(r.sync.heartbeatMs.p50)} / ${ms(r.sync.heartbeatMs.p99)} / ${ms(r.sync.heartbeatMs.max)} (${num(r.sync.heartbeatMs.n)} heartbeats)`
        : 'n/a',
  },
  {
    label: 'server event loop delay during the sync: worst p99 of a 2 s scrape / max',
    cell: (r) => (r.sync.loopDelayMs ? `${ms(r.sync.loopDelayMs.p99)} / ${ms(r.sync.loopDelayMs.max)}` : 'n/a'),
  },
  {
    label: 'convergence p50 / p99 / max (target p99 < 1 s; < 1.5 s via relays)',
    cell: (r) =>
      r.args.target
        ? 'n/a'
        : verdict(
            r.convergence.n > 0 && r.convergence.p99 < (r.args.viaRelays ? 1500 : 1000),
            `${ms(r.convergence.p50)} / ${ms(r.convergence.p99)} / ${ms(r.convergence.max)} (${num(r.convergence.affected)} of ${num(r.convergence.expected)} proxies per change, ${r.convergence.rounds} changes)`,
          ),
  },
  {
    label: 'floor convergence p50 / p99 / max',
    cell: (r) =>
      r.floor
        ? `${ms(r.floor.convergence.p50)} / ${ms(r.floor.convergence.p99)} / ${ms(r.floor.convergence.max)} (floor sync ${ms(r.floor.sync.ms)}, floor CPU ${r.floor.cpuSeconds.toFixed(1)} s)`
        : 'n/a',
  },
  {
    label: 'convergence p99 / floor p99 (target <= 2x)',
    cell: (r) => (r.floor && r.convergence.n ? verdict(r.convergence.p99 <= 2 * r.floor.convergence.p99, `${(r.convergence.p99 / r.floor.convergence.p99).toFixed(2)}x`) : 'n/a'),
  },
  { label: 'fan-out spread per EDS version p50 / p99 / max', cell: (r) => `${ms(r.spread.p50)} / ${ms(r.spread.p99)} / ${ms(r.spread.max)} (${r.spread.versions} versions)` },
  {
    label: 'bytes per EDS push to a proxy p50 / max',
    cell: (r) =>
      r.args.target
        ? 'n/a'
        : verdict(
            r.convergence.otherResources === 0 && r.convergence.n > 0,
            `${kib(r.convergence.bytesPerPush.p50)} / ${kib(r.convergence.bytesPerPush.max)} (other resources in those pushes: ${r.convergence.otherResources}; target: only the changed cluster)`,
          ),
  },
  {
    label: 'churn: heartbeats/min vs EDS pushes/min (target >= 10x fewer)',
    cell: (r) =>
      r.churn
        ? verdict(
            r.churn.pushesPerMin * 10 <= r.churn.heartbeatsPerMin,
            `${num(r.churn.heartbeatsPerMin)} vs ${num(r.churn.pushesPerMin, 1)} (view versions); ${num(r.churn.responsesPerMin)} responses/min, ${mib(r.churn.bytesPerMin)}/min`,
          )
        : 'n/a',
  },
  { label: 'responses/s, bytes/s seen by the fleet', cell: (r) => (r.throughput ? `${num(r.throughput.responsesPerSec, 1)} /s, ${kib(r.throughput.bytesPerSec)}/s` : 'n/a') },
  { label: 'server CPU (whole run / until synced)', cell: (r) => (r.cost ? `${r.cost.cpuSeconds.toFixed(1)} s / ${r.cost.cpuSecondsSync.toFixed(1)} s` : 'n/a') },
  { label: 'server peak RSS (target < 1.5 GiB)', cell: (r) => (r.cost ? verdict(r.cost.peakRssBytes < 1.5 * 2 ** 30, mib(r.cost.peakRssBytes)) : 'n/a') },
  { label: 'RSS per connected proxy', cell: (r) => (r.cost ? kib(r.cost.rssPerProxyBytes) : 'n/a') },
  { label: 'bytes sent per proxy (initial sync)', cell: (r) => (r.cost ? kib(r.cost.bytesPerProxy) : 'n/a') },
  {
    label: 'global streams (target: one per relay)',
    cell: (r) => (r.cost?.globalStreams != null ? verdict(r.cost.globalStreams === r.args.viaRelays, String(r.cost.globalStreams)) : 'n/a'),
  },
  { label: 'errors', cell: (r) => (r.errors.length ? r.errors.join('; ').replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 500) : 'none') },
];

export function markdown(command: string, results: FleetResult[]): string {
  const head = `| | ${results.map((r) => `${r.args.target ? `target ${r.args.target}` : r.args.secure ? 'edge-xds (secure)' : 'edge-xds'} ${r.args.mode}`).join(' | ')} |`;
  const sep = `|---|${results.map(() => '---').join('|')}|`;
  const rows = ROWS.map((row) => `| ${row.label} | ${results.map((r) => row.cell(r)).join(' | ')} |`);
  return [
    `### Fleet run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${machine()}`,
    '',
    head,
    sep,
    ...rows,
    '',
  ].join('\n');
}

/** Appends under "## Fleet" (created at the end if missing), leaving other sections alone. */
export function appendToBenchmarks(section: string, file = BENCHMARKS_MD): void {
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  if (!/^## Fleet$/m.test(text))
    text = `${text.trimEnd()}\n\n## Fleet\n\nFleet runs (\`npm run bench\`, \`npm run bench -- fleet ...\`, \`npm run bench -- full\`); newest last.\n`;
  const start = text.search(/^## Fleet$/m);
  const after = text.slice(start + '## Fleet'.length);
  const nextSection = after.search(/^## /m);
  const insertAt = nextSection < 0 ? text.length : start + '## Fleet'.length + nextSection;
  const out = `${text.slice(0, insertAt).trimEnd()}\n\n${section.trimEnd()}\n${nextSection < 0 ? '' : '\n'}${text.slice(insertAt)}`;
  fs.writeFileSync(file, out);
}
