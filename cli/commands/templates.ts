/**
 * `task-ingest templates ...`: task templates as code (files in `events/templates/`, matched by name).
 *
 *   templates list                          the instance's templates
 *   templates show <name|id> [--raw]        one template, in the file format (--raw: GetTaskTemplate output)
 *   templates diff <files...>               what apply would change, per file
 *   templates apply <files...> [--dry-run]  create or full-replace update; "unchanged" makes no call
 *   templates delete <name|id> --yes        DeleteTaskTemplate
 *
 * Every command takes `--instance-id` (default: $CONNECT_INSTANCE_ID, else the stage's
 * `connectInstanceId` param in serverless.yml). Every file is validated before any call; a
 * directory stands for its `*.json` files.
 */
import { DeleteTaskTemplateCommand, GetTaskTemplateCommand } from '@aws-sdk/client-connect';
import type { Command } from 'commander';
import type { CliContext } from '#cli/context.ts';
import { CliUserError } from '#cli/errors.ts';
import { tableText } from '#cli/format.ts';
import { type CliIo, readDocument, toJson } from '#cli/io.ts';
import { expandJsonPaths } from '#common/files.ts';
import { TemplateLookupError } from '#lib/connect/errors.ts';
import {
  applyTemplates,
  findTemplate,
  listTemplates,
  planTemplate,
  type TemplatePlan,
} from '#lib/connect/template-apply.ts';
import {
  specFromRemote,
  specToFile,
  type TemplateSpec,
  validateTemplateFile,
} from '#lib/connect/template-spec.ts';

interface InstanceOption {
  instanceId?: string;
}

/** Reads and validates every file; throws with every problem of every file before any call. */
export async function readTemplateFiles(io: CliIo, paths: readonly string[]): Promise<TemplateSpec[]> {
  const { files, empty } = expandJsonPaths(paths);
  const specs: TemplateSpec[] = [];
  const problems = empty.map((dir) => `${dir}: no *.json files in this directory`);
  const names = new Map<string, string>();
  for (const file of files) {
    const result = validateTemplateFile(await readDocument(io, file));
    if (!result.ok) {
      problems.push(...result.errors.map((e) => `${file}: ${e}`));
      continue;
    }
    const earlier = names.get(result.spec.name);
    if (earlier !== undefined)
      problems.push(`${file}: template "${result.spec.name}" is also defined by ${earlier}`);
    names.set(result.spec.name, file);
    specs.push(result.spec);
  }
  if (problems.length > 0) throw new CliUserError('invalid template file(s); nothing was changed', problems);
  return specs;
}

const withInstance = (command: Command) =>
  command.option(
    '--instance-id <id>',
    "the Connect instance (default: $CONNECT_INSTANCE_ID, else the stage's connectInstanceId in serverless.yml)",
  );

