/** The small logger surface the demo parts use (pino loggers fit it). */
export interface DemoLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const noop = (): void => undefined;
export const silentDemoLogger: DemoLogger = { info: noop, warn: noop, error: noop, debug: noop };

/** One JSON line per record on stderr (stdout stays free for data). */
export function stderrLogger(name: string, level: 'debug' | 'info' | 'warn' | 'error' = 'info'): DemoLogger {
  const order = ['debug', 'info', 'warn', 'error'];
  const min = order.indexOf(level);
  const at =
    (lvl: string) =>
    (obj: object, msg?: string): void => {
      if (order.indexOf(lvl) < min) return;
      const rec: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, name, ...obj };
      if (msg) rec.msg = msg;
      const err = (obj as { err?: unknown }).err;
      if (err instanceof Error) rec.err = { message: err.message, cause: String((err as { cause?: unknown }).cause ?? '') };
      process.stderr.write(`${JSON.stringify(rec)}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
