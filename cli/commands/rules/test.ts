/**
 * `task-ingest rules test <rule-file> <message-file>` (or `--source S <message-file>`): the exact
 * StartTaskContact request (ClientToken included) a message would produce, or every problem;
 * never calls Connect.
 */
import type { Command } from 'commander';
import { validatedRule } from '#cli/commands/rules/validate.ts';
import type { CliContext } from '#cli/context.ts';
import { CliUsageError, CliUserError, describeError } from '#cli/errors.ts';
import { type CliIo, type MessageInput, readDocument, readMessage, toJson } from '#cli/io.ts';
import { collectAttr } from '#cli/options.ts';
import { now } from '#lib/clock.ts';
import type { TaskTemplateView } from '#lib/connect/templates.ts';
import { type LambdaMessageAttributes, parseEnvelope } from '#lib/envelope/parse.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import { planTask, type TaskPlan } from '#lib/ingest/plan.ts';
import { type CompiledRule, compileRule, validateRule } from '#lib/rules/compile.ts';

/** The SQS message id `rules test` pretends the message had (raw messages without an `id` use it as their id). */
const TEST_MESSAGE_ID = '00000000-0000-4000-8000-000000000000';

interface RuleTestOptions {
  source?: string;
  attr?: Record<string, string>;
  sample?: boolean;
  templateFile?: string;
  messageId: string;
  json?: boolean;
}

export function registerRuleTestCommand(rules: Command, ctx: CliContext): void {
  rules
    .command('test')
    .description(
      'print the StartTaskContact request a message would produce (with its ClientToken), without calling Connect',
    )
    .argument('<files...>', '<rule-file> <message-file>, or just <message-file> with --source')
    .option('--source <source>', 'use the stored rules of this source instead of a rule file')
    .option('--attr <key=value>', 'an SQS message attribute of the message (repeatable)', collectAttr)
    .option(
      '--sample',
      'the message file is a sample message {body, messageAttributes} (events/messages/*.json)',
    )
    .option(
      '--template-file <file>',
      'GetTaskTemplate output (JSON) to validate a template-based task against',
    )
    .option('--message-id <id>', 'the SQS message id to assume', TEST_MESSAGE_ID)
    .option('--json', 'print {ok, ruleId, idempotencyKey, request, truncated} or {ok, issues} as JSON')
    .action(async (files: string[], options: RuleTestOptions) => {
      await testRule(ctx, files, options);
    });
}

/**
 * `rules test` use case.
 * Input: a rule file (or the stored rules of `--source`), a message file, message attributes,
 * optionally a task template.
 * Output: the validated StartTaskContact request with its ClientToken on stdout; exit 1 with every
 * problem otherwise. Connect is never called.
 * Primary course: normalise the message (as the ingest handler does) → ingest's own planning step
 * (`planTask`, lib/ingest/plan.ts: select → map → ClientToken → validate) → print.
 */
async function testRule(ctx: CliContext, files: string[], options: RuleTestOptions): Promise<void> {
  const { io } = ctx;
  const expected = options.source === undefined ? 2 : 1;
  if (files.length !== expected) {
    throw new CliUsageError(
      options.source === undefined
        ? 'rules test needs <rule-file> <message-file> (or --source <source> <message-file>)'
        : 'with --source, rules test takes only <message-file>',
    );
  }
  const messageFile = files[files.length - 1] as string;
  const { candidates, defaultSource } = await candidateRules(
    ctx,
    options.source ?? { file: files[0] as string },
  );
  const message = await readMessage(io, messageFile, options.sample === true);
  const envelope = normalise(message, messageFile, options, defaultSource);
  // The planning step ingest runs, with no lane to forward to and the template from --template-file.
  const plan = await planTask(envelope, candidates, {
    limits: ctx.limits(),
    now,
    async template() {
      if (options.templateFile !== undefined)
        return templateView(await readDocument(io, options.templateFile));
      io.stderr('note: template checks skipped (pass --template-file with the GetTaskTemplate output)\n');
      return undefined;
    },
  });
  if (plan.kind === 'refused') refuse(io, plan, candidates, envelope, options);
  else if (plan.kind === 'start') printPlan(io, plan, options);
  else printOtherAction(io, plan.rule.rule, options);
}

