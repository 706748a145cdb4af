/**
 * The one object every `task-ingest` command works with: the terminal (io), the global options
 * resolved against the environment, AWS SDK clients (each SDK loaded on first use: `--help` and
 * `rules validate` load none), the names of the stage's tables and queues, the stage's Connect
 * instances and task schedules (serverless.yml), and "now".
 *
 * Resource names follow serverless.yml: `connect-task-ingest-<stage>-rules`, `-transfers`,
 * `-ledger`, `-budget`, queues `-ingest` and `-dlq` (URLs looked up with GetQueueUrl), and one
 * queue per lane (`-ingest-urgent`, `-ingest` for normal, `-ingest-bulk`). Each can be overridden
 * by the same variables the functions read: RULES_TABLE, TRANSFERS_TABLE, LEDGER_TABLE,
 * BUDGET_TABLE, INGEST_QUEUE_URL, INGEST_URGENT_QUEUE_URL, INGEST_BULK_QUEUE_URL, DLQ_URL.
 *
 * Stage: `--stage`, else TASK_INGEST_STAGE, else `local` when the endpoint is on loopback (the
 * sandbox deploys serverless.yml with stage `local`). Against AWS there is no default: guessing a
 * stage there could point an ops command at the wrong environment, so a command that needs a
 * resource name asks for `--stage` (usage error, exit 2).
 *
 * The stage's Connect instances (`connectInstanceIds`): CONNECT_INSTANCE_IDS (else
 * CONNECT_INSTANCE_ID) as the functions read them; else, for the sandbox's stage on a loopback
 * endpoint, serverless.yml's value for that stage; else unknown (no check).
 *
 * Now (`now()`): against the sandbox, its movable clock (GET /_sandbox/clock), so ages, due times
 * and schedule occurrences agree with what the sandbox's functions see; elsewhere this machine's.
 *
 * The sandbox's admin API (`sandboxGet`): a GET of a `/_sandbox/*` route on a loopback endpoint
 * (the kept events of a bus, the Connect emulator's configuration); undefined against AWS.
 */
import type { ConnectClient } from '@aws-sdk/client-connect';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type ClientFactories, createAwsClients } from '#cli/aws.ts';
import {
  CliUsageError,
  CliUserError,
  describeError,
  unreachableMessage,
  unreachableReason,
} from '#cli/errors.ts';
import type { CliIo } from '#cli/io.ts';
import {
  type Env,
  type GlobalOptions,
  isLoopback,
  LANE_QUEUES,
  nonEmpty,
  type ResolvedSettings,
  resolveSettings,
  resourceName,
  SANDBOX_STAGE,
} from '#cli/settings.ts';
import { parseTaskLimits, type TaskLimits } from '#lib/connect/constraints.ts';
import { InstanceListError } from '#lib/connect/errors.ts';
import { allowedInstanceIdsFromEnv, parseInstanceIds } from '#lib/connect/instances.ts';
import type { Lane } from '#lib/lanes.ts';
import type { RuleStore } from '#lib/rules/store.ts';

export type { ClientFactories } from '#cli/aws.ts';
export { DEFAULT_REGION, type Env, LANE_QUEUES, resourceName } from '#cli/settings.ts';

export interface CliContext {
  readonly io: CliIo;
  readonly env: Env;
  /** The global options over the environment over defaults (a usage error for a bad --endpoint). */
  settings(): ResolvedSettings;
  dynamo(): Promise<DynamoDBClient>;
  sqs(): Promise<SQSClient>;
  connect(): Promise<ConnectClient>;
  rulesTable(): string;
  transfersTable(): string;
  ledgerTable(): string;
  budgetTable(): string;
  /** The stack's outcome bus: OUTCOME_BUS_NAME, else `connect-task-ingest-<stage>-outcomes`. */
  outcomeBusName(): string;
  ingestQueueUrl(): Promise<string>;
  /** The queue of a priority lane (normal is the ingest queue). */
  laneQueueUrl(lane: Lane): Promise<string>;
  dlqUrl(): Promise<string>;
  ruleStore(): Promise<RuleStore>;
  /** The Connect limits rules and tasks are checked against (CONNECT_LIMITS over the documented ones). */
  limits(): TaskLimits;
  /** The stage's Connect instances (see the module comment); undefined when unknown. */
  connectInstanceIds(): Promise<readonly string[] | undefined>;
  /** The instance when --instance-id is not given: CONNECT_INSTANCE_ID, else the stage's in serverless.yml. */
  defaultInstanceId(): Promise<string>;
  /** A value of serverless.yml for the stage (`self:custom.taskSchedules`); exit 1 when it cannot be read. */
  serverlessValue(address: string): Promise<unknown>;
  /** Epoch ms: the sandbox's clock against the sandbox, else this machine's. */
  now(): Promise<number>;
  /** That clock as a function (it keeps running: the sandbox's offset is read once per run). */
  clock(): Promise<() => number>;
  /**
   * GET of a sandbox admin route (`path` from `/_sandbox/`, query included) on a loopback endpoint:
   * its status and JSON body (undefined when not JSON); undefined against AWS. An endpoint that
   * does not answer is a user error naming it.
   */
  sandboxGet(path: string): Promise<SandboxAnswer | undefined>;
  /** Closes the clients that were built. */
  destroy(): void;
}

