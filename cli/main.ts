/**
 * `task-ingest`: the ops CLI. The same code runs against AWS or the local sandbox
 * (`--endpoint http://127.0.0.1:4566`, stage `local`).
 *
 * Exit codes: 0 ok; 1 a validation or user error (invalid rule, missing rule, unreadable file, an
 * AWS call that failed), with a message on stderr; 2 a usage error (unknown command or option,
 * missing argument, no stage where one is needed).
 *
 * `buildProgram(deps)` builds the program for tests (captured io, injected env and clients);
 * `run(argv, deps)` parses and returns the exit code; the module runs itself only when it is the
 * entry point (`tsx cli/main.ts`), and `bin/task-ingest.mjs` calls `main()`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerDlqCommands } from '#cli/commands/dlq.ts';
import { registerRuleCommands } from '#cli/commands/rules.ts';
import { declaredSchedules, registerScheduleCommands } from '#cli/commands/schedules.ts';
import { registerSendCommand } from '#cli/commands/send.ts';
import { registerStatusCommand } from '#cli/commands/status.ts';
import { registerTaskCommands } from '#cli/commands/tasks.ts';
import { defaultInstanceId, registerTemplateCommands } from '#cli/commands/templates.ts';
import { registerTransferCommands } from '#cli/commands/transfers.ts';
import {
  type CliContext,
  CliError,
  type ClientFactories,
  type CliIo,
  createCliContext,
  DEFAULT_REGION,
  describeError,
  type Env,
  type GlobalOptions,
  isLoopback,
  resolveSettings,
} from '#cli/context.ts';
import { now as clockNow } from '#lib/clock.ts';
import { LANES, type Lane } from '#lib/lanes.ts';
import { DynamoLedgerStore } from '#lib/transfers/ledger.ts';
import { loadServerlessConfig } from '#sandbox/serverless-config.ts';

export interface CliDeps {
  io?: CliIo;
  /** Defaults to process.env. */
  env?: Env;
  /** SDK client factories (tests inject loopback or mocked clients). */
  clients?: Partial<ClientFactories>;
}

/** Commander errors that are about the command line itself. */
const HELP_CODES = new Set(['commander.helpDisplayed', 'commander.version']);

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin)
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks).toString('utf8');
  },
  confirm: async (question) => {
    if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
    const { createInterface } = await import('node:readline/promises');
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await prompt.question(question)).trim());
    } finally {
      prompt.close();
    }
  },
};

interface BuiltProgram {
  program: Command;
  io: CliIo;
  /** Closes the clients the run built. */
  dispose(): void;
}

