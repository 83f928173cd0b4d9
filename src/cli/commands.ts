/** The `edge-xds` command line: `serve`, `migrate`, `explain`, `bootstrap`, `demo-backend`, `loadgen`. */
import { Command, Option } from 'commander';
import { OptionError, OptionSpec, SERVE_OPTIONS, ServerOptions, resolveOptions, resolveServerOptions } from '../config';
import { createLogger } from '../observability';
// The server and store are loaded by the commands that run them (serve, migrate), not by every command:
// tokens, enrollment and bootstraps start ~4x faster.
import type { RunningServer } from '../server';
import { registerExplain } from './explain';
import { registerBootstrap } from './bootstrap';
import { registerDemoCommands } from './demo';
import { registerToken } from './token';
import { registerEnroll } from './enroll';

/** Hard limit for a graceful stop after SIGTERM/SIGINT. */
export const SHUTDOWN_TIMEOUT_MS = 4500;

type Given = Partial<Record<keyof ServerOptions, string>>;

/**
 * Adds one commander option per spec; values stay raw text (parsed and
 * validated by resolveOptions, which also reads the environment).
 */
function addSpecOptions(cmd: Command, specs: readonly OptionSpec[]): () => Given {
  const keyOf = new Map<string, keyof ServerOptions>();
  for (const s of specs) {
    const def = s.defaultText === null ? '' : ` (default: ${s.defaultText})`;
    const opt = new Option(s.flag, `${s.description}${s.boolean ? '' : def} [env ${s.env}]`);
    if (s.repeatable) opt.argParser((value: string, previous: string | undefined) => (previous ? `${previous},${value}` : value));
    keyOf.set(opt.attributeName(), s.key);
    cmd.addOption(opt);
  }
  return () => {
    const given: Given = {};
    for (const [attr, value] of Object.entries(cmd.opts())) {
      const key = keyOf.get(attr);
      if (key !== undefined && typeof value === 'string') given[key] = value;
      else if (key !== undefined && value === true) given[key] = 'true';
    }
    return given;
  };
}

const MIGRATE_KEYS = new Set<keyof ServerOptions>(['db', 'logLevel']);

export function buildProgram(): Command {
  const program = new Command('edge-xds').description('Edge-aware xDS control plane: edge node registry + xDS server').showHelpAfterError().exitOverride();

  const serve = program.command('serve').description('run the control plane (applies migrations first)');
  const serveGiven = addSpecOptions(serve, SERVE_OPTIONS);
  serve.action(async () => {
    const opts = resolveServerOptions(serveGiven(), process.env);
    await runServe(opts);
  });

  const migrate = program.command('migrate').description('apply pending database migrations and exit');
  const migrateSpecs = SERVE_OPTIONS.filter((s) => MIGRATE_KEYS.has(s.key));
  const migrateGiven = addSpecOptions(migrate, migrateSpecs);
  migrate.action(async () => {
    const o = resolveOptions(migrateSpecs, migrateGiven(), process.env);
    await runMigrate(o.db as string, o.logLevel ?? 'info');
  });

  registerExplain(program);
  registerBootstrap(program);
  registerDemoCommands(program);
  registerToken(program);
  registerEnroll(program);
  return program;
}

async function runServe(opts: ServerOptions): Promise<void> {
  const log = createLogger(opts.logLevel);
  // Handlers go in before the server starts: the ready file is written during
  // startServer, and a signal right after it must still stop gracefully.
  let stopping: NodeJS.Signals | null = null;
  let server: RunningServer | null = null;
  const finish = (s: RunningServer): void => {
    const hard = setTimeout(() => {
      log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'graceful stop timed out');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    hard.unref();
    s.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = signal;
    log.info({ signal }, 'signal received, stopping');
    if (server) finish(server);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const { startServer } = await import('../server');
  server = await startServer(opts, log);
  if (stopping) finish(server);
}

async function runMigrate(file: string, level: ServerOptions['logLevel']): Promise<void> {
  const log = createLogger(level);
  const { appliedMigrations, migrateLatest, openDatabase } = await import('../store');
  const db = openDatabase({ file });
  try {
    const applied = await migrateLatest(db);
    const all = await appliedMigrations(db);
    log.info({ db: file, applied, total: all.length }, applied.length ? 'migrations applied' : 'database up to date');
  } finally {
    await db.destroy();
  }
}

const OPERATOR_ERRORS = new Set(['DatabaseUnusableError', 'CaError', 'TlsDirError']);

/** Entry point: parses argv, runs the command; exits 2 on bad options. */
export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // Operator errors (bad options, an unusable database, CA or relay certificate files): the message, exit 2.
    if (err instanceof OptionError || (err instanceof Error && OPERATOR_ERRORS.has(err.name))) {
      process.stderr.write(`edge-xds: ${err.message}\n`);
      process.exit(2);
    }
    const code = (err as { code?: string; exitCode?: number }).code;
    if (typeof code === 'string' && code.startsWith('commander.')) {
      process.exit((err as { exitCode?: number }).exitCode ?? 2);
    }
    process.stderr.write(`edge-xds: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
}
