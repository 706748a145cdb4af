/**
 * Rules as code: `task-ingest rules diff|apply|export`, the rule files of a repository against the
 * rules table (the use case: lib/rules/apply.ts).
 *
 *   rules diff <files|dirs...> [--prune --source S]        what apply would change, per file; no write
 *   rules apply <files|dirs...> [--dry-run] [--prune --source S] [--yes]
 *                                                          create, update (full replace) or leave
 *                                                          `unchanged`; --prune also deletes the
 *                                                          stored rules of S that no file names
 *   rules export [--source S] [--dir D]                    the stored rules as files apply takes back
 *
 * A directory stands for its `*.json` files. Every file is read and validated before anything is
 * read from the table or written to it; one bad file refuses the whole set. Writes are conditional
 * on the version the plan read. Deleting asks first (on a terminal), or needs `--yes`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '#cli/context.ts';
import { CliUsageError, CliUserError, describeError } from '#cli/errors.ts';
import { optional } from '#cli/format.ts';
import { type CliIo, readDocument } from '#cli/io.ts';
import { expandJsonPaths, jsonFilesIn } from '#common/files.ts';
import {
  type AppliedRuleChange,
  applyRulePlan,
  checkRuleDocuments,
  exportRules,
  planRules,
  type RuleChange,
  type RuleDocument,
  ruleKeyOf,
} from '#lib/rules/apply.ts';

interface PruneOptions {
  prune?: boolean;
  source?: string;
}

/** Reads, parses and validates every file; throws with every problem of every file before any AWS call. */
async function readRuleFiles(ctx: CliContext, paths: readonly string[]) {
  const { files, empty } = expandJsonPaths(paths);
  const problems = empty.map((dir) => `${dir}: no *.json files in this directory`);
  const documents: RuleDocument[] = [];
  for (const file of files) {
    try {
      documents.push({ file, document: await readDocument(ctx.io, file) });
    } catch (error) {
      problems.push(error instanceof CliUserError ? error.message : `${file}: ${describeError(error)}`);
    }
  }
  const checked = checkRuleDocuments(documents, {
    limits: ctx.limits(),
    ...optional('allowedInstanceIds', await ctx.connectInstanceIds()),
  });
  if (!checked.ok || problems.length > 0) {
    throw new CliUserError('invalid rule file(s); nothing was changed', [
      ...problems,
      ...(checked.ok ? [] : checked.problems),
    ]);
  }
  return checked.rules;
}

function pruneSource(options: PruneOptions): string | undefined {
  if (options.prune && options.source === undefined) {
    throw new CliUsageError('--prune needs --source <source>: the source whose unnamed rules are deleted');
  }
  if (!options.prune && options.source !== undefined) {
    throw new CliUsageError('--source goes with --prune (the files name their sources)');
  }
  return options.prune ? options.source : undefined;
}

async function plan(ctx: CliContext, paths: readonly string[], options: PruneOptions) {
  const prune = pruneSource(options);
  const rules = await readRuleFiles(ctx, paths);
  return planRules(await ctx.ruleStore(), rules, { limits: ctx.limits(), ...optional('prune', prune) });
}

const VERBS: Record<RuleChange['action'], [dry: string, done: string]> = {
  create: ['would create', 'created'],
  update: ['would update', 'updated'],
  delete: ['would delete', 'deleted'],
  unchanged: ['unchanged', 'unchanged'],
};

function printChange(io: CliIo, result: AppliedRuleChange | { change: RuleChange }, dryRun: boolean): void {
  const { change } = result;
  const applied = 'outcome' in result ? result : undefined;
  const file = change.action === 'delete' ? '' : ` (${change.file})`;
  const verb = applied?.outcome === 'conflict' ? 'not applied' : VERBS[change.action][dryRun ? 0 : 1];
  const version = applied?.version === undefined ? '' : `, version ${applied.version}`;
  io.stdout(`${change.source} ${change.ruleId}${file}: ${verb}${version}\n`);
  for (const line of change.changes) io.stdout(`  ${line}\n`);
  if (applied?.problem !== undefined) io.stdout(`  ! ${applied.problem}\n`);
}

function summary(changes: readonly RuleChange[], dryRun: boolean): string {
  const count = (action: RuleChange['action']) => changes.filter((c) => c.action === action).length;
  const parts = (['create', 'update', 'delete'] as const).map(
    (action) => `${VERBS[action][dryRun ? 0 : 1]} ${count(action)}`,
  );
  return `${parts.join(', ')}, unchanged ${count('unchanged')}\n`;
}