/** What a sandbox admin route answered. */
export interface SandboxAnswer {
  status: number;
  body: unknown;
}

export interface CreateCliContextInput {
  /** The parsed global options (read when a command first needs them). */
  global: () => GlobalOptions;
  env: Env;
  io: CliIo;
  /** SDK client factories (tests inject loopback or mocked clients). */
  clients?: Partial<ClientFactories>;
  /** Reads the sandbox's clock (default: the global fetch). */
  fetch?: typeof globalThis.fetch;
}

/**
 * Builds the context of one CLI run.
 * Output: a context whose settings, clients, names and queue URLs are made on first use.
 */
export function createCliContext(input: CreateCliContextInput): CliContext {
  const { env, io } = input;
  let settings: ResolvedSettings | undefined;
  const settingsOf = () => {
    settings ??= resolveSettings(input.global(), env);
    return settings;
  };
  const aws = createAwsClients(settingsOf, input.clients);
  const queueUrls = new Map<string, Promise<string>>();
  const once = memo();

  function name(variable: string, suffix: string): string {
    const override = nonEmpty(env[variable]);
    if (override !== undefined) return override;
    const { stage } = settingsOf();
    if (stage === undefined) {
      throw new CliUsageError(
        `no stage: pass --stage <stage> (or set TASK_INGEST_STAGE, or ${variable}) to name the ${suffix} resource`,
      );
    }
    return resourceName(stage, suffix);
  }

  function queueUrl(variable: string, suffix: string): Promise<string> {
    const override = nonEmpty(env[variable]);
    if (override !== undefined) return Promise.resolve(override);
    const queueName = name(variable, suffix);
    let pending = queueUrls.get(queueName);
    if (pending === undefined) {
      pending = lookUpQueue(aws.sqs, queueName).catch((error: unknown) => {
        queueUrls.delete(queueName);
        throw error;
      });
      queueUrls.set(queueName, pending);
    }
    return pending;
  }

  const context: CliContext = {
    io,
    env,
    settings: settingsOf,
    dynamo: aws.dynamo,
    sqs: aws.sqs,
    connect: aws.connect,
    rulesTable: () => name('RULES_TABLE', 'rules'),
    transfersTable: () => name('TRANSFERS_TABLE', 'transfers'),
    ledgerTable: () => name('LEDGER_TABLE', 'ledger'),
    budgetTable: () => name('BUDGET_TABLE', 'budget'),
    outcomeBusName: () => name('OUTCOME_BUS_NAME', 'outcomes'),
    ingestQueueUrl: () => queueUrl('INGEST_QUEUE_URL', 'ingest'),
    laneQueueUrl: (lane) => queueUrl(LANE_QUEUES[lane].variable, LANE_QUEUES[lane].suffix),
    dlqUrl: () => queueUrl('DLQ_URL', 'dlq'),
    ruleStore: () =>
      once('ruleStore', async () => {
        const { DynamoRuleStore } = await import('#lib/rules/store.ts');
        const allowedInstanceIds = await context.connectInstanceIds();
        return new DynamoRuleStore({
          client: await aws.dynamo(),
          tableName: context.rulesTable(),
          limits: context.limits(),
          ...(allowedInstanceIds === undefined ? {} : { allowedInstanceIds }),
        });
      }),
    limits: () => once('limits', () => parseTaskLimits(env.CONNECT_LIMITS)),
    connectInstanceIds: () => once('instances', () => stageInstanceIds(context)),
    defaultInstanceId: () => defaultInstanceId(context),
    serverlessValue: (address) => serverlessValue(context, address),
    clock: () => once('clock', () => runClock(context, input.fetch ?? globalThis.fetch)),
    now: async () => (await context.clock())(),
    sandboxGet: (path) => sandboxGet(context, input.fetch ?? globalThis.fetch, path),
    destroy: aws.destroy,
  };
  return context;
}

/** GetQueueUrl; a queue that cannot be found is a user error naming it (an unreachable endpoint is not). */
async function lookUpQueue(sqs: () => Promise<SQSClient>, queueName: string): Promise<string> {
  const { GetQueueUrlCommand } = await import('@aws-sdk/client-sqs');
  try {
    const { QueueUrl } = await (await sqs()).send(new GetQueueUrlCommand({ QueueName: queueName }));
    if (QueueUrl === undefined) throw new CliUserError(`GetQueueUrl returned no URL for queue ${queueName}`);
    return QueueUrl;
  } catch (error) {
    if (error instanceof CliUserError || unreachableReason(error) !== undefined) throw error;
    throw new CliUserError(`cannot find queue ${queueName}: ${describeError(error)}`, [], { cause: error });
  }
}

