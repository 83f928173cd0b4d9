/**
 * `edge-xds demo-backend ...` and `edge-xds loadgen ...`: the demo data plane
 * (src/demo) behind the main command, every argument passed through as is
 * (`edge-xds demo-backend --help` prints the backend's own options).
 */
import { Command } from 'commander';

function passThrough(program: Command, name: string, description: string, run: (argv: string[]) => Promise<void>): void {
  program
    .command(name)
    .description(description)
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[args...]', 'passed to the command')
    .action(async (_args: string[], _opts: unknown, cmd: Command) => {
      await run([process.argv[0] ?? 'node', `edge-xds ${name}`, ...cmd.args]);
    });
}

/** Adds `demo-backend` and `loadgen`. */
export function registerDemoCommands(program: Command): void {
  passThrough(program, 'demo-backend', 'demo echo backend: registers and heartbeats to edge-xds (see --help)', async (argv) => {
    const { runBackend } = await import('../demo/backend-main');
    await runBackend(argv);
  });
  passThrough(program, 'loadgen', 'steady-rate Echo load generator, proxyless xDS or through Envoy (see --help)', async (argv) => {
    const { runLoadgen } = await import('../demo/loadgen-main');
    await runLoadgen(argv);
  });
}