/** Asks before deleting: `--yes`, else a question on a terminal; elsewhere the deletes are refused. */
async function confirmDeletes(io: CliIo, deletes: readonly RuleChange[], yes: boolean): Promise<void> {
  if (deletes.length === 0 || yes) return;
  const question = `delete ${deletes.length} stored rule(s) no file names (${deletes.map((d) => d.ruleId).join(', ')})? [y/N] `;
  if (io.confirm !== undefined && (await io.confirm(question))) return;
  throw new CliUserError(
    `${deletes.length} stored rule(s) would be deleted; nothing was changed (confirm, or pass --yes)`,
  );
}

export function registerRuleCodeCommands(rules: Command, ctx: CliContext): void {
  const withPrune = (command: Command) =>
    command
      .option('--prune', 'also delete the stored rules of --source that no file names')
      .option('--source <source>', 'the source --prune works on');

  withPrune(
    rules
      .command('diff')
      .description('show what rules apply would change for each file (no write)')
      .argument('<files...>', 'rule files, or directories of *.json rule files'),
  ).action(async (paths: string[], options: PruneOptions) => {
    const changes = await plan(ctx, paths, options);
    for (const change of changes) printChange(ctx.io, { change }, true);
    ctx.io.stdout(summary(changes, true));
  });

  withPrune(
    rules
      .command('apply')
      .description(
        'create or update (full replace) the rules of the files; equal rules are left unchanged (no write)',
      )
      .argument('<files...>', 'rule files, or directories of *.json rule files')
      .option('--dry-run', 'print the changes, change nothing')
      .option('--yes', 'delete without asking (--prune in CI)'),
  ).action((paths: string[], options: ApplyOptions) => apply(ctx, paths, options));

  rules
    .command('export')
    .description('write the stored rules as rule files (one a rule) that rules apply takes back unchanged')
    .option('--source <source>', 'only this source')
    .option(
      '--dir <dir>',
      'the directory to write to; a rule a file there already defines keeps that file',
      '.',
    )
    .action((options: { source?: string; dir: string }) => exportTo(ctx, options));
}

interface ApplyOptions extends PruneOptions {
  dryRun?: boolean;
  yes?: boolean;
}

async function apply(ctx: CliContext, paths: readonly string[], options: ApplyOptions): Promise<void> {
  const { io } = ctx;
  const changes = await plan(ctx, paths, options);
  const dryRun = options.dryRun === true;
  if (!dryRun) {
    await confirmDeletes(
      io,
      changes.filter((c) => c.action === 'delete'),
      options.yes === true,
    );
  }
  const results = await applyRulePlan(await ctx.ruleStore(), changes, { dryRun });
  for (const result of results) printChange(io, result, dryRun);
  io.stdout(summary(changes, dryRun));
  const conflicts = results.filter((r) => r.outcome === 'conflict');
  if (conflicts.length > 0) {
    throw new CliUserError(
      `${conflicts.length} rule(s) changed in the table since they were read and were not applied; run again`,
    );
  }
}

async function exportTo(ctx: CliContext, options: { source?: string; dir: string }): Promise<void> {
  const { io } = ctx;
  const records = await (await ctx.ruleStore()).list(options.source);
  const exported = exportRules(records, { limits: ctx.limits(), fileNames: fileNamesIn(options.dir) });
  mkdirSync(options.dir, { recursive: true });
  for (const rule of exported) {
    const path = join(options.dir, rule.fileName);
    const same = readOrUndefined(path) === rule.text;
    if (!same) writeFileSync(path, rule.text);
    io.stdout(`${path}: ${same ? 'unchanged' : 'written'} (rule ${rule.ruleId} of source ${rule.source})\n`);
    if (rule.errors.length > 0) {
      io.stderr(
        `warning: rule ${rule.ruleId} of source ${rule.source} no longer validates; written as stored:\n`,
      );
      for (const error of rule.errors) io.stderr(`  - ${error}\n`);
    }
  }
  io.stdout(`${exported.length} rule(s) exported to ${options.dir}\n`);
}

/** The rule files already in a directory: which rule each defines (`ruleKey`) → its file name. */
function fileNamesIn(dir: string): Map<string, string> {
  const names = new Map<string, string>();
  for (const path of jsonFilesIn(dir) ?? []) {
    let key: string | undefined;
    try {
      key = ruleKeyOf(JSON.parse(readFileSync(path, 'utf8')));
    } catch {
      key = undefined;
    }
    if (key !== undefined && !names.has(key)) names.set(key, basename(path));
  }
  return names;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
