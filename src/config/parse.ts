/** Parsers for option values (each throws an Error with a human message). */
import type { LogLevel } from '../observability';

export { parseDuration } from '../domain/duration';

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

/** "LAT,LON" in degrees. */
export function parseLocation(text: string): { lat: number; lon: number } {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!m) throw new Error(`expected LAT,LON in degrees (e.g. 31.23,121.47), got "${text}"`);
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  if (lat < -90 || lat > 90) throw new Error(`latitude must be in [-90, 90], got ${lat}`);
  if (lon < -180 || lon > 180) throw new Error(`longitude must be in [-180, 180], got ${lon}`);
  return { lat, lon };
}

/** A comma-separated list of HOST:PORT (repeatable flags arrive joined by commas). */
export function parseHostPortList(text: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new Error('expected at least one HOST:PORT');
  for (const it of items) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(it);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`expected HOST:PORT, got "${it}"`);
  }
  return items;
}

/** An IPv4 or IPv6 literal (what the xDS clients accept as an endpoint address). */
export function parseIpLiteral(text: string): string {
  const t = text.trim();
  if (require('node:net').isIP(t) === 0) throw new Error(`expected an IP address literal (hostnames are not allowed), got "${text}"`);
  return t;
}

/** A DNS label: 1-63 lowercase letters, digits or "-", not starting or ending with "-". */
export function parseDnsLabel(text: string): string {
  const t = text.trim();
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(t)) throw new Error(`expected a DNS label (lowercase letters, digits, "-"), got "${text}"`);
  return t;
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?$/i;
const UNIT_BYTES: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "64MiB", "512KiB", "1GiB", or a bare number of bytes -> bytes. */
export function parseByteSize(text: string): number {
  const m = SIZE.exec(text.trim());
  if (!m) throw new Error(`expected a size like 64MiB, 512KiB, 1GiB or a number of bytes, got "${text}"`);
  const n = Math.round(Number(m[1]) * UNIT_BYTES[(m[2] ?? 'b').toLowerCase()]!);
  if (!Number.isSafeInteger(n)) throw new Error(`size out of range: "${text}"`);
  return n;
}
