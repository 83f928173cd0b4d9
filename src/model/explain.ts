/**
 * The "why does traffic go there" table, for the debugging endpoint and the CLI.
 */
import type { EndpointAssignment, EndpointHealth, Locality } from './types';

export interface ExplainRow {
  nodeId: string;
  /** address:port */
  endpoint: string;
  locality: Locality;
  priority: number;
  weight: number;
  sharePct: number;
  health: EndpointHealth;
  distanceKm: number | null;
  load: number;
  latestLoad: number;
  capacity: number;
  networkFactor: number;
  overloaded: boolean;
}

const round = (v: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** One row per endpoint, in the assignment's order, numbers rounded for display (JSON-friendly). */
export function explainTable(assignments: readonly EndpointAssignment[]): ExplainRow[] {
  return assignments.map((a) => ({
    nodeId: a.nodeId,
    endpoint: a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`,
    locality: { ...a.locality },
    priority: a.priority,
    weight: a.weight,
    sharePct: round(a.sharePct, 2),
    health: a.health,
    distanceKm: a.factors.distanceKm === null ? null : round(a.factors.distanceKm, 1),
    load: round(a.factors.load, 3),
    latestLoad: round(a.factors.latestLoad, 3),
    capacity: a.factors.capacity,
    networkFactor: round(a.factors.network, 3),
    overloaded: a.factors.overloaded,
  }));
}

const COLUMNS: Array<{ title: string; right: boolean; cell: (r: ExplainRow) => string }> = [
  { title: 'PRIO', right: true, cell: (r) => String(r.priority) },
  { title: 'NODE', right: false, cell: (r) => r.nodeId },
  { title: 'ENDPOINT', right: false, cell: (r) => r.endpoint },
  { title: 'LOCALITY', right: false, cell: (r) => `${r.locality.region}/${r.locality.zone}` },
  { title: 'HEALTH', right: false, cell: (r) => r.health },
  { title: 'WEIGHT', right: true, cell: (r) => String(r.weight) },
  { title: 'SHARE%', right: true, cell: (r) => r.sharePct.toFixed(2) },
  { title: 'DIST_KM', right: true, cell: (r) => (r.distanceKm === null ? '-' : r.distanceKm.toFixed(1)) },
  { title: 'LOAD', right: true, cell: (r) => r.load.toFixed(3) },
  { title: 'LATEST', right: true, cell: (r) => r.latestLoad.toFixed(3) },
  { title: 'CAPACITY', right: true, cell: (r) => String(r.capacity) },
  { title: 'NET_Q', right: true, cell: (r) => r.networkFactor.toFixed(3) },
  { title: 'OVERLOAD', right: false, cell: (r) => (r.overloaded ? 'yes' : 'no') },
];

/** A plain-text table (no colours), one line per row plus a header; ends with a newline. */
export function formatExplainTable(rows: readonly ExplainRow[]): string {
  const cells = rows.map((r) => COLUMNS.map((c) => c.cell(r)));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => (COLUMNS[i].right ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  if (rows.length === 0) return `${line(COLUMNS.map((c) => c.title))}\n(no endpoints)\n`;
  return [line(COLUMNS.map((c) => c.title)), ...cells.map(line)].join('\n') + '\n';
}