export function register(templates: Command, ctx: CliContext): void {
  const { io } = ctx;
  const instanceOf = async (options: InstanceOption) => options.instanceId ?? (await ctx.defaultInstanceId());

  withInstance(templates.command('list').description("list the instance's task templates"))
    .option('--json', 'print JSON')
    .action(async (options: InstanceOption & { json?: boolean }) => {
      printList(
        io,
        await listTemplates(await ctx.connect(), await instanceOf(options)),
        options.json === true,
      );
    });

  withInstance(
    templates
      .command('show')
      .description('print a template in the file format (save it to events/templates/)'),
  )
    .argument('<nameOrId>', 'template name or id')
    .option('--raw', 'print the GetTaskTemplate output instead')
    .action(async (nameOrId: string, options: InstanceOption & { raw?: boolean }) => {
      const instanceId = await instanceOf(options);
      const found = await lookup(ctx, instanceId, nameOrId);
      const connect = await ctx.connect();
      const output = await connect.send(
        new GetTaskTemplateCommand({ InstanceId: instanceId, TaskTemplateId: found.Id }),
      );
      const { $metadata: _metadata, ...raw } = output;
      io.stdout(`${toJson(options.raw ? raw : specToFile(specFromRemote(output)))}\n`);
    });

  withInstance(templates.command('diff').description('show what apply would change for each file (no write)'))
    .argument('<files...>', 'template files (JSON), or directories of them')
    .action(async (files: string[], options: InstanceOption) => {
      const specs = await readTemplateFiles(io, files);
      const instanceId = await instanceOf(options);
      const connect = await ctx.connect();
      const all = await listTemplates(connect, instanceId);
      for (const spec of specs) printPlan(io, await planTemplate(connect, instanceId, all, spec), true);
    });

  withInstance(
    templates
      .command('apply')
      .description('create or update (full replace) the templates of the files, matched by name'),
  )
    .argument('<files...>', 'template files (JSON), or directories of them')
    .option('--dry-run', 'print the changes, change nothing')
    .action(async (files: string[], options: InstanceOption & { dryRun?: boolean }) => {
      const specs = await readTemplateFiles(io, files);
      const dryRun = options.dryRun === true;
      const results = await applyTemplates(await ctx.connect(), await instanceOf(options), specs, { dryRun });
      for (const { plan, id } of results) printPlan(io, plan, dryRun, id);
      const refused = results.flatMap(({ plan }) =>
        plan.action === 'refused' ? plan.problems.map((p) => `${plan.name}: ${p}`) : [],
      );
      if (refused.length > 0) throw new CliUserError('some templates were not applied', refused);
    });

  withInstance(templates.command('delete').description('delete a template (DeleteTaskTemplate)'))
    .argument('<nameOrId>', 'template name or id')
    .option('--yes', 'really delete')
    .action(async (nameOrId: string, options: InstanceOption & { yes?: boolean }) => {
      const instanceId = await instanceOf(options);
      const found = await lookup(ctx, instanceId, nameOrId);
      if (!options.yes)
        throw new CliUserError(`would delete template "${found.Name}" (${found.Id}); add --yes to delete it`);
      const connect = await ctx.connect();
      await connect.send(new DeleteTaskTemplateCommand({ InstanceId: instanceId, TaskTemplateId: found.Id }));
      io.stdout(`deleted template "${found.Name}" (${found.Id})\n`);
    });
}

/** The template named or with the id `nameOrId`; a user error when there is none or the name is ambiguous. */
async function lookup(ctx: CliContext, instanceId: string, nameOrId: string) {
  const all = await listTemplates(await ctx.connect(), instanceId);
  let found: ReturnType<typeof findTemplate>;
  try {
    found = findTemplate(all, nameOrId);
  } catch (error) {
    if (error instanceof TemplateLookupError) throw new CliUserError(error.message);
    throw error;
  }
  if (found?.Id === undefined)
    throw new CliUserError(`no task template "${nameOrId}" in instance ${instanceId}`);
  return found as typeof found & { Id: string };
}

function printList(io: CliIo, all: Awaited<ReturnType<typeof listTemplates>>, json: boolean): void {
  if (json) {
    io.stdout(
      `${toJson(all.map(({ Id, Name, Status, LastModifiedTime }) => ({ Id, Name, Status, LastModifiedTime })))}\n`,
    );
    return;
  }
  if (all.length === 0) {
    io.stdout('no task templates\n');
    return;
  }
  io.stdout(
    tableText([
      ['ID', 'NAME', 'STATUS', 'MODIFIED'],
      ...all.map((t) => [t.Id ?? '', t.Name ?? '', t.Status ?? '', t.LastModifiedTime?.toISOString() ?? '']),
    ]),
  );
}

function printPlan(io: CliIo, plan: TemplatePlan, dryRun: boolean, id?: string): void {
  const what = {
    create: dryRun ? 'would create' : 'created',
    update: dryRun ? 'would update' : 'updated',
    unchanged: 'unchanged',
    refused: 'not applied',
  }[plan.action];
  io.stdout(`${plan.name}: ${what}${id === undefined ? '' : ` (${id})`}\n`);
  if (plan.action !== 'unchanged') for (const line of plan.changes) io.stdout(`  ${line}\n`);
}
