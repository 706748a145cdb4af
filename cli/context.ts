/**
 * What every `task-ingest` command works with: the terminal (io), the global options resolved
 * against the environment, AWS SDK clients built lazily (a command that needs no AWS, such as
 * `rules validate`, never builds one), and the names of the stage's tables and queues.
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
 * The stage's Connect instances (`connectInstanceIds`, checked by `rules put`): CONNECT_INSTANCE_IDS (else
 * CONNECT_INSTANCE_ID) as the functions read them; else, for the sandbox's stage on a loopback
 * endpoint, serverless.yml's value for that stage; else unknown (no check).
 */
import { readFile } from 'node:fs/promises';
import { ConnectClient } from '@aws-sdk/client-connect';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { InvalidArgumentError } from 'commander';
import YAML from 'yaml';
import { parseTaskLimits } from '#lib/connect/constraints.ts';
import { allowedInstanceIdsFromEnv, InstanceListError, parseInstanceIds } from '#lib/connect/instances.ts';
import type { Lane } from '#lib/lanes.ts';
import { DynamoRuleStore, type RuleStore } from '#lib/rules/store.ts';
import { loadServerlessConfig } from '#sandbox/serverless-config.ts';

export const SERVICE_NAME = 'connect-task-ingest';
export const DEFAULT_REGION = 'us-east-1';
/** The stage the sandbox deploys serverless.yml with. */
export const SANDBOX_STAGE = 'local';

export type Env = Readonly<Record<string, string | undefined>>;

/** Where a command writes and reads. Tests capture it; the entry point binds it to the process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin(): Promise<string>;
  /** Asks a yes/no question on a terminal; absent or false where nobody can answer. */
  confirm?(question: string): Promise<boolean>;
}

/** A CLI failure with the exit code it maps to. */
export class CliError extends Error {
  readonly exitCode: number;
  /** Extra lines printed under the message (e.g. every validation error). */
  readonly details: readonly string[];
  constructor(
    message: string,
    exitCode: number,
    details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.details = details;
  }
}

/** Bad input, a refused rule, a missing resource: exit 1. */
export class CliUserError extends CliError {
  constructor(message: string, details: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, 1, details, options);
    this.name = 'CliUserError';
  }
}

/** The command line itself is wrong: exit 2. */
export class CliUsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 2, [], options);
    this.name = 'CliUsageError';
  }
}

/** The program's global options as commander parsed them. */
export interface GlobalOptions {
  endpoint?: string;
  region?: string;
  stage?: string;
}

