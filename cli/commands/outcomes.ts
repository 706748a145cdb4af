/**
 * `task-ingest outcomes tail [--since SEQ] [--follow] [--interval MS] [--type T] [--json]`: the task
 * outcomes (CloudEvents, lib/outcomes/outcome.ts) on the stage's outcome bus.
 *
 * Against the sandbox it reads the events the sandbox's EventBridge keeps per bus (GET
 * /_sandbox/events?bus=<bus>&since=<seq>, sandbox/events/admin.ts), oldest first, each with its
 * sequence number on the bus; `--follow` polls for newer ones until Ctrl-C (SIGINT ends it with exit
 * 0). Against AWS there is no API to read events back from a bus: the command says how to subscribe a
 * queue with a rule on the bus, with the event pattern to use, and exits 2.
 *
 * Human output: one line per event (sequence number, time, type, outcome id, subject, the source/id of
 * the event it is about); `--json`: each CloudEvent on one line. An event on the bus that is not an
 * outcome is shown as such, never dropped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, Option } from 'commander';
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import type { CliContext, SandboxAnswer } from '#cli/context.ts';
import { CliError, CliUserError } from '#cli/errors.ts';
import { integerIn } from '#cli/options.ts';
import { isLoopback, resourceName } from '#cli/settings.ts';
import { OUTCOME_SOURCE, OUTCOME_TYPES } from '#lib/outcomes/outcome.ts';

z.config(en());

const keptPageSchema = z.object({
  bus: z.string(),
  lastSeq: z.number(),
  evicted: z.number(),
  events: z.array(
    z.object({
      seq: z.number(),
      event: z.object({
        id: z.string(),
        time: z.string(),
        'detail-type': z.string(),
        source: z.string(),
        detail: z.record(z.string(), z.unknown()),
      }),
    }),
  ),
});

/** What the sandbox keeps of a bus after a sequence number. */
export type KeptPage = z.infer<typeof keptPageSchema>;
export type KeptEvent = KeptPage['events'][number];

export interface TailOptions {
  since: number;
  follow?: boolean;
  /** Milliseconds between polls with --follow. */
  interval: number;
  type?: string;
  json?: boolean;
}

export const DEFAULT_TAIL_INTERVAL_MS = 1000;

export function register(outcomes: Command, ctx: CliContext): void {
  outcomes
    .command('tail')
    .description(
      "the task outcomes on the stage's outcome bus, oldest first (the sandbox keeps them; on AWS, subscribe a queue)",
    )
    .option(
      '--since <seq>',
      "only the events after this sequence number of the bus's",
      integerIn(0, 2 ** 52),
      0,
    )
    .option('--follow', 'keep printing new outcomes until Ctrl-C')
    .option(
      '--interval <ms>',
      'with --follow: milliseconds between polls',
      integerIn(100, 60_000),
      DEFAULT_TAIL_INTERVAL_MS,
    )
    .addOption(new Option('--type <type>', 'only outcomes of this type').choices(OUTCOME_TYPES))
    .option('--json', 'print each outcome as its CloudEvent, one JSON object per line')
    .action(async (options: TailOptions) => {
      if (!isLoopback(ctx.settings().endpoint)) throw refusal(ctx, options.type);
      const bus = ctx.outcomeBusName();
      const stop = new AbortController();
      const interrupt = () => stop.abort();
      if (options.follow) process.once('SIGINT', interrupt);
      try {
        await tailOutcomes(
          { read: (since) => readKept(ctx, bus, since), out: ctx.io.stdout, err: ctx.io.stderr },
          options,
          stop.signal,
        );
      } finally {
        process.off('SIGINT', interrupt);
      }
    });
}

