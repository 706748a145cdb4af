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
 * `connectInstanceId` param in serverless.yml). Every file is validated before any call.
 */
import type { ConnectClient } from '@aws-sdk/client-connect';
import { DeleteTaskTemplateCommand, GetTaskTemplateCommand } from '@aws-sdk/client-connect';
import type { Command } from 'commander';
import {
  type CliIo,
  CliUsageError,
  CliUserError,
  describeError,
  type Env,
  parseDocument,
  readInput,
  toJson,
} from '#cli/context.ts';
import {
  applyTemplates,
  findTemplate,
  listTemplates,
  planTemplate,
  TemplateLookupError,
} from '#lib/connect/template-apply.ts';
import {
  specFromRemote,
  specToFile,
  type TemplateSpec,
  validateTemplateFile,
} from '#lib/connect/template-spec.ts';
import { loadServerlessConfig } from '#sandbox/serverless-config.ts';

export interface TemplateCommandDeps {
  io: CliIo;
  connect: () => ConnectClient;
  /** The instance when --instance-id is not given (throws a CliError when none is known). */
  defaultInstanceId: () => string;
}

interface InstanceOption {
  instanceId?: string;
}

/** Reads and validates every file; throws with every problem of every file before any call. */
export async function readTemplateFiles(io: CliIo, files: readonly string[]): Promise<TemplateSpec[]> {
  const specs: TemplateSpec[] = [];
  const problems: string[] = [];
  const names = new Map<string, string>();
  for (const file of files) {
    const result = validateTemplateFile(parseDocument(await readInput(io, file), file));
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

export function registerTemplateCommands(program: Command, deps: TemplateCommandDeps): Command {
  const { io } = deps;
  const templates = program
    .command('templates')
    .description('task templates as code: list, show, diff and apply template files, delete');
  const instanceOf = (options: InstanceOption) => options.instanceId ?? deps.defaultInstanceId();
  const withInstance = (command: Command) =>
    command.option(
      '--instance-id <id>',
      "the Connect instance (default: $CONNECT_INSTANCE_ID, else the stage's connectInstanceId in serverless.yml)",
    );

  async function lookup(instanceId: string, nameOrId: string) {
    const all = await listTemplates(deps.connect(), instanceId);
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

  withInstance(templates.command('list').description("list the instance's task templates"))
    .option('--json', 'print JSON')
    .action(async (options: InstanceOption & { json?: boolean }) => {
      const all = await listTemplates(deps.connect(), instanceOf(options));
      if (options.json) {
        io.stdout(
          `${toJson(all.map(({ Id, Name, Status, LastModifiedTime }) => ({ Id, Name, Status, LastModifiedTime })))}\n`,
        );
        return;
      }
      if (all.length === 0) {
        io.stdout('no task templates\n');
        return;
      }
      const rows = [
        ['ID', 'NAME', 'STATUS', 'MODIFIED'],
        ...all.map((t) => [
          t.Id ?? '',
          t.Name ?? '',
          t.Status ?? '',
          t.LastModifiedTime?.toISOString() ?? '',
        ]),
      ];
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
      io.stdout(
        `${rows
          .map((r) =>
            r
              .map((c, i) => c.padEnd(widths[i] ?? 0))
              .join('  ')
              .trimEnd(),
          )
          .join('\n')}\n`,
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
      const instanceId = instanceOf(options);
      const found = await lookup(instanceId, nameOrId);
      const output = await deps
        .connect()
        .send(new GetTaskTemplateCommand({ InstanceId: instanceId, TaskTemplateId: found.Id }));
      const { $metadata: _metadata, ...raw } = output;
      io.stdout(`${toJson(options.raw ? raw : specToFile(specFromRemote(output)))}\n`);
    });

  withInstance(templates.command('diff').description('show what apply would change for each file (no write)'))
    .argument('<files...>', 'template files (JSON)')
    .action(async (files: string[], options: InstanceOption) => {
      const specs = await readTemplateFiles(io, files);
      const instanceId = instanceOf(options);
      const all = await listTemplates(deps.connect(), instanceId);
      for (const spec of specs) {
        const plan = await planTemplate(deps.connect(), instanceId, all, spec);
        printPlan(io, plan, true);
      }
    });

  withInstance(
    templates
      .command('apply')
      .description('create or update (full replace) the templates of the files, matched by name'),
  )
    .argument('<files...>', 'template files (JSON)')
    .option('--dry-run', 'print the changes, change nothing')
    .action(async (files: string[], options: InstanceOption & { dryRun?: boolean }) => {
      const specs = await readTemplateFiles(io, files);
      const results = await applyTemplates(deps.connect(), instanceOf(options), specs, {
        dryRun: options.dryRun === true,
      });
      const refused: string[] = [];
      for (const { plan, id } of results) {
        printPlan(io, plan, options.dryRun === true, id);
        if (plan.action === 'refused') refused.push(...plan.problems.map((p) => `${plan.name}: ${p}`));
      }
      if (refused.length > 0) throw new CliUserError('some templates were not applied', refused);
    });

  withInstance(templates.command('delete').description('delete a template (DeleteTaskTemplate)'))
    .argument('<nameOrId>', 'template name or id')
    .option('--yes', 'really delete')
    .action(async (nameOrId: string, options: InstanceOption & { yes?: boolean }) => {
      const instanceId = instanceOf(options);
      const found = await lookup(instanceId, nameOrId);
      if (!options.yes) {
        throw new CliUserError(`would delete template "${found.Name}" (${found.Id}); add --yes to delete it`);
      }
      await deps
        .connect()
        .send(new DeleteTaskTemplateCommand({ InstanceId: instanceId, TaskTemplateId: found.Id }));
      io.stdout(`deleted template "${found.Name}" (${found.Id})\n`);
    });

  return templates;
}

function printPlan(
  io: CliIo,
  plan: Awaited<ReturnType<typeof planTemplate>>,
  dryRun: boolean,
  id?: string,
): void {
  const what = {
    create: dryRun ? 'would create' : 'created',
    update: dryRun ? 'would update' : 'updated',
    unchanged: 'unchanged',
    refused: 'not applied',
  }[plan.action];
  io.stdout(`${plan.name}: ${what}${id === undefined ? '' : ` (${id})`}\n`);
  if (plan.action !== 'unchanged') for (const line of plan.changes) io.stdout(`  ${line}\n`);
}

/**
 * The instance a command works on when `--instance-id` is not given: $CONNECT_INSTANCE_ID (the
 * variable the functions read), else the `CONNECT_INSTANCE_ID` serverless.yml gives the functions
 * for the stage (`params.connectInstanceId`).
 */
export function defaultInstanceId(env: Env, stage: string | undefined): string {
  const fromEnv = env.CONNECT_INSTANCE_ID?.trim();
  if (fromEnv) return fromEnv;
  let fromConfig: unknown;
  try {
    const config = loadServerlessConfig({ stage: stage ?? 'dev', env: { ...env } });
    fromConfig = config.provider.environment.CONNECT_INSTANCE_ID;
  } catch (error) {
    throw new CliUsageError(
      `no instance: pass --instance-id or set CONNECT_INSTANCE_ID (serverless.yml: ${describeError(error)})`,
      { cause: error },
    );
  }
  if (typeof fromConfig === 'string' && fromConfig !== '') return fromConfig;
  throw new CliUsageError('no instance: pass --instance-id or set CONNECT_INSTANCE_ID');
}