function createProgram(deps: CliDeps = {}): BuiltProgram {
  const io = deps.io ?? processIo;
  const env = deps.env ?? process.env;
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

  let context: CliContext | undefined;
  const ctx = (): CliContext => {
    context ??= createCliContext({
      global: program.opts<GlobalOptions>(),
      env,
      io,
      ...(deps.clients === undefined ? {} : { clients: deps.clients }),
    });
    return context;
  };

  registerRuleCommands(program, {
    io,
    env,
    ruleStore: () => ctx().ruleStore(),
    connect: () => ctx().connect,
    instanceIds: () => ctx().connectInstanceIds(),
  });
  registerTemplateCommands(program, {
    io,
    connect: () => ctx().connect,
    defaultInstanceId: () =>
      defaultInstanceId(env, resolveSettings(program.opts<GlobalOptions>(), env).stage),
  });
  registerSendCommand(program, {
    io,
    target: async (lane) => ({ sqs: ctx().sqs, queueUrl: await ctx().laneQueueUrl(lane) }),
  });

  // The dlq commands take their queue URLs synchronously; GetQueueUrl is resolved before the action.
  const queues: { dlqUrl?: string; ingestQueueUrl?: string; laneQueueUrls?: Partial<Record<Lane, string>> } =
    {};
  const dlq = registerDlqCommands(program, () => ({
    sqs: ctx().sqs,
    dlqUrl: resolved(queues.dlqUrl, 'DLQ'),
    ingestQueueUrl: resolved(queues.ingestQueueUrl, 'ingest queue'),
    laneQueueUrls: queues.laneQueueUrls ?? {},
  }));
  registerTransferCommands(program, () => ({ dynamo: ctx().dynamo, transfersTable: ctx().transfersTable() }));
  registerTaskCommands(program, io, () => ({
    dynamo: ctx().dynamo,
    connect: ctx().connect,
    ledgerTable: ctx().ledgerTable(),
    transfersTable: ctx().transfersTable(),
    instanceIds: ctx().connectInstanceIds(),
  }));
  registerScheduleCommands(program, {
    schedules: () => {
      const stage = resolveSettings(program.opts<GlobalOptions>(), env).stage ?? 'dev';
      try {
        return declaredSchedules(loadServerlessConfig({ stage }).custom);
      } catch (error) {
        throw new CliError(`serverless.yml: ${describeError(error)}`, 1, [], { cause: error });
      }
    },
    now: async () => {
      // Against the sandbox, "now" is its movable clock.
      const { endpoint } = resolveSettings(program.opts<GlobalOptions>(), env);
      if (!isLoopback(endpoint)) return clockNow();
      try {
        const response = await fetch(new URL('/_sandbox/clock', endpoint), {
          signal: AbortSignal.timeout(2000),
        });
        const body = (await response.json()) as { now?: string };
        const ms = Date.parse(body.now ?? '');
        return Number.isFinite(ms) ? ms : clockNow();
      } catch {
        return clockNow();
      }
    },
    lookup: () => ({
      ruleStore: ctx().ruleStore(),
      ledger: new DynamoLedgerStore({ client: ctx().dynamo, tableName: ctx().ledgerTable() }),
    }),
  });
  registerStatusCommand(program, () => {
    const context = ctx();
    return {
      sqs: context.sqs,
      dynamo: context.dynamo,
      budgetTable: context.budgetTable(),
      laneQueueUrl: (lane) => context.laneQueueUrl(lane),
      dlqUrl: () => context.dlqUrl(),
      ...(context.settings.stage === undefined ? {} : { stage: context.settings.stage }),
    };
  });

  program.hook('preAction', async (_program, actionCommand) => {
    if (isWithin(actionCommand, dlq)) {
      queues.dlqUrl = await ctx().dlqUrl();
      queues.ingestQueueUrl = await ctx().ingestQueueUrl();
      // Replays go to their lane's queue. A stage deployed before lanes has no other lane queues
      // (and its records no lane): a lane queue that cannot be found is reported per message.
      queues.laneQueueUrls = { normal: queues.ingestQueueUrl };
      const lanes = actionCommand.name() === 'replay' ? LANES.filter((l) => l !== 'normal') : [];
      for (const lane of lanes) {
        const url = await ctx()
          .laneQueueUrl(lane)
          .catch(() => undefined);
        if (url !== undefined) queues.laneQueueUrls[lane] = url;
      }
    }
  });

  return { program, io, dispose: () => context?.destroy() };
}

function isWithin(command: Command, ancestor: Command): boolean {
  for (let current: Command | null = command; current !== null; current = current.parent) {
    if (current === ancestor) return true;
  }
  return false;
}

function resolved(url: string | undefined, what: string): string {
  if (url === undefined) throw new Error(`the ${what} URL was not resolved before the command ran`);
  return url;
}

/** The `task-ingest` program, for tests: parse with `parseAsync(argv, { from: 'user' })`. */
export function buildProgram(deps?: CliDeps): Command {
  return createProgram(deps).program;
}

/**
 * Runs the CLI.
 * Input: the arguments after the program name, and optional deps.
 * Output: the exit code (0 ok, 1 user/validation error, 2 usage); messages go to the io.
 */
export async function run(argv: readonly string[], deps?: CliDeps): Promise<number> {
  const { program, io, dispose } = createProgram(deps);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (usage, or help).
      if (HELP_CODES.has(error.code)) return 0;
      return error.code === 'commander.error' ? error.exitCode || 1 : 2;
    }
    if (error instanceof CliError) {
      io.stderr(`error: ${error.message}\n`);
      for (const detail of error.details) io.stderr(`  - ${detail}\n`);
      return error.exitCode;
    }
    io.stderr(`error: ${describeError(error)}\n`);
    return 1;
  } finally {
    dispose();
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