/** Against AWS: how to read the outcomes instead (exit 2). */
function refusal(ctx: CliContext, type: string | undefined): CliError {
  let bus: string;
  try {
    bus = ctx.outcomeBusName();
  } catch {
    bus = resourceName('<stage>', 'outcomes');
  }
  const pattern = JSON.stringify({
    source: [OUTCOME_SOURCE],
    ...(type === undefined ? {} : { 'detail-type': [type] }),
  });
  return new CliError(
    `outcomes tail reads the outcomes the sandbox keeps; EventBridge has no API to read the events of a bus back (${bus})`,
    2,
    [
      `subscribe a queue: a rule on the bus ${bus} (stack output OutcomeBusName) with the event pattern ${pattern} and the queue as its target (its policy must let events.amazonaws.com send to it)`,
      `aws events put-rule --event-bus-name ${bus} --name outcomes-tail --event-pattern '${pattern}'`,
      `aws events put-targets --event-bus-name ${bus} --rule outcomes-tail --targets Id=queue,Arn=<queue ARN>`,
      'then read the queue (aws sqs receive-message): each body is the EventBridge event, its detail the CloudEvent',
    ],
  );
}

/** The bus's kept events after `since` (the sandbox's admin route), checked. */
async function readKept(ctx: CliContext, bus: string, since: number): Promise<KeptPage> {
  const query = new URLSearchParams({ bus, since: String(since) });
  const answer = (await ctx.sandboxGet(`events?${query}`)) as SandboxAnswer;
  if (answer.status !== 200) {
    const message = (answer.body as { message?: unknown } | undefined)?.message;
    throw new CliUserError(
      `GET /_sandbox/events?bus=${bus}: ${answer.status}${typeof message === 'string' ? ` ${message}` : ' (is the endpoint a sandbox?)'}`,
    );
  }
  const parsed = keptPageSchema.safeParse(answer.body);
  if (!parsed.success) {
    throw new CliUserError(`GET /_sandbox/events?bus=${bus}: not the kept events of a bus`, [
      ...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)')),
    ]);
  }
  return parsed.data;
}

export interface TailDeps {
  read(since: number): Promise<KeptPage>;
  out(text: string): void;
  err(text: string): void;
}

/**
 * Prints the kept events after `options.since`; with `follow`, polls every `interval` ms for newer
 * ones until `signal` aborts. Output: the sequence number of the last event read.
 */
export async function tailOutcomes(
  deps: TailDeps,
  options: TailOptions,
  signal: AbortSignal,
): Promise<number> {
  let since = options.since;
  let first = true;
  for (;;) {
    const page = await deps.read(since);
    const oldest = page.events[0]?.seq;
    if (first && page.evicted > 0 && (oldest === undefined || oldest > since + 1)) {
      deps.err(
        `note: the sandbox keeps a bounded number of events per bus; ${page.evicted} older ones were dropped\n`,
      );
    }
    for (const kept of page.events) {
      since = Math.max(since, kept.seq);
      if (options.type !== undefined && kept.event['detail-type'] !== options.type) continue;
      deps.out(options.json ? `${JSON.stringify(kept.event.detail)}\n` : `${outcomeLine(kept)}\n`);
    }
    since = Math.max(since, page.lastSeq);
    if (first && !options.follow && page.events.length === 0)
      deps.err(`no events on ${page.bus} after #${options.since}\n`);
    first = false;
    if (!options.follow || signal.aborted) return since;
    await sleep(options.interval, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return since;
  }
}

const TYPE_WIDTH = Math.max(...OUTCOME_TYPES.map((type) => type.length));

/** `#seq  time  type  id  subject  source/id`, or what a non-outcome event has. */
export function outcomeLine(kept: KeptEvent): string {
  const { seq, event } = kept;
  const d = event.detail;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const data = d.data as { event?: { source?: unknown; id?: unknown } } | undefined;
  const id = text(d.id);
  const type = text(d.type);
  if (id === undefined || type === undefined || event.source !== OUTCOME_SOURCE) {
    return `#${seq}  ${event.time}  ${event['detail-type']}  ${event.id}  (not a task outcome: source ${event.source})`;
  }
  const about = `${text(data?.event?.source) ?? '-'}/${text(data?.event?.id) ?? '-'}`;
  return `#${seq}  ${text(d.time) ?? event.time}  ${type.padEnd(TYPE_WIDTH)}  ${id}  ${text(d.subject) ?? '-'}  ${about}`;
}
