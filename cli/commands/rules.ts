/**
 * `task-ingest rules ...`: manage the per-source rules and try them out.
 *
 *   rules put <file|->                 validate, then store (errors listed, exit 1)
 *   rules get <source> <ruleId>        print the stored rule
 *   rules list [--source S]            list rules (all sources: a Scan)
 *   rules delete <source> <ruleId>     delete one rule
 *   rules validate <file|->            validate only, no AWS call; --template-file F /
 *                                      --fetch-template: also check it against its task template
 *   rules test <rule-file|--source S> <message-file>
 *                                      print the exact StartTaskContact request the message would
 *                                      produce (ClientToken included), or every problem; never
 *                                      calls Connect
 *
 * Rule files are JSON, or YAML when named `.yaml`/`.yml`.
 */

import {
  type ConnectClient,
  GetTaskTemplateCommand,
  type GetTaskTemplateCommandOutput,
} from '@aws-sdk/client-connect';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { registerRuleCodeCommands } from '#cli/commands/rules-code.ts';
import {
  type CliIo,
  CliUsageError,
  CliUserError,
  collectAttr,
  describeError,
  type Env,
  type MessageInput,
  parseDocument,
  readInput,
  readMessage,
  toJson,
} from '#cli/context.ts';
import { now } from '#lib/clock.ts';
import { parseTaskLimits } from '#lib/connect/constraints.ts';
import { checkRuleAgainstTemplate, type RuleTemplateCheck } from '#lib/connect/rule-template-check.ts';
import { specFromRemote, type TemplateSpec, validateTemplateFile } from '#lib/connect/template-spec.ts';
import { type TaskTemplateView, toTemplateView } from '#lib/connect/templates.ts';
import { type LambdaMessageAttributes, parseEnvelope } from '#lib/envelope/parse.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import { isNonNegativeInteger, isObject } from '#lib/guards.ts';
import { planTask, type TaskPlan } from '#lib/ingest/plan.ts';
import { type CompiledRule, compileRule, validateRule } from '#lib/rules/compile.ts';
import type { Rule } from '#lib/rules/schema.ts';
import type { RuleRecord, RuleStore } from '#lib/rules/store.ts';
import { RuleConflictError, RuleValidationError } from '#lib/rules/store.ts';

export interface RuleCommandDeps {
  io: CliIo;
  env: Env;
  /** The rules table; only called by commands that need it. */
  ruleStore: () => RuleStore;
  /** Connect, for `rules validate --fetch-template` only. */
  connect?: () => Pick<ConnectClient, 'send'>;
  /** The stage's Connect instances (undefined: unknown). */
  instanceIds?: () => readonly string[] | undefined;
}

/**
 * `rules validate` against a template: the rule must be a create rule targeting a task template;
 * the template comes from a file (template file or GetTaskTemplate output) or GetTaskTemplate.
 */
async function checkTemplate(
  deps: RuleCommandDeps,
  rule: Rule,
  options: { templateFile?: string; fetchTemplate?: boolean },
): Promise<RuleTemplateCheck> {
  if (rule.action !== 'create' || rule.target.taskTemplateId === undefined) {
    throw new CliUserError(
      `rule ${rule.ruleId} does not create a task from a task template (target.taskTemplateId); there is no template to check against`,
    );
  }
  let spec: TemplateSpec;
  if (options.templateFile !== undefined) {
    const document = parseDocument(await readInput(deps.io, options.templateFile), options.templateFile);
    if (document !== null && typeof document === 'object' && 'Fields' in document) {
      spec = specFromRemote(document as GetTaskTemplateCommandOutput);
    } else {
      const parsed = validateTemplateFile(document);
      if (!parsed.ok) throw new CliUserError(`${options.templateFile}: template is invalid`, parsed.errors);
      spec = parsed.spec;
    }
  } else {
    if (deps.connect === undefined) throw new CliUserError('--fetch-template needs a Connect client');
    try {
      spec = specFromRemote(
        await deps.connect().send(
          new GetTaskTemplateCommand({
            InstanceId: rule.instanceId,
            TaskTemplateId: rule.target.taskTemplateId,
          }),
        ),
      );
    } catch (error) {
      throw new CliUserError(
        `cannot read task template ${rule.target.taskTemplateId} of instance ${rule.instanceId}: ${describeError(error)}`,
        [],
        { cause: error },
      );
    }
  }
  return checkRuleAgainstTemplate(rule, spec);
}

