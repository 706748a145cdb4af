import { InstanceListError } from './errors.ts';

/**
 * The Connect instances a stage may use (serverless.yml `connectInstanceIds`, a comma-separated list
 * that defaults to the single `connectInstanceId`). The functions get it as CONNECT_INSTANCE_IDS; the
 * IAM statements are scoped to exactly these instances (scripts/connect-instances.cjs); a rule naming
 * another instance is refused when it is written (lib/rules/store.ts, `task-ingest rules put`), and an
 * event whose (older) rule names one is parked PERMANENT `InstanceNotAllowed` without calling Connect.
 */

/** Connect instance ids (UUIDs in practice; the API allows 1-100 characters). */
const INSTANCE_ID_PATTERN = /^[A-Za-z0-9-]{1,100}$/;

/**
 * Parses a comma-separated list of instance ids (a YAML list is accepted too).
 * Input: `"a, b"`, `["a", "b"]`. Output: the ids, trimmed, without duplicates, in order.
 * Throws `InstanceListError` on an empty list or an id that is no instance id.
 */
export function parseInstanceIds(value: unknown, what = 'connectInstanceIds'): string[] {
  const parts = Array.isArray(value)
    ? value.map((v) => String(v))
    : typeof value === 'string'
      ? value.split(',')
      : undefined;
  if (parts === undefined)
    throw new InstanceListError(`${what} must be a comma-separated list of instance ids`);
  const ids: string[] = [];
  for (const raw of parts) {
    const id = raw.trim();
    if (id === '') continue;
    if (!INSTANCE_ID_PATTERN.test(id)) {
      throw new InstanceListError(`${what}: "${id}" is not a Connect instance id (letters, digits and -)`);
    }
    if (!ids.includes(id)) ids.push(id);
  }
  if (ids.length === 0) throw new InstanceListError(`${what} lists no instance`);
  return ids;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The stage's instances from an environment (the caller's: lib/config.ts, the CLI): CONNECT_INSTANCE_IDS, else CONNECT_INSTANCE_ID (a stage
 * deployed before the list); undefined when neither is set (no restriction is known).
 */
export function allowedInstanceIdsFromEnv(env: Env): string[] | undefined {
  const list = env.CONNECT_INSTANCE_IDS;
  if (list !== undefined && list.trim() !== '') return parseInstanceIds(list, 'CONNECT_INSTANCE_IDS');
  const single = env.CONNECT_INSTANCE_ID;
  if (single !== undefined && single.trim() !== '') return parseInstanceIds(single, 'CONNECT_INSTANCE_ID');
  return undefined;
}

/** The refusal of a rule or event naming an instance outside the list; undefined when it is allowed. */
export function instanceNotAllowed(
  instanceId: string,
  allowed: readonly string[] | undefined,
): string | undefined {
  if (allowed === undefined || allowed.includes(instanceId)) return undefined;
  return `instance ${instanceId} is not one of the stage's Connect instances (connectInstanceIds: ${allowed.join(', ')})`;
}

/** `arn:${AWS::Partition}:connect:${AWS::Region}:${AWS::AccountId}:instance/<id>` as Fn::Sub text. */
function instanceArnTemplate(instanceId: string): string {
  return `arn:\${AWS::Partition}:connect:\${AWS::Region}:\${AWS::AccountId}:instance/${instanceId}`;
}

/**
 * The IAM Resource lists of the Connect statements, one `Fn::Sub` per instance and resource type.
 * Input: the instance ids. Output: per statement kind, the ARNs (instance order, then type order).
 */
export function connectIamResources(
  instanceIds: readonly string[],
): Record<string, Array<{ 'Fn::Sub': string }>> {
  const arns = (suffixes: readonly string[]) =>
    instanceIds.flatMap((id) =>
      suffixes.map((suffix) => ({ 'Fn::Sub': `${instanceArnTemplate(id)}${suffix}` })),
    );
  return {
    /** The instances themselves: the contact events rule's `detail.instanceArn` and TransferContact. */
    instance: arns(['']),
    /** StartTaskContact: contact, contact-flow, quick connects (transfer-destination), task-template. */
    startTask: arns(['/contact/*', '/contact-flow/*', '/transfer-destination/*', '/task-template/*']),
    /** UpdateContact, StopContact, DescribeContact: contact. */
    contact: arns(['/contact/*']),
    /** GetTaskTemplate: task-template. */
    taskTemplate: arns(['/task-template/*']),
    /** TransferContact: the instance, contact and contact-flow. */
    transfer: arns(['', '/contact/*', '/contact-flow/*']),
  };
}
