/**
 * The demo's live terminal view: per client locality, the share of traffic
 * per site (last ~2 s), p50/p99 of the latest window, errors in the current
 * phase, and the phase. On a TTY the table is redrawn in place (ANSI cursor
 * movement); otherwise events are printed as they happen and the table as
 * plain lines every few seconds.
 */
import type { WindowRecord } from './loadgen';

interface ClientState {
  windows: WindowRecord[];
  phaseErrors: number;
  phaseOk: number;
}

export class LiveView {
  private readonly state = new Map<string, ClientState>();
  private header = '';
  private readonly events: string[] = [];
  private drawn = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastPlain = 0;
  constructor(
    private readonly sites: string[],
    private readonly clients: string[],
    private readonly tty: boolean,
    private readonly write: (s: string) => void = (s) => process.stdout.write(s),
    private readonly t0 = Date.now(),
    private readonly plainEveryMs = 3000,
  ) {
    for (const c of clients) this.state.set(c, { windows: [], phaseErrors: 0, phaseOk: 0 });
  }

  start(): void {
    this.timer ??= setInterval(() => this.render(), this.tty ? 500 : 250);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.tty) this.render();
  }

  /** Current pass/phase line; resets the per-phase error counts. */
  phase(header: string): void {
    this.header = header;
    for (const s of this.state.values()) {
      s.phaseErrors = 0;
      s.phaseOk = 0;
    }
    this.event(header);
  }

  event(text: string): void {
    const line = `[${((Date.now() - this.t0) / 1000).toFixed(1).padStart(5)}s] ${text}`;
    if (!this.tty || !this.timer) {
      // Plain output, or a TTY before the table is shown (startup progress).
      this.write(`${line}\n`);
      return;
    }
    this.events.push(line);
    if (this.events.length > 6) this.events.shift();
  }

  window(client: string, w: WindowRecord): void {
    const s = this.state.get(client);
    if (!s) return;
    s.windows.push(w);
    if (s.windows.length > 4) s.windows.shift();
    s.phaseErrors += w.failed;
    s.phaseOk += w.ok;
  }

  /** The table as lines (no ANSI). */
  table(): string[] {
    const siteW = Math.max(6, ...this.sites.map((s) => s.length));
    const clientW = Math.max(8, ...this.clients.map((c) => c.length));
    const head = [`${'client'.padEnd(clientW)}`, ...this.sites.map((s) => s.padStart(siteW)), '   rps', '  p50 ms', '  p99 ms', '  errors'].join(' ');
    const lines = [head];
    for (const c of this.clients) {
      const s = this.state.get(c) as ClientState;
      const counts: Record<string, number> = {};
      let ok = 0;
      let spanMs = 0;
      for (const w of s.windows) {
        ok += w.ok;
        for (const [n, k] of Object.entries(w.counts)) counts[n] = (counts[n] ?? 0) + k;
      }
      if (s.windows.length > 1) spanMs = s.windows[s.windows.length - 1].t - s.windows[0].t;
      const last = s.windows[s.windows.length - 1];
      const share = (n: string): string => (ok > 0 ? `${Math.round((100 * (counts[n] ?? 0)) / ok)}%` : '-').padStart(siteW);
      const rps = spanMs > 0 ? Math.round((ok - (s.windows[0]?.ok ?? 0)) / (spanMs / 1000)) : 0;
      lines.push(
        [c.padEnd(clientW), ...this.sites.map(share), String(rps).padStart(6), fmt(last?.p50Ms).padStart(8), fmt(last?.p99Ms).padStart(8), String(s.phaseErrors).padStart(8)].join(
          ' ',
        ),
      );
    }
    return lines;
  }

  /** One line per client for logs: shares of the sites that served, p50/p99, errors. */
  plainLine(client: string): string {
    const s = this.state.get(client) as ClientState;
    const counts: Record<string, number> = {};
    let ok = 0;
    for (const w of s.windows) {
      ok += w.ok;
      for (const [n, k] of Object.entries(w.counts)) counts[n] = (counts[n] ?? 0) + k;
    }
    const last = s.windows[s.windows.length - 1];
    const shares =
      this.sites
        .filter((n) => counts[n])
        .map((n) => `${n} ${Math.round((100 * counts[n]) / ok)}%`)
        .join(', ') || 'no traffic';
    return `${client.padEnd(10)} ${shares} | p50 ${fmt(last?.p50Ms)} ms p99 ${fmt(last?.p99Ms)} ms | errors ${s.phaseErrors}`;
  }

  render(): void {
    if (!this.tty) {
      if (Date.now() - this.lastPlain < this.plainEveryMs) return;
      this.lastPlain = Date.now();
      for (const c of this.clients) this.write(`  ${this.plainLine(c)}\n`);
      return;
    }
    const lines = [`\x1b[1m${this.header}\x1b[0m`, ...this.table(), '', ...this.events];
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.write(`${up}\r\x1b[0J${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  /** Forget what was drawn (the next render starts below any text printed meanwhile). */
  detach(): void {
    this.drawn = 0;
  }
}

export function fmt(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms >= 100 ? String(Math.round(ms)) : ms.toFixed(1);
}