export interface ResolvedSettings {
  endpoint?: string;
  region: string;
  stage?: string;
  /** Fake credentials for a loopback endpoint when the environment has none. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Builds the SDK clients; tests inject their own. */
export interface ClientFactories {
  dynamo(settings: ResolvedSettings): DynamoDBClient;
  sqs(settings: ResolvedSettings): SQSClient;
  connect(settings: ResolvedSettings): ConnectClient;
}

export interface CliContext {
  readonly io: CliIo;
  readonly env: Env;
  readonly settings: ResolvedSettings;
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly connect: ConnectClient;
  rulesTable(): string;
  transfersTable(): string;
  ledgerTable(): string;
  budgetTable(): string;
  ingestQueueUrl(): Promise<string>;
  /** The queue of a priority lane (normal is the ingest queue). */
  laneQueueUrl(lane: Lane): Promise<string>;
  dlqUrl(): Promise<string>;
  ruleStore(): RuleStore;
  /** The stage's Connect instances (see the module comment); undefined when unknown. */
  connectInstanceIds(): readonly string[] | undefined;
  /** Closes the clients that were built. */
  destroy(): void;
}

export function isLoopback(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

/** Global options over environment over defaults. */
export function resolveSettings(options: GlobalOptions, env: Env): ResolvedSettings {
  const endpoint = nonEmpty(options.endpoint) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  if (endpoint !== undefined) {
    try {
      new URL(endpoint);
    } catch (error) {
      throw new CliUsageError(`--endpoint "${endpoint}" is not a URL`, { cause: error });
    }
  }
  const loopback = isLoopback(endpoint);
  const stage =
    nonEmpty(options.stage) ?? nonEmpty(env.TASK_INGEST_STAGE) ?? (loopback ? SANDBOX_STAGE : undefined);
  const hasCredentials =
    nonEmpty(env.AWS_ACCESS_KEY_ID) !== undefined || nonEmpty(env.AWS_PROFILE) !== undefined;
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    region: nonEmpty(options.region) ?? nonEmpty(env.AWS_REGION) ?? DEFAULT_REGION,
    ...(stage === undefined ? {} : { stage }),
    ...(loopback && !hasCredentials ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
  };
}

/** `connect-task-ingest-<stage>-<suffix>`, the naming of serverless.yml's resources. */
export function resourceName(stage: string, suffix: string): string {
  return `${SERVICE_NAME}-${stage}-${suffix}`;
}

/** Each lane's queue: the variable that overrides its URL and its name suffix (serverless.yml). */
export const LANE_QUEUES: Readonly<Record<Lane, { variable: string; suffix: string }>> = {
  urgent: { variable: 'INGEST_URGENT_QUEUE_URL', suffix: 'ingest-urgent' },
  normal: { variable: 'INGEST_QUEUE_URL', suffix: 'ingest' },
  bulk: { variable: 'INGEST_BULK_QUEUE_URL', suffix: 'ingest-bulk' },
};

function clientConfig(settings: ResolvedSettings) {
  return {
    region: settings.region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
  };
}

export const defaultClientFactories: ClientFactories = {
  dynamo: (settings) => new DynamoDBClient(clientConfig(settings)),
  sqs: (settings) => new SQSClient(clientConfig(settings)),
  connect: (settings) => new ConnectClient(clientConfig(settings)),
};

/**
 * Builds the context of one CLI run.
 * Input: the parsed global options, the environment, the io, optionally client factories.
 * Output: a context whose clients, names and queue URLs are created on first use.
 */
export function createCliContext(input: {
  global: GlobalOptions;
  env: Env;
  io: CliIo;
  clients?: Partial<ClientFactories>;
}): CliContext {
  const { env, io } = input;
  const settings = resolveSettings(input.global, env);
  const factories: ClientFactories = { ...defaultClientFactories, ...input.clients };
  const built: Array<{ destroy(): void }> = [];
  let dynamo: DynamoDBClient | undefined;
  let sqs: SQSClient | undefined;
  let connect: ConnectClient | undefined;
  let store: RuleStore | undefined;
  let instanceIds: { value: readonly string[] | undefined } | undefined;
  const queueUrls = new Map<string, Promise<string>>();

  function name(variable: string, suffix: string): string {
    const override = nonEmpty(env[variable]);
    if (override !== undefined) return override;
    if (settings.stage === undefined) {
      throw new CliUsageError(
        `no stage: pass --stage <stage> (or set TASK_INGEST_STAGE, or ${variable}) to name the ${suffix} resource`,
      );
    }
    return resourceName(settings.stage, suffix);
  }

  function queueUrl(variable: string, suffix: string): Promise<string> {
    const override = nonEmpty(env[variable]);
    if (override !== undefined) return Promise.resolve(override);
    const queueName = name(variable, suffix);
    let pending = queueUrls.get(queueName);
    if (pending === undefined) {
      pending = context.sqs.send(new GetQueueUrlCommand({ QueueName: queueName })).then(
        ({ QueueUrl }) => {
          if (QueueUrl === undefined)
            throw new CliUserError(`GetQueueUrl returned no URL for queue ${queueName}`);
          return QueueUrl;
        },
        (error: unknown) => {
          queueUrls.delete(queueName);
          throw new CliUserError(`cannot find queue ${queueName}: ${describeError(error)}`, [], {
            cause: error,
          });
        },
      );
      queueUrls.set(queueName, pending);
    }
    return pending;
  }

  const context: CliContext = {
    io,
    env,
    settings,
    get dynamo() {
      if (dynamo === undefined) {
        dynamo = factories.dynamo(settings);
        built.push(dynamo);
      }
      return dynamo;
    },
    get sqs() {
      if (sqs === undefined) {
        sqs = factories.sqs(settings);
        built.push(sqs);
      }
      return sqs;
    },
    get connect() {
      if (connect === undefined) {
        connect = factories.connect(settings);
        built.push(connect);
      }
      return connect;
    },
    rulesTable: () => name('RULES_TABLE', 'rules'),
    transfersTable: () => name('TRANSFERS_TABLE', 'transfers'),
    ledgerTable: () => name('LEDGER_TABLE', 'ledger'),
    budgetTable: () => name('BUDGET_TABLE', 'budget'),
    ingestQueueUrl: () => queueUrl('INGEST_QUEUE_URL', 'ingest'),
    laneQueueUrl: (lane) => queueUrl(LANE_QUEUES[lane].variable, LANE_QUEUES[lane].suffix),
    dlqUrl: () => queueUrl('DLQ_URL', 'dlq'),
    ruleStore() {
      const allowedInstanceIds = context.connectInstanceIds();
      store ??= new DynamoRuleStore({
        client: context.dynamo,
        tableName: context.rulesTable(),
        limits: parseTaskLimits(env.CONNECT_LIMITS),
        ...(allowedInstanceIds === undefined ? {} : { allowedInstanceIds }),
      });
      return store;
    },
    connectInstanceIds() {
      instanceIds ??= { value: stageInstanceIds(env, settings) };
      return instanceIds.value;
    },
    destroy() {
      for (const client of built.splice(0)) client.destroy();
    },
  };
  return context;
}

/** Reads a file, or standard input for `-`. */
export async function readInput(io: CliIo, path: string): Promise<string> {
  if (path === '-') return io.readStdin();
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : describeError(error);
    throw new CliUserError(`cannot read ${path}: ${reason}`, [], { cause: error });
  }
}

/**
 * Parses a rule/template/message document: `.yaml`/`.yml` files as YAML, everything else as JSON
 * (standard input: JSON, or YAML when it is not JSON).
 */
export function parseDocument(text: string, path: string): unknown {
  const yamlFile = /\.ya?ml$/i.test(path);
  if (!yamlFile) {
    try {
      return JSON.parse(text);
    } catch (error) {
      if (path !== '-') {
        throw new CliUserError(`${path} is not valid JSON: ${describeError(error)}`, [], { cause: error });
      }
    }
  }
  try {
    return YAML.parse(text);
  } catch (error) {
    const what = path === '-' ? 'standard input' : path;
    throw new CliUserError(
      `${what} is not valid ${yamlFile ? 'YAML' : 'JSON or YAML'}: ${describeError(error)}`,
      [],
      {
        cause: error,
      },
    );
  }
}

/** Folds repeated `--attr key=value` options into a record (commander option parser). */
export function collectAttr(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected key=value.');
  const key = value.slice(0, at);
  if (Object.hasOwn(previous, key)) throw new InvalidArgumentError(`attribute "${key}" is given twice.`);
  return { ...previous, [key]: value.slice(at + 1) };
}

/** Pretty JSON; `Date` values become epoch seconds, as the Connect API sends them on the wire. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, serialised: unknown) {
      const raw = this[key];
      return raw instanceof Date ? Math.floor(raw.getTime() / 1000) : serialised;
    },
    2,
  );
}

export function describeError(error: unknown): string {
  if (error instanceof Error)
    return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}

function stageInstanceIds(env: Env, settings: ResolvedSettings): readonly string[] | undefined {
  try {
    const fromEnv = allowedInstanceIdsFromEnv(env);
    if (fromEnv !== undefined) return fromEnv;
    if (settings.stage !== SANDBOX_STAGE || !isLoopback(settings.endpoint)) return undefined;
    return parseInstanceIds(
      loadServerlessConfig({ stage: settings.stage, env: { ...env } }).params.connectInstanceIds,
    );
  } catch (error) {
    if (error instanceof InstanceListError) throw new CliUserError(error.message, [], { cause: error });
    throw new CliUserError(`serverless.yml: ${describeError(error)}`, [], { cause: error });
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** A message to send or test: its body (byte-for-byte) and its String message attributes. */
export interface MessageInput {
  body: string;
  attributes: Record<string, string>;
}

/**
 * Reads a message file. Plain: the file is the body. `sample`: the file is a sample message of
 * `events/messages/` (`{ body, messageAttributes }` in the SendMessage shape; an object body is
 * sent as its JSON text).
 */
export async function readMessage(io: CliIo, path: string, sample: boolean): Promise<MessageInput> {
  const text = await readInput(io, path);
  if (!sample) return { body: text, attributes: {} };
  const what = path === '-' ? 'standard input' : path;
  const parsed = parseDocument(text, path);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !('body' in parsed)) {
    throw new CliUserError(
      `${what} is not a sample message: expected {"body": ..., "messageAttributes": {...}}`,
    );
  }
  const { body, messageAttributes } = parsed as { body: unknown; messageAttributes?: unknown };
  const attributes: Record<string, string> = {};
  if (messageAttributes !== undefined) {
    if (
      messageAttributes === null ||
      typeof messageAttributes !== 'object' ||
      Array.isArray(messageAttributes)
    ) {
      throw new CliUserError(`${what}: messageAttributes must be an object`);
    }
    for (const [name, value] of Object.entries(messageAttributes)) {
      const stringValue = (value as { StringValue?: unknown } | null)?.StringValue;
      if (typeof stringValue !== 'string') {
        throw new CliUserError(`${what}: message attribute ${name} has no StringValue`);
      }
      attributes[name] = stringValue;
    }
  }
  return { body: typeof body === 'string' ? body : JSON.stringify(body), attributes };
}