/** The SQS message id `rules test` pretends the message had (raw messages without an `id` use it as their id). */
export const TEST_MESSAGE_ID = '00000000-0000-4000-8000-000000000000';

export function registerRuleCommands(program: Command, deps: RuleCommandDeps): Command {
  const { io } = deps;
  const rules = program.command('rules').description('manage and try out the per-source rules');

  rules
    .command('put')
    .description(
      'validate a rule file and store it (nothing is stored when it is invalid); a file saved by rules get only overwrites its own version',
    )
    .argument('<file>', 'rule file (JSON, or YAML when .yaml/.yml), or - for standard input')
    .addOption(
      new Option('--if-version <n>', 'store only if the stored version is n (0: must be new)').argParser(
        version,
      ),
    )
    .option('--json', 'print the stored rule as JSON')
    .action(async (file: string, options: { ifVersion?: number; json?: boolean }) => {
      const { document, savedVersion } = withoutBookkeeping(parseDocument(await readInput(io, file), file));
      const rule = validatedRule(document, file, deps);
      const expectedVersion = options.ifVersion ?? savedVersion;
      try {
        const stored = await deps
          .ruleStore()
          .put(rule, expectedVersion === undefined ? {} : { expectedVersion });
        io.stdout(
          options.json
            ? `${toJson(stored)}\n`
            : `stored rule ${stored.ruleId} of source ${stored.source} (version ${stored.version})\n`,
        );
      } catch (error) {
        if (error instanceof RuleValidationError)
          throw new CliUserError(`${file}: rule is invalid`, error.errors);
        if (error instanceof RuleConflictError) throw new CliUserError(error.message, [], { cause: error });
        throw error;
      }
    });

  rules
    .command('get')
    .description('print a stored rule (JSON, with version and updatedAt: edit it and put it back)')
    .argument('<source>')
    .argument('<ruleId>')
    .action(async (source: string, ruleId: string) => {
      const record = await deps.ruleStore().get(source, ruleId);
      if (record === undefined) throw new CliUserError(`no rule ${ruleId} for source ${source}`);
      warnIfInvalid(io, record, deps.env);
      io.stdout(`${toJson({ ...record.document, version: record.version, updatedAt: record.updatedAt })}\n`);
    });

  rules
    .command('list')
    .description('list the stored rules, of one source or of all')
    .option('--source <source>', 'only this source (a Query; without it, a Scan of the table)')
    .option('--json', 'print JSON')
    .action(async (options: { source?: string; json?: boolean }) => {
      const records = await deps.ruleStore().list(options.source);
      const rows = records.map((record) => summarise(record, deps.env));
      if (options.json) {
        io.stdout(`${toJson(rows)}\n`);
        return;
      }
      if (rows.length === 0) {
        io.stdout(options.source === undefined ? 'no rules\n' : `no rules for source ${options.source}\n`);
        return;
      }
      io.stdout(
        table([
          ['SOURCE', 'RULE', 'PRIORITY', 'ENABLED', 'ACTION', 'VERSION', 'UPDATED', 'VALID'],
          ...rows.map((r) => [
            r.source,
            r.ruleId,
            String(r.priority ?? ''),
            String(r.enabled ?? ''),
            String(r.action ?? ''),
            String(r.version),
            r.updatedAt,
            r.valid ? 'yes' : `no (${r.errors.length} error${r.errors.length === 1 ? '' : 's'})`,
          ]),
        ]),
      );
    });

  rules
    .command('delete')
    .description('delete a stored rule')
    .argument('<source>')
    .argument('<ruleId>')
    .addOption(new Option('--if-version <n>', 'delete only if the stored version is n').argParser(version))
    .action(async (source: string, ruleId: string, options: { ifVersion?: number }) => {
      try {
        const existed = await deps
          .ruleStore()
          .delete(
            source,
            ruleId,
            options.ifVersion === undefined ? {} : { expectedVersion: options.ifVersion },
          );
        if (!existed) throw new CliUserError(`no rule ${ruleId} for source ${source}`);
        io.stdout(`deleted rule ${ruleId} of source ${source}\n`);
      } catch (error) {
        if (error instanceof RuleConflictError) throw new CliUserError(error.message, [], { cause: error });
        throw error;
      }
    });

  rules
    .command('validate')
    .description(
      'validate a rule file without storing it (no AWS call); with --template-file or --fetch-template, also check it against the task template it targets',
    )
    .argument('<file>', 'rule file, or - for standard input')
    .option(
      '--template-file <file>',
      'the targeted template: a template file (events/templates/) or GetTaskTemplate output (JSON)',
    )
    .option('--fetch-template', "read the targeted template with GetTaskTemplate from the rule's instance")
    .option('--json', 'print {ok, rule} or {ok, errors} as JSON (with warnings when a template is checked)')
    .action(
      async (file: string, options: { json?: boolean; templateFile?: string; fetchTemplate?: boolean }) => {
        const input = parseDocument(await readInput(io, file), file);
        const result = validateRule(input, parseTaskLimits(deps.env.CONNECT_LIMITS), instanceCheck(deps));
        if (result.ok && (options.templateFile !== undefined || options.fetchTemplate)) {
          const check = await checkTemplate(deps, result.rule, options);
          for (const warning of check.warnings) if (!options.json) io.stderr(`warning: ${warning}\n`);
          if (options.json)
            io.stdout(`${toJson({ ok: check.errors.length === 0, rule: result.rule, ...check })}\n`);
          if (check.errors.length > 0)
            throw new CliUserError(
              `${file}: rule does not fit its task template`,
              options.json ? [] : check.errors,
            );
          if (!options.json)
            io.stdout(
              `rule ${result.rule.ruleId} of source ${result.rule.source} is valid and fits its task template\n`,
            );
          return;
        }
        if (options.json) {
          io.stdout(`${toJson(result)}\n`);
          if (!result.ok) throw new CliUserError(`${file}: rule is invalid`, []);
          return;
        }
        if (!result.ok) throw new CliUserError(`${file}: rule is invalid`, result.errors);
        io.stdout(`rule ${result.rule.ruleId} of source ${result.rule.source} is valid\n`);
      },
    );

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
      await testRule(deps, files, options);
    });

  registerRuleCodeCommands(rules, {
    io,
    limits: () => parseTaskLimits(deps.env.CONNECT_LIMITS),
    instanceIds: () => deps.instanceIds?.(),
    ruleStore: deps.ruleStore,
  });
  return rules;
}

