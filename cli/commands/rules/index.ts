/**
 * `task-ingest rules ...`: manage the per-source rules and try them out.
 *
 *   rules put <file|->                 validate, then store (every error listed, exit 1)
 *   rules get <source> <ruleId>        print the stored rule
 *   rules list [--source S]            list rules (all sources: a Scan)
 *   rules delete <source> <ruleId>     delete one rule
 *   rules diff|apply|export            rules as code (cli/commands/rules/code.ts)
 *   rules validate <file|->            validate only, no AWS call (cli/commands/rules/validate.ts)
 *   rules test <rule-file|--source S> <message-file>
 *                                      the StartTaskContact request a message would produce
 *                                      (cli/commands/rules/test.ts)
 *
 * Rule files are JSON, or YAML when named `.yaml`/`.yml`.
 */
import { type Command, Option } from 'commander';
import { registerRuleCodeCommands } from '#cli/commands/rules/code.ts';
import { registerRuleTestCommand } from '#cli/commands/rules/test.ts';
import { registerRuleValidateCommand, validatedRule } from '#cli/commands/rules/validate.ts';
import type { CliContext } from '#cli/context.ts';
import { CliUserError } from '#cli/errors.ts';
import { tableText } from '#cli/format.ts';
import { type CliIo, readDocument, toJson } from '#cli/io.ts';
import { nonNegativeInteger } from '#cli/options.ts';
import { isNonNegativeInteger, isObject } from '#lib/guards.ts';
import { validateRule } from '#lib/rules/compile.ts';
import type { RuleRecord } from '#lib/rules/store.ts';

export function register(rules: Command, ctx: CliContext): void {
  registerStoreCommands(rules, ctx);
  registerRuleCodeCommands(rules, ctx);
  registerRuleValidateCommand(rules, ctx);
  registerRuleTestCommand(rules, ctx);
}

/** put, get, list, delete: one rule at a time. */
function registerStoreCommands(rules: Command, ctx: CliContext): void {
  const { io } = ctx;
  rules
    .command('put')
    .description(
      'validate a rule file and store it (nothing is stored when it is invalid); a file saved by rules get only overwrites its own version',
    )
    .argument('<file>', 'rule file (JSON, or YAML when .yaml/.yml), or - for standard input')
    .addOption(
      new Option('--if-version <n>', 'store only if the stored version is n (0: must be new)').argParser(
        nonNegativeInteger,
      ),
    )
    .option('--json', 'print the stored rule as JSON')
    .action(async (file: string, options: { ifVersion?: number; json?: boolean }) => {
      const { document, savedVersion } = withoutBookkeeping(await readDocument(io, file));
      const rule = await validatedRule(ctx, document, file);
      const expectedVersion = options.ifVersion ?? savedVersion;
      const store = await ctx.ruleStore();
      const stored = await storeErrors(file, () =>
        store.put(rule, expectedVersion === undefined ? {} : { expectedVersion }),
      );
      io.stdout(
        options.json
          ? `${toJson(stored)}\n`
          : `stored rule ${stored.ruleId} of source ${stored.source} (version ${stored.version})\n`,
      );
    });

  rules
    .command('get')
    .description('print a stored rule (JSON, with version and updatedAt: edit it and put it back)')
    .argument('<source>')
    .argument('<ruleId>')
    .action(async (source: string, ruleId: string) => {
      const record = await (await ctx.ruleStore()).get(source, ruleId);
      if (record === undefined) throw new CliUserError(`no rule ${ruleId} for source ${source}`);
      warnIfInvalid(ctx, record);
      io.stdout(`${toJson({ ...record.document, version: record.version, updatedAt: record.updatedAt })}\n`);
    });

  rules
    .command('list')
    .description('list the stored rules, of one source or of all')
    .option('--source <source>', 'only this source (a Query; without it, a Scan of the table)')
    .option('--json', 'print JSON')
    .action(async (options: { source?: string; json?: boolean }) => {
      const records = await (await ctx.ruleStore()).list(options.source);
      printList(
        io,
        options,
        records.map((record) => summarise(ctx, record)),
      );
    });

  rules
    .command('delete')
    .description('delete a stored rule')
    .argument('<source>')
    .argument('<ruleId>')
    .addOption(
      new Option('--if-version <n>', 'delete only if the stored version is n').argParser(nonNegativeInteger),
    )
    .action(async (source: string, ruleId: string, options: { ifVersion?: number }) => {
      const store = await ctx.ruleStore();
      const existed = await storeErrors(source, () =>
        store.delete(
          source,
          ruleId,
          options.ifVersion === undefined ? {} : { expectedVersion: options.ifVersion },
        ),
      );
      if (!existed) throw new CliUserError(`no rule ${ruleId} for source ${source}`);
      io.stdout(`deleted rule ${ruleId} of source ${source}\n`);
    });
}

/** The store's refusals as CLI errors: an invalid rule with every error, a version conflict. */
async function storeErrors<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const { RuleConflictError, RuleValidationError } = await import('#lib/rules/errors.ts');
    if (error instanceof RuleValidationError)
      throw new CliUserError(`${what}: rule is invalid`, error.errors);
    if (error instanceof RuleConflictError) throw new CliUserError(error.message, [], { cause: error });
    throw error;
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

function summarise(ctx: CliContext, record: RuleRecord): RuleSummary {
  const result = validateRule(record.document, ctx.limits());
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

function printList(io: CliIo, options: { source?: string; json?: boolean }, rows: RuleSummary[]): void {
  if (options.json) {
    io.stdout(`${toJson(rows)}\n`);
    return;
  }
  if (rows.length === 0) {
    io.stdout(options.source === undefined ? 'no rules\n' : `no rules for source ${options.source}\n`);
    return;
  }
  io.stdout(
    tableText([
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
}

function warnIfInvalid(ctx: CliContext, record: RuleRecord): void {
  const result = validateRule(record.document, ctx.limits());
  if (result.ok) return;
  ctx.io.stderr(`warning: this stored rule no longer validates (the ingest handler skips it):\n`);
  for (const error of result.errors) ctx.io.stderr(`  - ${error}\n`);
}
