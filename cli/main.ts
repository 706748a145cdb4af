/**
 * `task-ingest`: the ops CLI. The same code runs against AWS or the local sandbox
 * (`--endpoint http://127.0.0.1:4566`, stage `local`).
 *
 * Exit codes: 0 ok; 1 a validation or user error (invalid rule, missing rule, unreadable file, an
 * AWS call that failed, an endpoint that cannot be reached), with a message on stderr; 2 a usage
 * error (unknown command or option, missing argument, no stage where one is needed).
 *
 * Every command group is a module (cli/groups.ts) registered with the one context of the run
 * (cli/context.ts); only the group the command line names is loaded. `run(argv, deps)` parses and
 * returns the exit code (tests inject io, environment and clients); `main()` is what the
 * `task-ingest` bin runs, from the bundle `npm run build:cli` makes.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import {
  type CliContext,
  type ClientFactories,
  createCliContext,
  DEFAULT_REGION,
  type Env,
} from '#cli/context.ts';
import { CliError, describeError, unreachableMessage, unreachableReason } from '#cli/errors.ts';
import { COMMAND_GROUPS, type CommandGroup, groupsFor } from '#cli/groups.ts';
import { type CliIo, processIo } from '#cli/io.ts';
import { isLoopback } from '#cli/settings.ts';

export interface CliDeps {
  io?: CliIo;
  /** Defaults to process.env. */
  env?: Env;
  /** SDK client factories (tests inject loopback or mocked clients). */
  clients?: Partial<ClientFactories>;
  /** Reads the sandbox's clock (tests without a sandbox inject one). */
  fetch?: typeof globalThis.fetch;
}

/** Commander errors that are about the command line itself. */
const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.version']);

/**
 * The program with its global options and every group's command, and the context of the run.
 * Input: the deps; the groups whose modules to load (default: the one `argv` names; all: every one).
 */
export async function buildProgram(
  deps: CliDeps = {},
  load: readonly CommandGroup[] = COMMAND_GROUPS,
): Promise<{ program: Command; ctx: CliContext }> {
  const io = deps.io ?? processIo;
  const program = new Command('task-ingest')
    .description(
      'Operate connect-task-ingest: rules, test messages, the DLQ, scheduled transfers and the status',
    )
    .option(
      '--endpoint <url>',
      'AWS endpoint, e.g. http://127.0.0.1:4566 for the sandbox (default: $AWS_ENDPOINT_URL)',
    )
    .option('--region <region>', `AWS Region (default: $AWS_REGION or ${DEFAULT_REGION})`)
    .option(
      '--stage <stage>',
      'stage naming the tables and queues, connect-task-ingest-<stage>-* (default: $TASK_INGEST_STAGE, or local for a loopback endpoint)',
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout(text), writeErr: (text) => io.stderr(text) });
  const ctx = createCliContext({
    global: () => program.opts(),
    env: deps.env ?? process.env,
    io,
    ...(deps.clients === undefined ? {} : { clients: deps.clients }),
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
  });
  for (const group of COMMAND_GROUPS) {
    const command = program.command(group.name).description(group.summary);
    if (load.includes(group)) (await group.load()).register(command, ctx);
  }
  return { program, ctx };
}

/**
 * Runs the CLI.
 *
 * @param argv - the arguments after the program name.
 * @param deps - replacements for the io, the environment and the AWS clients (tests).
 * @returns the exit code: 0 ok, 1 user or validation error, 2 usage; messages go to the io.
 * @example
 * const code = await run(['dlq', 'list', '--class', 'PERMANENT']);
 */
export async function run(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const { program, ctx } = await buildProgram(deps, groupsFor(argv));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    return report(ctx, error);
  } finally {
    ctx.destroy();
  }
}

/** Prints a failure and returns its exit code. */
function report(ctx: CliContext, error: unknown): number {
  const { io } = ctx;
  if (error instanceof CommanderError) {
    // Commander has already printed its message (usage, or help).
    if (HELP_CODES.has(error.code)) return 0;
    return error.code === 'commander.error' ? error.exitCode || 1 : 2;
  }
  const unreachable = unreachableReason(error);
  if (unreachable !== undefined && !(error instanceof CliError && error.exitCode === 2)) {
    const endpoint = endpointOf(ctx);
    io.stderr(`error: ${unreachableMessage(endpoint, unreachable, isLoopback(endpoint))}\n`);
    return 1;
  }
  if (error instanceof CliError) {
    io.stderr(`error: ${error.message}\n`);
    for (const detail of error.details) io.stderr(`  - ${detail}\n`);
    return error.exitCode;
  }
  io.stderr(`error: ${describeError(error)}\n`);
  return 1;
}

function endpointOf(ctx: CliContext): string | undefined {
  try {
    return ctx.settings().endpoint;
  } catch {
    return undefined;
  }
}

/** Entry point: runs with the process's arguments and sets the exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const code = await run(argv);
  // A command may have set a failure exit code itself (e.g. a partial replay); keep it.
  if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) await main();
