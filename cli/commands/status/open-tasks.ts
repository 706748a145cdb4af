/**
 * The open tasks of `task-ingest status`: per Connect instance of the stage, the tasks the service
 * created that have not completed (the ledger's `byPending` index, lib/ledger/port.ts `openTasks`)
 * against the instance's active-task quota, with the share.
 *
 * Which quota (`resolveQuota`), said in the report:
 * - against the sandbox, the Connect emulator's `activeTaskQuota` (GET /_sandbox/config), the one
 *   that answers 402 there, when it answers;
 * - else ACTIVE_TASK_QUOTA (the value serverless.yml gives the functions), when set;
 * - else the stage's `activeTaskQuota` param of serverless.yml (a deploy-time `--param` is not seen:
 *   set ACTIVE_TASK_QUOTA then).
 *
 * The count is the service's own tasks (other systems' tasks share the quota unseen), and only those
 * whose entries were written since contact events are folded (older entries are not in the index).
 */
import { isMissingTable } from '#cli/commands/status/missing.ts';
import { CliUserError, describeError } from '#cli/errors.ts';
import { isNonNegativeInteger } from '#lib/guards.ts';
import type { PendingLedger } from '#lib/ledger/port.ts';

type QuotaSource = 'sandbox' | 'ACTIVE_TASK_QUOTA' | 'serverless.yml';

interface ActiveTaskQuota {
  value: number;
  source: QuotaSource;
  /** In words: where the value comes from. */
  from: string;
}

interface InstanceOpenTasks {
  instanceId: string;
  open: number;
  /** open ÷ quota; null without a quota (or a quota of 0). */
  share: number | null;
}

export type OpenTasksStatus = QuotaReading & {
  table: string;
  /** The ledger table does not exist. */
  missing: boolean;
  /** Why no instance is listed, when the stage's instances are unknown. */
  instancesUnknown?: string;
  instances: InstanceOpenTasks[];
};

/** Where the quota may be read; each source answers undefined when it has nothing to say. */
export interface QuotaSources {
  /** The sandbox's Connect emulator configuration (GET /_sandbox/config); undefined against AWS. */
  sandboxConfig(): Promise<{ status: number; body: unknown } | undefined>;
  /** ACTIVE_TASK_QUOTA. */
  env: string | undefined;
  /** serverless.yml's `param:activeTaskQuota` for the stage (throws when it cannot be read). */
  param(): Promise<unknown>;
  stage: string;
}

/** The quota, or why none could be read. */
export type QuotaReading = { quota: ActiveTaskQuota } | { quota: null; quotaError: string };

function wholeNumber(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return isNonNegativeInteger(n) ? n : undefined;
}

async function stageParam(sources: QuotaSources): Promise<QuotaReading> {
  const from = `serverless.yml param activeTaskQuota (stage ${sources.stage})`;
  let raw: unknown;
  try {
    raw = await sources.param();
  } catch (error) {
    return { quota: null, quotaError: error instanceof CliUserError ? error.message : describeError(error) };
  }
  const value = wholeNumber(raw);
  if (value === undefined)
    return { quota: null, quotaError: `${from} is not a whole number ≥ 0: ${String(raw)}` };
  return { quota: { value, source: 'serverless.yml', from } };
}

/**
 * The quota the open tasks are compared with (see the module comment for the order). A bad
 * ACTIVE_TASK_QUOTA is a user error (exit 1); serverless.yml that cannot be read only leaves the
 * share out, with the reason.
 */
export async function resolveQuota(sources: QuotaSources): Promise<QuotaReading> {
  const config = await sources.sandboxConfig();
  const emulator = wholeNumber((config?.body as { activeTaskQuota?: unknown } | undefined)?.activeTaskQuota);
  if (config !== undefined && config.status === 200 && emulator !== undefined) {
    const from = "the sandbox Connect emulator's activeTaskQuota (GET /_sandbox/config)";
    return { quota: { value: emulator, source: 'sandbox', from } };
  }
  if (sources.env !== undefined && sources.env.trim() !== '') {
    const value = wholeNumber(sources.env);
    if (value === undefined)
      throw new CliUserError(`ACTIVE_TASK_QUOTA is not a whole number ≥ 0: ${sources.env}`);
    return { quota: { value, source: 'ACTIVE_TASK_QUOTA', from: 'ACTIVE_TASK_QUOTA' } };
  }
  return stageParam(sources);
}

export interface OpenTasksDeps {
  ledger: Pick<PendingLedger, 'openTasks'>;
  table: string;
  /** The stage's instances; undefined when unknown. */
  instanceIds(): Promise<readonly string[] | undefined>;
  quota(): Promise<QuotaReading>;
}

/** Counts the open tasks of each instance and reads the quota (in parallel). */
export async function collectOpenTasks(deps: OpenTasksDeps): Promise<OpenTasksStatus> {
  const [ids, quota] = await Promise.all([deps.instanceIds(), deps.quota()]);
  const base = { table: deps.table, ...quota };
  if (ids === undefined) {
    return {
      ...base,
      missing: false,
      instancesUnknown: "the stage's Connect instances are unknown: set CONNECT_INSTANCE_IDS",
      instances: [],
    };
  }
  let counts: number[];
  try {
    counts = await Promise.all(ids.map((id) => deps.ledger.openTasks(id)));
  } catch (error) {
    if (isMissingTable(error)) return { ...base, missing: true, instances: [] };
    throw error;
  }
  const limit = quota.quota?.value;
  const instances = ids.map((instanceId, i) => {
    const open = counts[i] ?? 0;
    return { instanceId, open, share: limit === undefined || limit === 0 ? null : open / limit };
  });
  return { ...base, missing: false, instances };
}