/** The rule of the file, or the stored rules of the source that still validate. */
async function candidateRules(
  ctx: CliContext,
  from: string | { file: string },
): Promise<{ candidates: CompiledRule[]; defaultSource: string }> {
  if (typeof from !== 'string') {
    const rule = await validatedRule(ctx, await readDocument(ctx.io, from.file), from.file);
    return { candidates: [compileRule(rule)], defaultSource: rule.source };
  }
  const candidates: CompiledRule[] = [];
  for (const record of await (await ctx.ruleStore()).list(from)) {
    const result = validateRule(record.document, ctx.limits());
    if (result.ok) candidates.push(compileRule(result.rule));
    else
      ctx.io.stderr(
        `warning: skipping stored rule ${record.ruleId}: it no longer validates (rules get shows why)\n`,
      );
  }
  if (candidates.length === 0) throw new CliUserError(`no usable rules stored for source ${from}`);
  return { candidates, defaultSource: from };
}

function printOtherAction(io: CliIo, rule: CompiledRule['rule'], options: RuleTestOptions): void {
  const what =
    rule.action === 'drop'
      ? 'the message would be dropped'
      : rule.action === 'transfer'
        ? 'the message would transfer the task of an earlier event (no StartTaskContact)'
        : `the message would ${rule.action} the task of an earlier event (no StartTaskContact)`;
  if (options.json) io.stdout(`${toJson({ ok: true, ruleId: rule.ruleId, action: rule.action })}\n`);
  else io.stdout(`rule ${rule.ruleId} (action ${rule.action}): ${what}\n`);
}

/** A refused plan as the CLI reports it: every problem, exit 1. */
function refuse(
  io: CliIo,
  plan: Extract<TaskPlan, { kind: 'refused' }>,
  candidates: readonly CompiledRule[],
  envelope: Envelope,
  options: RuleTestOptions,
): never {
  const ruleId = plan.rule?.rule.ruleId;
  if (plan.step === 'select' && plan.error !== undefined) {
    throw new CliUserError(`the match expression failed: ${describeError(plan.error)}`, [], {
      cause: plan.error,
    });
  }
  if (plan.step === 'select') {
    const only = candidates.length === 1 ? candidates[0]?.rule : undefined;
    const detail =
      only !== undefined && only.source !== envelope.source
        ? `the message's source is "${envelope.source}", the rule's is "${only.source}"`
        : only !== undefined && !only.enabled
          ? `rule ${only.ruleId} is disabled`
          : `no enabled rule of source "${envelope.source}" matches it`;
    throw new CliUserError(`no rule matches the message: ${detail}`);
  }
  if (plan.step === 'map') {
    throw new CliUserError(`rule ${ruleId}: mapping failed: ${describeError(plan.error)}`, [], {
      cause: plan.error,
    });
  }
  if (plan.step === 'validate' && options.json)
    io.stdout(`${toJson({ ok: false, ruleId, issues: plan.issues })}\n`);
  throw new CliUserError(
    `rule ${ruleId}: the request would be refused`,
    plan.issues?.map((issue) => `${issue.field}: ${issue.message}`) ?? [plan.message],
  );
}

/** The request ingest would send: as JSON with its key and truncations (--json), or the request itself. */
function printPlan(io: CliIo, plan: Extract<TaskPlan, { kind: 'start' }>, options: RuleTestOptions): void {
  if (options.json) {
    io.stdout(
      `${toJson({
        ok: true,
        ruleId: plan.rule.rule.ruleId,
        idempotencyKey: plan.idempotencyKey,
        request: plan.request,
        truncated: plan.truncated,
        ...(plan.transferAt === undefined ? {} : { transferAt: new Date(plan.transferAt).toISOString() }),
      })}\n`,
    );
    return;
  }
  if (plan.truncated.length > 0) io.stderr(`note: truncated to the limit: ${plan.truncated.join(', ')}\n`);
  io.stdout(`${toJson(plan.request)}\n`);
}

/** The message as the ingest handler sees it; a raw message without a `source` attribute gets the rule's. */
function normalise(
  message: MessageInput,
  file: string,
  options: RuleTestOptions,
  defaultSource: string,
): Envelope {
  const attrs: Record<string, string> = { source: defaultSource, ...message.attributes, ...options.attr };
  const attributes: LambdaMessageAttributes = {};
  for (const [name, value] of Object.entries(attrs)) {
    attributes[name] = { dataType: 'String', stringValue: value, stringListValues: [], binaryListValues: [] };
  }
  try {
    return parseEnvelope({ body: message.body, messageId: options.messageId, attributes });
  } catch (error) {
    throw new CliUserError(`${file}: ${describeError(error)}`, [], { cause: error });
  }
}

/**
 * Accepts the GetTaskTemplate output (or the view) and keeps what validation reads. (Loaded only
 * here: the module also holds the template provider, which carries the Connect client.)
 */
async function templateView(input: unknown): Promise<TaskTemplateView> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new CliUserError('--template-file must hold a GetTaskTemplate output object');
  }
  const { toTemplateView } = await import('#lib/connect/templates.ts');
  return toTemplateView(input as Parameters<typeof toTemplateView>[0]);
}
