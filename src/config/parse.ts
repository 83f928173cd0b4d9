/** Parsers for option values (each throws an Error with a human message). */
import type { LogLevel } from '../observability';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "10s", "500ms", "1m", "2h", or a bare number of milliseconds -> ms. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new Error(`expected a duration like 500ms, 10s, 1m or 2h, got "${text}"`);
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 'ms'];
  if (!Number.isFinite(ms)) throw new Error(`duration out of range: "${text}"`);
  return Math.round(ms);
}

export function parsePort(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new Error(`expected a port number 0..65535, got "${text}"`);
  const n = Number(text);
  if (n > 65535) throw new Error(`expected a port number 0..65535, got "${text}"`);
  return n;
}

export function parseIntIn(min: number, max: number): (text: string) => number {
  return (text) => {
    if (!/^-?\d+$/.test(text.trim())) throw new Error(`expected an integer ${min}..${max}, got "${text}"`);
    const n = Number(text);
    if (n < min || n > max) throw new Error(`expected an integer ${min}..${max}, got "${text}"`);
    return n;
  };
}

export function parseFloatIn(min: number, max: number, minExclusive = false): (text: string) => number {
  return (text) => {
    const n = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(n) || n > max || (minExclusive ? n <= min : n < min)) {
      throw new Error(`expected a number in ${minExclusive ? '(' : '['}${min}, ${max}], got "${text}"`);
    }
    return n;
  };
}

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function parseLogLevel(text: string): LogLevel {
  const t = text.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(t)) throw new Error(`expected one of ${LOG_LEVELS.join(', ')}, got "${text}"`);
  return t as LogLevel;
}

export function parseNonEmpty(text: string): string {
  if (text.trim() === '') throw new Error('must not be empty');
  return text;
}

export function parseHost(text: string): string {
  const t = text.trim();
  if (t === '' || /\s/.test(t)) throw new Error(`expected a host name or IP address, got "${text}"`);
  return t;
}
