/**
 * Applies template files (`lib/connect/template-spec.ts`) to a Connect instance, matched by name.
 *
 * Per file: no template of that name → CreateTaskTemplate (ClientToken derived from the instance and
 * the content, so a retried create makes one template); a template of that name → GetTaskTemplate,
 * normalize, compare: equal → no call ("unchanged"); different → UpdateTaskTemplate with every
 * member (full replace: a field left out of the file disappears). With `dryRun` nothing is written.
 * Two templates of the same name in the instance are an error (the file cannot say which it means).
 */
import { createHash } from 'node:crypto';
import {
  type ConnectClient,
  CreateTaskTemplateCommand,
  GetTaskTemplateCommand,
  ListTaskTemplatesCommand,
  type TaskTemplateMetadata,
  UpdateTaskTemplateCommand,
} from '@aws-sdk/client-connect';
import {
  diffSpecs,
  specFromRemote,
  type TemplateSpec,
  templateMembers,
  unsupportedRemovals,
} from '#lib/connect/template-spec.ts';
import { TemplateLookupError } from './errors.ts';

type Connect = Pick<ConnectClient, 'send'>;

/** Every template of the instance (ListTaskTemplates, all pages). */
export async function listTemplates(connect: Connect, instanceId: string): Promise<TaskTemplateMetadata[]> {
  const all: TaskTemplateMetadata[] = [];
  let nextToken: string | undefined;
  do {
    const page = await connect.send(
      new ListTaskTemplatesCommand({
        InstanceId: instanceId,
        MaxResults: 100,
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    all.push(...(page.TaskTemplates ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return all;
}

/** The template named `nameOrId` (exact name, or id); undefined when none; ambiguous names throw. */
export function findTemplate(
  templates: readonly TaskTemplateMetadata[],
  nameOrId: string,
): TaskTemplateMetadata | undefined {
  const byId = templates.find((t) => t.Id === nameOrId);
  if (byId !== undefined) return byId;
  const byName = templates.filter((t) => t.Name === nameOrId);
  if (byName.length > 1) {
    throw new TemplateLookupError(
      `${byName.length} templates are named "${nameOrId}" (${byName.map((t) => t.Id).join(', ')}); use an id`,
    );
  }
  return byName[0];
}

export type TemplatePlan =
  | { action: 'create'; name: string; changes: string[] }
  | { action: 'update'; name: string; id: string; changes: string[] }
  | { action: 'unchanged'; name: string; id: string; changes: [] }
  | { action: 'refused'; name: string; id: string; changes: string[]; problems: string[] };

/** Compares one file with the instance; no write. */
export async function planTemplate(
  connect: Connect,
  instanceId: string,
  templates: readonly TaskTemplateMetadata[],
  spec: TemplateSpec,
): Promise<TemplatePlan> {
  const found = findTemplate(
    templates.filter((t) => t.Name === spec.name),
    spec.name,
  );
  if (found?.Id === undefined) {
    return { action: 'create', name: spec.name, changes: [`+ template "${spec.name}"`] };
  }
  const remote = specFromRemote(
    await connect.send(new GetTaskTemplateCommand({ InstanceId: instanceId, TaskTemplateId: found.Id })),
  );
  const changes = diffSpecs(remote, spec);
  if (changes.length === 0) return { action: 'unchanged', name: spec.name, id: found.Id, changes: [] };
  const problems = unsupportedRemovals(remote, spec);
  if (problems.length > 0) return { action: 'refused', name: spec.name, id: found.Id, changes, problems };
  return { action: 'update', name: spec.name, id: found.Id, changes };
}

export interface AppliedTemplate {
  plan: TemplatePlan;
  /** The template's id after the apply (absent for a dry-run create or a refused file). */
  id?: string;
}

/** The ClientToken of a create: the same file applied twice (or retried) is one create. */
function templateClientToken(instanceId: string, spec: TemplateSpec): string {
  return createHash('sha256')
    .update(JSON.stringify([instanceId, spec]))
    .digest('hex')
    .slice(0, 64);
}

/**
 * Plans every file first (nothing is written if a lookup fails), then performs the writes in order.
 * Output: one result per spec; a refused file is reported and not written (the others are).
 */
export async function applyTemplates(
  connect: Connect,
  instanceId: string,
  specs: readonly TemplateSpec[],
  options: { dryRun?: boolean } = {},
): Promise<AppliedTemplate[]> {
  const templates = await listTemplates(connect, instanceId);
  const plans: TemplatePlan[] = [];
  for (const spec of specs) plans.push(await planTemplate(connect, instanceId, templates, spec));
  const results: AppliedTemplate[] = [];
  for (const [i, plan] of plans.entries()) {
    const spec = specs[i] as TemplateSpec;
    if (plan.action === 'refused') {
      results.push({ plan });
      continue;
    }
    if (plan.action === 'unchanged' || options.dryRun) {
      results.push({ plan, ...(plan.action === 'create' ? {} : { id: plan.id }) });
      continue;
    }
    if (plan.action === 'create') {
      const out = await connect.send(
        new CreateTaskTemplateCommand({
          InstanceId: instanceId,
          ClientToken: templateClientToken(instanceId, spec),
          ...templateMembers(spec),
        }),
      );
      results.push({ plan, ...(out.Id === undefined ? {} : { id: out.Id }) });
    } else {
      await connect.send(
        new UpdateTaskTemplateCommand({
          InstanceId: instanceId,
          TaskTemplateId: plan.id,
          ...templateMembers(spec),
        }),
      );
      results.push({ plan, id: plan.id });
    }
  }
  return results;
}
