/** Durations as operators write them: "500ms", "10s", "1m", "2h", "30d", or a bare number of milliseconds. */
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Duration text -> ms; throws an Error with a human message. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`expected a duration like 500ms, 10s, 1m, 2h or 30d, got "${text}"`);
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
  if (!Number.isFinite(ms)) throw new Error(`duration out of range: "${text}"`);
  return Math.round(ms);
}
