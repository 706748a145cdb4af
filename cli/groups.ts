/**
 * The command groups of `task-ingest`, one entry each: the name, the one line the root `--help`
 * shows, and the module that registers its subcommands, options and actions. A group's module is
 * loaded only when the command line names it, so `--help` and each command load only their own code
 * (and their own AWS SDK clients).
 *
 * Adding a group: a module under cli/commands/ exporting `register(command, ctx)`, and one entry here.
 */
import type { Command } from 'commander';
import type { CliContext } from '#cli/context.ts';

/** What a group's module exports: adds the group's subcommands (or its own arguments and action). */
interface CommandGroupModule {
  register(command: Command, ctx: CliContext): void;
}

export interface CommandGroup {
  name: string;
  /** The group's description (root --help lists it; the group's own --help shows it too). */
  summary: string;
  load(): Promise<CommandGroupModule>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  {
    name: 'rules',
    summary: 'manage the per-source rules, apply rule files (rules as code) and try rules out',
    load: () => import('#cli/commands/rules/index.ts'),
  },
  {
    name: 'templates',
    summary: 'task templates as code: list, show, diff and apply template files, delete',
    load: () => import('#cli/commands/templates.ts'),
  },
  {
    name: 'send',
    summary: 'publish a message to the ingest queue and print its MessageId',
    load: () => import('#cli/commands/send.ts'),
  },
  {
    name: 'dlq',
    summary: 'inspect, replay and delete dead-letter queue messages',
    load: () => import('#cli/commands/dlq/index.ts'),
  },
  {
    name: 'transfers',
    summary: 'inspect and manage scheduled transfers (TransferContact)',
    load: () => import('#cli/commands/transfers.ts'),
  },
  {
    name: 'tasks',
    summary: 'inspect the tasks ingest created',
    load: () => import('#cli/commands/tasks/index.ts'),
  },
  {
    name: 'outcomes',
    summary: "the task outcomes on the stage's outcome bus (tail, follow; the sandbox keeps them)",
    load: () => import('#cli/commands/outcomes.ts'),
  },
  {
    name: 'schedules',
    summary: 'the task schedules of serverless.yml (EventBridge Scheduler): declarations, occurrences, tasks',
    load: () => import('#cli/commands/schedules.ts'),
  },
  {
    name: 'status',
    summary:
      'backlog per lane, the DLQ by class, open tasks against the active-task quota, the shared budget and how much of it the service gets, and the time to drain',
    load: () => import('#cli/commands/status/index.ts'),
  },
];

const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--endpoint', '--region', '--stage']);

/**
 * The groups a command line needs loaded: the one it names (`task-ingest dlq list`, or
 * `task-ingest help dlq`), or none (`--help`, an unknown command: commander answers from the names
 * and summaries alone). `all` loads every group (tests of the whole program).
 */
export function groupsFor(argv: readonly string[]): CommandGroup[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
      continue;
    }
    words.push(arg);
  }
  const named = words[0] === 'help' ? words[1] : words[0];
  return COMMAND_GROUPS.filter((group) => group.name === named);
}