/** Caches a value per key for the run (the first call computes it). */
function memo() {
  const values = new Map<string, unknown>();
  return <T>(key: string, compute: () => T): T => {
    if (!values.has(key)) values.set(key, compute());
    return values.get(key) as T;
  };
}

/** serverless.yml is read only by the commands that need it (its YAML parser is not loaded otherwise). */
async function serverlessValue(context: CliContext, address: string): Promise<unknown> {
  const stage = context.settings().stage ?? 'dev';
  const { readServerlessValue } = await import('#common/serverless-config.ts');
  try {
    return readServerlessValue(address, { stage, env: { ...context.env } });
  } catch (error) {
    throw new CliUserError(`serverless.yml: ${describeError(error)}`, [], { cause: error });
  }
}

async function stageInstanceIds(context: CliContext): Promise<readonly string[] | undefined> {
  const settings = context.settings();
  try {
    const fromEnv = allowedInstanceIdsFromEnv(context.env);
    if (fromEnv !== undefined) return fromEnv;
    if (settings.stage !== SANDBOX_STAGE || !isLoopback(settings.endpoint)) return undefined;
    return parseInstanceIds(await serverlessValue(context, 'param:connectInstanceIds'));
  } catch (error) {
    if (error instanceof InstanceListError) throw new CliUserError(error.message, [], { cause: error });
    throw error;
  }
}

/**
 * The instance a command works on when `--instance-id` is not given: $CONNECT_INSTANCE_ID (the
 * variable the functions read), else the `CONNECT_INSTANCE_ID` serverless.yml gives the functions
 * for the stage (`provider.environment`).
 */
async function defaultInstanceId(context: CliContext): Promise<string> {
  const fromEnv = context.env.CONNECT_INSTANCE_ID?.trim();
  if (fromEnv) return fromEnv;
  let fromConfig: unknown;
  try {
    fromConfig = await serverlessValue(context, 'self:provider.environment.CONNECT_INSTANCE_ID');
  } catch (error) {
    throw new CliUsageError(
      `no instance: pass --instance-id or set CONNECT_INSTANCE_ID (${describeError(error)})`,
      { cause: error },
    );
  }
  if (typeof fromConfig === 'string' && fromConfig !== '') return fromConfig;
  throw new CliUsageError('no instance: pass --instance-id or set CONNECT_INSTANCE_ID');
}

/**
 * The run's clock: against a loopback endpoint, the sandbox's clock (this machine's clock plus the
 * sandbox's offset, read once). A sandbox that does not answer is an error (its clock may be hours
 * away from this machine's); a loopback server that is not a sandbox (no clock route) gets this
 * machine's clock, with a note.
 */
async function runClock(context: CliContext, fetch: typeof globalThis.fetch): Promise<() => number> {
  const offset = await sandboxOffset(context, fetch);
  return () => Date.now() + offset;
}

async function sandboxOffset(context: CliContext, fetch: typeof globalThis.fetch): Promise<number> {
  const { endpoint } = context.settings();
  const answer = await sandboxGet(context, fetch, 'clock', "the sandbox's clock");
  if (answer === undefined) return 0;
  const body = answer.body as { now?: unknown } | undefined;
  const ms = typeof body?.now === 'string' ? Date.parse(body.now) : Number.NaN;
  if (answer.status >= 200 && answer.status < 300 && Number.isFinite(ms)) return ms - Date.now();
  context.io.stderr(
    `note: ${endpoint} has no sandbox clock (GET /_sandbox/clock: ${answer.status}); using this machine's clock\n`,
  );
  return 0;
}

/** GET `/_sandbox/<path>` on a loopback endpoint (2 s at most); undefined elsewhere. */
async function sandboxGet(
  context: CliContext,
  fetch: typeof globalThis.fetch,
  path: string,
  what = `/_sandbox/${path}`,
): Promise<SandboxAnswer | undefined> {
  const { endpoint } = context.settings();
  if (endpoint === undefined || !isLoopback(endpoint)) return undefined;
  let response: Response;
  try {
    response = await fetch(new URL(`/_sandbox/${path}`, endpoint), { signal: AbortSignal.timeout(2000) });
  } catch (error) {
    const reason = unreachableReason(error) ?? describeError(error);
    throw new CliUserError(`cannot read ${what}: ${unreachableMessage(endpoint, reason, true)}`, [], {
      cause: error,
    });
  }
  const body = (await response.json().catch(() => undefined)) as unknown;
  return { status: response.status, body };
}
