/** Exit codes of the secure-mode commands: 0 done, 1 server, network or file trouble, 2 bad usage. */
import type { Command, CommanderError } from 'commander';
import { CliError } from './https-client';

type Flags = Record<string, string | boolean | undefined>;

/** exitOverride callback: commander's usage errors (unknown option, missing argument) exit 2, help exits 0. */
export function usageExit(err: CommanderError): never {
  if (err.exitCode !== 0) err.exitCode = 2;
  throw err;
}

/**
 * A commander action that prints a CliError as `edge-xds <name>: message`
 * and sets its exit code; anything else is a bug and propagates (exit 1
 * with the stack, from main).
 */
export function cliAction(name: string, fn: (flags: Flags, arg?: string) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const arg = typeof args[0] === 'string' ? args[0] : undefined;
    try {
      await fn(cmd.opts() as Flags, arg);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      process.stderr.write(`edge-xds ${name}: ${err.message}\n`);
      process.exitCode = err.exitCode;
    }
  };
}
