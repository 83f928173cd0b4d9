import pino from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** One structured JSON logger per process; components take child loggers. */
export function createLogger(level: LogLevel = 'info', name = 'edge-xds'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

/** A logger that drops everything (tests and embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
