/**
 * Demo results: per strategy and scenario, per client locality and merged over
 * all clients (percentiles from the merged latency samples); the terminal
 * summary, demo-report.md and an SVG chart (grouped bars, hand-written SVG).
 */
import { percentile } from './stats';
import { fmt } from './view';

export type StrategyName = 'edge-aware' | 'round-robin';
export const STRATEGIES: StrategyName[] = ['edge-aware', 'round-robin'];

export interface ClientResult {
  ok: number;
  failed: number;
  counts: Record<string, number>;
  errors: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ScenarioResult {
  strategy: StrategyName;
  scenario: string;
  description: string;
  durationMs: number;
  clients: Record<string, ClientResult>;
  all: { ok: number; failed: number; p50Ms: number | null; p99Ms: number | null };
}

/** Merges clients: counts add up, percentiles over every latency sample. */
export function mergeClients(clients: Record<string, ClientResult>, samples: number[]): ScenarioResult['all'] {
  const sorted = [...samples].sort((a, b) => a - b);
  let ok = 0;
  let failed = 0;
  for (const c of Object.values(clients)) {
    ok += c.ok;
    failed += c.failed;
  }
  return { ok, failed, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

function scenarios(results: ScenarioResult[]): string[] {
  return [...new Set(results.map((r) => r.scenario))];
}

function find(results: ScenarioResult[], strategy: StrategyName, scenario: string): ScenarioResult | undefined {
  return results.find((r) => r.strategy === strategy && r.scenario === scenario);
}

/** Rows: scenario | edge-aware p50 p99 errors | round-robin p50 p99 errors. */
export function summaryRows(results: ScenarioResult[]): string[][] {
  const rows = [['scenario', 'edge-aware p50', 'p99', 'errors', 'round-robin p50', 'p99', 'errors']];
  for (const s of scenarios(results)) {
    const row = [s];
    for (const st of STRATEGIES) {
      const r = find(results, st, s);
      row.push(r ? `${fmt(r.all.p50Ms)} ms` : '-', r ? `${fmt(r.all.p99Ms)} ms` : '-', r ? `${r.all.failed}/${r.all.ok + r.all.failed}` : '-');
    }
    rows.push(row);
  }
  return rows;
}

/** A fixed-width text table (terminal). */
export function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

function mdTable(rows: string[][]): string {
  const [head, ...body] = rows;
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export interface ReportMeta {
  mode: 'full' | 'quick';
  startedAt: Date;
  durationS: number;
  topology: string[];
  scenarioText: Record<string, string>;
  sites: string[];
  svgFile: string;
  command: string;
}

export function markdownReport(results: ScenarioResult[], meta: ReportMeta): string {
  const out: string[] = [];
  out.push('# edge-xds demo report', '');
  out.push(`${meta.mode} run of \`${meta.command}\`, ${meta.startedAt.toISOString()}, ${meta.durationS.toFixed(0)} s, node ${process.version}.`, '');
  out.push('## Topology', '', ...meta.topology.map((t) => `- ${t}`), '');
  out.push('## Scenarios', '', ...scenarios(results).map((s) => `- **${s}**: ${meta.scenarioText[s] ?? ''}`), '');
  out.push('## Edge-aware vs round robin (all clients)', '');
  out.push('Latency percentiles over every RPC of every client in the phase; errors = failed RPCs / all RPCs.', '');
  out.push(mdTable(summaryRows(results)), '');
  out.push(`![latency per scenario](${meta.svgFile})`, '');
  out.push('## Per client locality', '');
  const rows = [['strategy', 'scenario', 'client', 'p50', 'p99', 'errors', ...meta.sites.map((s) => `${s} %`)]];
  for (const r of results) {
    for (const [c, v] of Object.entries(r.clients)) {
      rows.push([
        r.strategy,
        r.scenario,
        c,
        `${fmt(v.p50Ms)} ms`,
        `${fmt(v.p99Ms)} ms`,
        `${v.failed}${
          Object.keys(v.errors).length
            ? ` (${Object.entries(v.errors)
                .map(([k, n]) => `${k} ${n}`)
                .join(', ')})`
            : ''
        }`,
        ...meta.sites.map((s) => (v.ok ? String(Math.round((100 * (v.counts[s] ?? 0)) / v.ok)) : '-')),
      ]);
    }
  }
  out.push(mdTable(rows), '');
  return out.join('\n');
}

const COLORS: Record<StrategyName, string> = { 'edge-aware': '#2b7bb9', 'round-robin': '#e08a1e' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Two panels (p50, p99), each with one group per scenario and one bar per strategy. */
export function svgChart(results: ScenarioResult[], title: string): string {
  const names = scenarios(results);
  const W = Math.max(640, 120 + names.length * 130);
  const panelH = 220;
  const top = 50;
  const left = 60;
  const plotW = W - left - 20;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${top + 2 * (panelH + 60) + 20}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${esc(title)}</text>`);
  STRATEGIES.forEach((st, i) => {
    const x = left + i * 150;
    parts.push(`<rect x="${x}" y="32" width="12" height="12" fill="${COLORS[st]}"/><text x="${x + 16}" y="42">${st}</text>`);
  });
  (['p50Ms', 'p99Ms'] as const).forEach((metric, pi) => {
    const y0 = top + pi * (panelH + 60) + 20;
    const values = results.map((r) => r.all[metric] ?? 0);
    const max = niceMax(Math.max(1, ...values));
    parts.push(`<text x="${left}" y="${y0 - 6}" font-weight="bold">${metric === 'p50Ms' ? 'p50' : 'p99'} latency (ms)</text>`);
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      const y = y0 + panelH - (panelH * k) / 4;
      parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${left - 6}" y="${y + 4}" text-anchor="end">${fmt(v)}</text>`);
    }
    const groupW = plotW / names.length;
    const barW = Math.min(40, (groupW - 20) / STRATEGIES.length);
    names.forEach((s, gi) => {
      const gx = left + gi * groupW + (groupW - barW * STRATEGIES.length) / 2;
      STRATEGIES.forEach((st, bi) => {
        const r = find(results, st, s);
        const v = r?.all[metric];
        if (v === null || v === undefined) return;
        const h = (panelH * v) / max;
        const x = gx + bi * barW;
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${(y0 + panelH - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[st]}"><title>${esc(`${st} ${s}: ${fmt(v)} ms`)}</title></rect>`,
        );
        parts.push(`<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y0 + panelH - h - 3).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(v)}</text>`);
      });
      parts.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${y0 + panelH + 16}" text-anchor="middle">${esc(s)}</text>`);
    });
    parts.push(
      `<line x1="${left}" x2="${left}" y1="${y0}" y2="${y0 + panelH}" stroke="#333"/><line x1="${left}" x2="${left + plotW}" y1="${y0 + panelH}" y2="${y0 + panelH}" stroke="#333"/>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
