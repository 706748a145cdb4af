/**
 * `task-ingest rules validate <file|-> [--template-file F | --fetch-template] [--json]`: validate a
 * rule file without storing it (no AWS call but GetTaskTemplate for --fetch-template); with a
 * template, also check the rule against the task template it targets
 * (lib/connect/rule-template-check.ts).
 */
import type { GetTaskTemplateCommandOutput } from '@aws-sdk/client-connect';
import type { Command } from 'commander';
import type { CliContext } from '#cli/context.ts';
import { CliUserError, describeError } from '#cli/errors.ts';
import { readDocument, toJson } from '#cli/io.ts';
import { checkRuleAgainstTemplate, type RuleTemplateCheck } from '#lib/connect/rule-template-check.ts';
import { specFromRemote, type TemplateSpec, validateTemplateFile } from '#lib/connect/template-spec.ts';
import { type RuleValidation, validateRule } from '#lib/rules/compile.ts';
import type { Rule } from '#lib/rules/schema.ts';

interface ValidateOptions {
  json?: boolean;
  templateFile?: string;
  fetchTemplate?: boolean;
}

/** Every problem of a rule document at once (shape, expressions, keys, the stage's instances). */
async function checkRule(ctx: CliContext, input: unknown): Promise<RuleValidation> {
  const allowedInstanceIds = await ctx.connectInstanceIds();
  return validateRule(input, ctx.limits(), allowedInstanceIds === undefined ? {} : { allowedInstanceIds });
}

/** The rule of a file, or a user error listing every problem. */
export async function validatedRule(ctx: CliContext, input: unknown, file: string): Promise<Rule> {
  const result = await checkRule(ctx, input);
  if (!result.ok) throw new CliUserError(`${file}: rule is invalid`, result.errors);
  return result.rule;
}

export function registerRuleValidateCommand(rules: Command, ctx: CliContext): void {
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
    .action(async (file: string, options: ValidateOptions) => {
      const result = await checkRule(ctx, await readDocument(ctx.io, file));
      if (result.ok && (options.templateFile !== undefined || options.fetchTemplate)) {
        await validateWithTemplate(ctx, file, result.rule, options);
        return;
      }
      if (options.json) {
        ctx.io.stdout(`${toJson(result)}\n`);
        if (!result.ok) throw new CliUserError(`${file}: rule is invalid`, []);
        return;
      }
      if (!result.ok) throw new CliUserError(`${file}: rule is invalid`, result.errors);
      ctx.io.stdout(`rule ${result.rule.ruleId} of source ${result.rule.source} is valid\n`);
    });
}

async function validateWithTemplate(ctx: CliContext, file: string, rule: Rule, options: ValidateOptions) {
  const { io } = ctx;
  const check = await checkTemplate(ctx, rule, options);
  for (const warning of check.warnings) if (!options.json) io.stderr(`warning: ${warning}\n`);
  if (options.json) io.stdout(`${toJson({ ok: check.errors.length === 0, rule, ...check })}\n`);
  if (check.errors.length > 0) {
    throw new CliUserError(`${file}: rule does not fit its task template`, options.json ? [] : check.errors);
  }
  if (!options.json)
    io.stdout(`rule ${rule.ruleId} of source ${rule.source} is valid and fits its task template\n`);
}

/**
 * `rules validate` against a template: the rule must be a create rule targeting a task template;
 * the template comes from a file (template file or GetTaskTemplate output) or GetTaskTemplate.
 */
async function checkTemplate(
  ctx: CliContext,
  rule: Rule,
  options: ValidateOptions,
): Promise<RuleTemplateCheck> {
  if (rule.action !== 'create' || rule.target.taskTemplateId === undefined) {
    throw new CliUserError(
      `rule ${rule.ruleId} does not create a task from a task template (target.taskTemplateId); there is no template to check against`,
    );
  }
  return checkRuleAgainstTemplate(
    rule,
    options.templateFile !== undefined
      ? await templateFromFile(ctx, options.templateFile)
      : await fetchTemplate(ctx, rule.instanceId, rule.target.taskTemplateId),
  );
}

async function templateFromFile(ctx: CliContext, file: string): Promise<TemplateSpec> {
  const document = await readDocument(ctx.io, file);
  if (document !== null && typeof document === 'object' && 'Fields' in document) {
    return specFromRemote(document as GetTaskTemplateCommandOutput);
  }
  const parsed = validateTemplateFile(document);
  if (!parsed.ok) throw new CliUserError(`${file}: template is invalid`, parsed.errors);
  return parsed.spec;
}

async function fetchTemplate(ctx: CliContext, instanceId: string, templateId: string): Promise<TemplateSpec> {
  const { GetTaskTemplateCommand } = await import('@aws-sdk/client-connect');
  try {
    const connect = await ctx.connect();
    return specFromRemote(
      await connect.send(new GetTaskTemplateCommand({ InstanceId: instanceId, TaskTemplateId: templateId })),
    );
  } catch (error) {
    throw new CliUserError(
      `cannot read task template ${templateId} of instance ${instanceId}: ${describeError(error)}`,
      [],
      { cause: error },
    );
  }
}