interface RuleTestOptions {
  source?: string;
  attr?: Record<string, string>;
  sample?: boolean;
  templateFile?: string;
  messageId: string;
  json?: boolean;
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
async function testRule(deps: RuleCommandDeps, files: string[], options: RuleTestOptions): Promise<void> {
  const { io } = deps;
  const expected = options.source === undefined ? 2 : 1;
  if (files.length !== expected) {
    throw new CliUsageError(
      options.source === undefined
        ? 'rules test needs <rule-file> <message-file> (or --source <source> <message-file>)'
        : 'with --source, rules test takes only <message-file>',
    );
  }
  const limits = parseTaskLimits(deps.env.CONNECT_LIMITS);
  const ruleFile = options.source === undefined ? files[0] : undefined;
  const messageFile = files[files.length - 1] as string;

  let candidates: CompiledRule[];
  let defaultSource: string;
  if (ruleFile !== undefined) {
    const rule = validatedRule(parseDocument(await readInput(io, ruleFile), ruleFile), ruleFile, deps);
    candidates = [compileRule(rule)];
    defaultSource = rule.source;
  } else {
    const source = options.source as string;
    candidates = [];
    for (const record of await deps.ruleStore().list(source)) {
      const result = validateRule(record.document, limits);
      if (result.ok) candidates.push(compileRule(result.rule));
      else
        io.stderr(
          `warning: skipping stored rule ${record.ruleId}: it no longer validates (rules get shows why)\n`,
        );
    }
    if (candidates.length === 0) throw new CliUserError(`no usable rules stored for source ${source}`);
    defaultSource = source;
  }

  const message = await readMessage(io, messageFile, options.sample === true);
  const envelope = normalise(message, messageFile, options, defaultSource);
  // The planning step ingest runs, with no lane to forward to and the template from --template-file.
  const plan = await planTask(envelope, candidates, {
    limits,
    now,
    async template() {
      if (options.templateFile !== undefined) {
        return templateView(parseDocument(await readInput(io, options.templateFile), options.templateFile));
      }
      io.stderr('note: template checks skipped (pass --template-file with the GetTaskTemplate output)\n');
      return undefined;
    },
  });
  if (plan.kind === 'refused') refuse(io, plan, candidates, envelope, options);
  else if (plan.kind === 'start') printPlan(io, plan, options);
  else {
    const { rule } = plan.rule;
    const what =
      rule.action === 'drop'
        ? 'the message would be dropped'
        : rule.action === 'transfer'
          ? 'the message would transfer the task of an earlier event (no StartTaskContact)'
          : `the message would ${rule.action} the task of an earlier event (no StartTaskContact)`;
    if (options.json) io.stdout(`${toJson({ ok: true, ruleId: rule.ruleId, action: rule.action })}\n`);
    else io.stdout(`rule ${rule.ruleId} (action ${rule.action}): ${what}\n`);
  }
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
  if (plan.step === 'validate' && options.json) {
    io.stdout(`${toJson({ ok: false, ruleId, issues: plan.issues })}\n`);
  }
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
 * A file saved from `rules get` carries `version` and `updatedAt`. They are not part of the rule:
 * `updatedAt` is dropped, and `version` becomes the expected version, so a get → edit → put
 * refuses to overwrite a change someone else made in between.
 */
function withoutBookkeeping(input: unknown): { document: unknown; savedVersion?: number } {
  if (!isObject(input)) return { document: input };
  const { version: saved, updatedAt: _updatedAt, ...document } = input as Record<string, unknown>;
  if (saved === undefined) return { document };
  if (!isNonNegativeInteger(saved)) {
    throw new CliUserError(
      'the rule file has a "version" that is not a non-negative integer (as saved by rules get)',
    );
  }
  return { document, savedVersion: saved };
}

/** The stage's Connect instances for `validateRule`, when known. */
function instanceCheck(deps: RuleCommandDeps): { allowedInstanceIds?: readonly string[] } {
  const allowedInstanceIds = deps.instanceIds?.();
  return allowedInstanceIds === undefined ? {} : { allowedInstanceIds };
}

/** Every problem of a rule file at once (shape, expressions, keys, instance), or the rule. */
function validatedRule(input: unknown, file: string, deps: RuleCommandDeps): Rule {
  const result = validateRule(input, parseTaskLimits(deps.env.CONNECT_LIMITS), instanceCheck(deps));
  if (!result.ok) throw new CliUserError(`${file}: rule is invalid`, result.errors);
  return result.rule;
}

/** Accepts the GetTaskTemplate output (or the view) and keeps what validation reads. */
function templateView(input: unknown): TaskTemplateView {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new CliUserError('--template-file must hold a GetTaskTemplate output object');
  }
  return toTemplateView(input as Parameters<typeof toTemplateView>[0]);
}

interface RuleSummary {
  source: string;
  ruleId: string;
  version: number;
  updatedAt: string;
  priority?: unknown;
  enabled?: unknown;
  action?: unknown;
  valid: boolean;
  errors: readonly string[];
}

function summarise(record: RuleRecord, env: Env): RuleSummary {
  const result = validateRule(record.document, parseTaskLimits(env.CONNECT_LIMITS));
  const shown = result.ok ? result.rule : record.document;
  return {
    source: record.source,
    ruleId: record.ruleId,
    version: record.version,
    updatedAt: record.updatedAt,
    priority: shown.priority,
    enabled: shown.enabled,
    action: shown.action,
    valid: result.ok,
    errors: result.ok ? [] : result.errors,
  };
}

function warnIfInvalid(io: CliIo, record: RuleRecord, env: Env): void {
  const result = validateRule(record.document, parseTaskLimits(env.CONNECT_LIMITS));
  if (result.ok) return;
  io.stderr(`warning: this stored rule no longer validates (the ingest handler skips it):\n`);
  for (const error of result.errors) io.stderr(`  - ${error}\n`);
}

function version(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !isNonNegativeInteger(n)) {
    throw new InvalidArgumentError('expected a non-negative integer.');
  }
  return n;
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  const lines = rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}
