/**
 * The one configuration module: a reader per function (`ingestConfigFromEnv`, `transferConfigFromEnv`,
 * `redriveConfigFromEnv`), the budget's and the observability's. The function entry files call them at
 * import time, so a missing or malformed variable fails the cold start instead of the first message.
 *
 * Every reader takes the environment as an argument (default `process.env`); nothing else in lib/
 * reads the environment. Each returns a plain object that lib/ code takes as a parameter (tests and
 * the sandbox build them directly). Each variable is read through a zod schema of its kind (`VARIABLE`);
 * a bad value throws `ConfigError` naming the variable.
 */
import * as z from 'zod/mini';
import type { BudgetConfig } from './budget/config.ts';
import { parseTaskLimits, type TaskLimits } from './connect/constraints.ts';
import { allowedInstanceIdsFromEnv } from './connect/instances.ts';
import { ConfigError } from './errors.ts';
import type { Lane, LaneQueueUrls } from './lanes.ts';
import { DEFAULT_TRANSIENT_ROUNDS, type RedriveLimits } from './redrive/redrive.ts';
import type { BackoffConfig } from './retry/backoff.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** Every default, in one place. */
export const CONFIG_DEFAULTS = {
  POWERTOOLS_SERVICE_NAME: 'connect-task-ingest',
  POWERTOOLS_METRICS_NAMESPACE: 'ConnectTaskIngest',
  /** START_TASK_RATE and TRANSFER_RATE: the Connect default quota of both operations, requests/s. */
  RATE: 2,
  BUDGET_LANE_FLOOR: 0.1,
  INGEST_MAX_CONCURRENCY: 2,
  RECORD_CONCURRENCY: 4,
  TRANSIENT_BACKOFF_BASE_SECONDS: 2,
  TRANSIENT_BACKOFF_MAX_SECONDS: 300,
  OVER_QUOTA_BACKOFF_BASE_SECONDS: 60,
  OVER_QUOTA_BACKOFF_MAX_SECONDS: 3600,
  REDRIVE_TRANSIENT_ROUNDS: DEFAULT_TRANSIENT_ROUNDS,
  /** One redrive run (rate 5 minutes) at least, then doubling up to an hour: about 3 h in all. */
  REDRIVE_TRANSIENT_BACKOFF_BASE_SECONDS: 300,
  REDRIVE_TRANSIENT_BACKOFF_MAX_SECONDS: 3600,
  /** The ingest queue's maxReceiveCount in serverless.yml; keep the two equal. */
  INGEST_MAX_RECEIVE_COUNT: 10,
  IDEMPOTENCY_EXPIRY_SECONDS: 30 * 24 * 3600,
  RULES_CACHE_SECONDS: 30,
  TEMPLATES_CACHE_SECONDS: 300,
  /**
   * DESCRIBE_CONTACT_RATE, requests/s: half the default DescribeContact quota (the Amazon Connect API
   * reference's 2 per second for operations without their own), the rest left to the transfer sweep.
   */
  DESCRIBE_CONTACT_RATE: 1,
} as const;

/** A variable's text as a number (`Number` of the trimmed text, so an empty value is 0). */
const numberText = z.pipe(
  z.string(),
  z.transform((raw, ctx) => {
    const value = Number(raw.trim());
    if (!Number.isNaN(value)) return value;
    ctx.issues.push({ code: 'custom', input: raw, message: `must be a number, got "${raw}"` });
    return z.NEVER;
  }),
);

/** The schemas of a variable's value, by kind; each message follows the variable's name. */
const VARIABLE = {
  text: z.pipe(
    z.string(),
    z.transform((raw) => raw.trim()),
  ),
  required: z
    .pipe(
      z.string(),
      z.transform((raw) => raw.trim()),
    )
    .check(z.refine((value) => value !== '', { error: 'must not be empty' })),
  number: numberText,
  positive: z.pipe(numberText, z.number().check(z.gt(0, { error: (i) => `must be > 0, got ${i.input}` }))),
  nonNegative: z.pipe(
    numberText,
    z.number().check(z.gte(0, { error: (i) => `must be ≥ 0, got ${i.input}` })),
  ),
  nonNegativeInteger: z.pipe(
    numberText,
    z
      .number()
      .check(
        z.gte(0, { error: (i) => `must be ≥ 0, got ${i.input}` }),
        z.int({ error: (i) => `must be a whole number ≥ 0, got ${i.input}` }),
      ),
  ),
};

function positiveIntegerSchema(max: number) {
  const rule = (i: { input: unknown }) => `must be a whole number 1..${max}, got ${i.input}`;
  return z.pipe(
    numberText,
    z
      .number()
      .check(
        z.gt(0, { error: (i) => `must be > 0, got ${i.input}` }),
        z.int({ error: rule }),
        z.lte(max, { error: rule }),
      ),
  );
}

/**
 * A variable read through its schema: unset gives `defaultValue`, else the error `<KEY> must be set`;
 * a value the schema refuses gives `<KEY> <its first problem>`.
 */
function variable<T>(env: Env, key: string, schema: z.ZodMiniType<T, string>, defaultValue?: T): T {
  const raw = env[key];
  if (raw === undefined) {
    if (defaultValue !== undefined) return defaultValue;
    throw new ConfigError(`${key} must be set`);
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(`${key} ${parsed.error.issues[0]?.message ?? 'is not valid'}`);
}

const text = (env: Env, key: string, defaultValue?: string) =>
  variable(env, key, VARIABLE.text, defaultValue);
const required = (env: Env, key: string) => variable(env, key, VARIABLE.required);
const number = (env: Env, key: string, defaultValue?: number) =>
  variable(env, key, VARIABLE.number, defaultValue);
const positive = (env: Env, key: string, defaultValue?: number) =>
  variable(env, key, VARIABLE.positive, defaultValue);
const nonNegative = (env: Env, key: string, defaultValue?: number) =>
  variable(env, key, VARIABLE.nonNegative, defaultValue);
const nonNegativeInteger = (env: Env, key: string, defaultValue: number) =>
  variable(env, key, VARIABLE.nonNegativeInteger, defaultValue);
const positiveInteger = (env: Env, key: string, defaultValue?: number, max = Number.MAX_SAFE_INTEGER) =>
  variable(env, key, positiveIntegerSchema(max), defaultValue);

function backoff(env: Env, baseKey: keyof typeof CONFIG_DEFAULTS, capKey: keyof typeof CONFIG_DEFAULTS) {
  const config: BackoffConfig = {
    baseSeconds: positive(env, baseKey, CONFIG_DEFAULTS[baseKey] as number),
    capSeconds: positive(env, capKey, CONFIG_DEFAULTS[capKey] as number),
  };
  if (config.capSeconds < config.baseSeconds) throw new ConfigError(`${capKey} must be ≥ ${baseKey}`);
  return config;
}

/**
 * The backoff of the scheduled redrive's rounds for TRANSIENT records: ingest stamps `nextAttemptAt`
 * with it when it parks one and the redrive derives it for a record without one, so both read it here.
 */
function transientRedriveBackoffFromEnv(env: Env = process.env): BackoffConfig {
  return backoff(env, 'REDRIVE_TRANSIENT_BACKOFF_BASE_SECONDS', 'REDRIVE_TRANSIENT_BACKOFF_MAX_SECONDS');
}

/** The over-quota backoff: ingest parks with it and the redrive defers with it, so both read it here. */
function overQuotaBackoffFromEnv(env: Env = process.env): BackoffConfig {
  return backoff(env, 'OVER_QUOTA_BACKOFF_BASE_SECONDS', 'OVER_QUOTA_BACKOFF_MAX_SECONDS');
}

/** The service name and metrics namespace our Logger, Metrics and Tracer are built with. */
export function observabilityConfigFromEnv(env: Env = process.env) {
  return {
    serviceName: text(env, 'POWERTOOLS_SERVICE_NAME', CONFIG_DEFAULTS.POWERTOOLS_SERVICE_NAME),
    metricsNamespace: text(env, 'POWERTOOLS_METRICS_NAMESPACE', CONFIG_DEFAULTS.POWERTOOLS_METRICS_NAMESPACE),
  };
}

/**
 * Reads the budget of one quota.
 * Input: the variable holding its ceiling and the variables whose sum is the number of instances.
 */
export function budgetConfigFromEnv(
  ceilingKey: string,
  instanceKeys: readonly string[],
  env: Env = process.env,
  defaultCeiling: number = CONFIG_DEFAULTS.RATE,
): BudgetConfig {
  const ceiling = positive(env, ceilingKey, defaultCeiling);
  const instances = instanceKeys.reduce((sum, key) => sum + number(env, key, 0), 0);
  const laneFloor = number(env, 'BUDGET_LANE_FLOOR', CONFIG_DEFAULTS.BUDGET_LANE_FLOOR);
  if (!(laneFloor > 0 && laneFloor < 1))
    throw new ConfigError(`BUDGET_LANE_FLOOR must be between 0 and 1, got ${laneFloor}`);
  const table = env.BUDGET_TABLE?.trim() || undefined;
  if (table === undefined) throw new ConfigError('BUDGET_TABLE must be set');
  return { table, ceiling, instances: Math.max(1, instances), laneFloor };
}

/**
 * The lane queues (serverless.yml): INGEST_URGENT_QUEUE_URL, INGEST_QUEUE_URL (the normal lane) and
 * INGEST_BULK_QUEUE_URL, all required. Ingest forwards to them and the redrive replays to them.
 */
export function laneQueueUrlsFromEnv(env: Env = process.env): LaneQueueUrls {
  return {
    urgent: required(env, 'INGEST_URGENT_QUEUE_URL'),
    normal: required(env, 'INGEST_QUEUE_URL'),
    bulk: required(env, 'INGEST_BULK_QUEUE_URL'),
  };
}

/** The ingest event sources' maximumConcurrency per lane: their sum bounds the instances. */
const INGEST_INSTANCE_KEYS = [
  'INGEST_URGENT_MAX_CONCURRENCY',
  'INGEST_MAX_CONCURRENCY',
  'INGEST_BULK_MAX_CONCURRENCY',
] as const;

/** SQS's RedrivePolicy allows a maxReceiveCount of 1..1,000. */
const MAX_RECEIVE_COUNT_LIMIT = 1_000;

export type IngestConfig = {
  rulesTable: string;
  idempotencyTable: string;
  ledgerTable: string;
  transfersTable: string;
  dlqUrl: string;
  /** Account-wide StartTaskContact quota (requests/s) shared by all instances. */
  startTaskRate: number;
  /** The normal lane's event source maximumConcurrency. */
  maxConcurrency: number;
  /** The StartTaskContact budget shared by all instances (ceiling = startTaskRate). */
  budget: BudgetConfig;
  /** Records of one batch processed at once. */
  recordConcurrency: number;
  transientBackoff: BackoffConfig;
  overQuotaBackoff: BackoffConfig;
  /** REDRIVE_TRANSIENT_BACKOFF_*: the `nextAttemptAt` of a message parked TRANSIENT. */
  transientRedriveBackoff?: BackoffConfig;
  /**
   * The ingest queue's RedrivePolicy maxReceiveCount (INGEST_MAX_RECEIVE_COUNT). On the counted
   * attempt two before it (lib/ingest/receives.ts) a transient failure is parked in the DLQ as
   * TRANSIENT with a failure record, before SQS would move the message there without one.
   */
  maxReceiveCount: number;
  idempotencyExpirySeconds: number;
  /** RULES_CACHE_SECONDS: how long a source's compiled rules are reused. */
  rulesCacheSeconds: number;
  templatesCacheSeconds: number;
  /** CONNECT_LIMITS: overrides of the documented StartTaskContact limits. */
  limits: TaskLimits;
  /** CONNECT_INSTANCE_IDS (else CONNECT_INSTANCE_ID): the instances rules may name; undefined: any. */
  allowedInstanceIds?: string[];
  /** OUTCOME_BUS_NAME: where task outcomes are published; absent: they wait in the outbox for the sweep. */
  outcomeBusName?: string;
  /**
   * ACTIVE_TASK_QUOTA: the instances' active-task quota; at it, by the service's own count of its open
   * tasks, an event is parked without calling Connect (lib/capacity/gate.ts). Absent: no such gate.
   */
  activeTaskQuota?: number;
};

export function ingestConfigFromEnv(env: Env = process.env): IngestConfig {
  const d = CONFIG_DEFAULTS;
  const allowedInstanceIds = allowedInstanceIdsFromEnv(env);
  return {
    rulesTable: required(env, 'RULES_TABLE'),
    idempotencyTable: required(env, 'IDEMPOTENCY_TABLE'),
    ledgerTable: required(env, 'LEDGER_TABLE'),
    transfersTable: required(env, 'TRANSFERS_TABLE'),
    dlqUrl: required(env, 'DLQ_URL'),
    startTaskRate: positive(env, 'START_TASK_RATE', d.RATE),
    maxConcurrency: positive(env, 'INGEST_MAX_CONCURRENCY', d.INGEST_MAX_CONCURRENCY),
    budget: budgetConfigFromEnv('START_TASK_RATE', INGEST_INSTANCE_KEYS, env),
    recordConcurrency: positive(env, 'RECORD_CONCURRENCY', d.RECORD_CONCURRENCY),
    transientBackoff: backoff(env, 'TRANSIENT_BACKOFF_BASE_SECONDS', 'TRANSIENT_BACKOFF_MAX_SECONDS'),
    overQuotaBackoff: overQuotaBackoffFromEnv(env),
    transientRedriveBackoff: transientRedriveBackoffFromEnv(env),
    maxReceiveCount: positiveInteger(
      env,
      'INGEST_MAX_RECEIVE_COUNT',
      d.INGEST_MAX_RECEIVE_COUNT,
      MAX_RECEIVE_COUNT_LIMIT,
    ),
    idempotencyExpirySeconds: positive(env, 'IDEMPOTENCY_EXPIRY_SECONDS', d.IDEMPOTENCY_EXPIRY_SECONDS),
    // 0 is allowed: fetch on every use (concurrent uses still share one fetch).
    rulesCacheSeconds: nonNegative(env, 'RULES_CACHE_SECONDS', d.RULES_CACHE_SECONDS),
    templatesCacheSeconds: nonNegative(env, 'TEMPLATES_CACHE_SECONDS', d.TEMPLATES_CACHE_SECONDS),
    limits: parseTaskLimits(env.CONNECT_LIMITS),
    ...(allowedInstanceIds === undefined ? {} : { allowedInstanceIds }),
    ...optionalText(env, 'OUTCOME_BUS_NAME', 'outcomeBusName'),
    ...(env.ACTIVE_TASK_QUOTA === undefined
      ? {}
      : { activeTaskQuota: positiveInteger(env, 'ACTIVE_TASK_QUOTA') }),
  };
}

/** `{[field]: value}` when the variable is set and not empty, else `{}`. */
function optionalText<K extends string>(env: Env, key: string, field: K): Partial<Record<K, string>> {
  const value = env[key]?.trim();
  return value ? ({ [field]: value } as Record<K, string>) : {};
}

/** The ingest function's whole configuration: `ingestConfigFromEnv` and the lane queues. */
export function ingestFunctionConfigFromEnv(env: Env = process.env) {
  const laneQueueUrls = laneQueueUrlsFromEnv(env);
  return { ...ingestConfigFromEnv(env), ingestQueueUrl: laneQueueUrls.normal, laneQueueUrls };
}

export type TransferConfig = {
  transfersTable: string;
  ledgerTable: string;
  /** The TransferContact budget: TRANSFER_RATE requests/s at most, shared with every other instance. */
  budget: BudgetConfig;
};

export function transferConfigFromEnv(env: Env = process.env): TransferConfig {
  return {
    transfersTable: required(env, 'TRANSFERS_TABLE'),
    ledgerTable: required(env, 'LEDGER_TABLE'),
    budget: budgetConfigFromEnv('TRANSFER_RATE', [], env),
  };
}

export type RedriveConfig = {
  dlqUrl: string;
  /** The normal lane's queue. */
  ingestQueueUrl: string;
  /** Every lane's queue (normal: the ingest queue): a replay goes back to the lane it failed in. */
  laneQueueUrls: Record<Lane, string>;
  /** REDRIVE_MAX_ATTEMPTS and REDRIVE_MAX_AGE_SECONDS, both required; REDRIVE_TRANSIENT_ROUNDS. */
  limits: RedriveLimits;
  overQuotaBackoff: BackoffConfig;
  /** REDRIVE_TRANSIENT_BACKOFF_*: when a TRANSIENT record without `nextAttemptAt` is due. */
  transientBackoff: BackoffConfig;
  /** LEDGER_TABLE: OVER_QUOTA copies whose task exists, or whose event parked again, are deleted. */
  ledgerTable?: string;
  /** RULES_TABLE: whose rules ask for task.rejected when a message is given up on. */
  rulesTable?: string;
};

export function redriveConfigFromEnv(env: Env = process.env): RedriveConfig {
  const laneQueueUrls = laneQueueUrlsFromEnv(env);
  return {
    dlqUrl: required(env, 'DLQ_URL'),
    ingestQueueUrl: laneQueueUrls.normal,
    laneQueueUrls,
    limits: {
      maxAttempts: positiveInteger(env, 'REDRIVE_MAX_ATTEMPTS'),
      maxAgeSeconds: positiveInteger(env, 'REDRIVE_MAX_AGE_SECONDS'),
      transientRounds: nonNegativeInteger(
        env,
        'REDRIVE_TRANSIENT_ROUNDS',
        CONFIG_DEFAULTS.REDRIVE_TRANSIENT_ROUNDS,
      ),
    },
    overQuotaBackoff: overQuotaBackoffFromEnv(env),
    transientBackoff: transientRedriveBackoffFromEnv(env),
    ...optionalText(env, 'LEDGER_TABLE', 'ledgerTable'),
    ...optionalText(env, 'RULES_TABLE', 'rulesTable'),
  };
}

export type ContactEventsConfig = {
  ledgerTable: string;
  /** CONTACT_EVENTS_QUEUE_URL: the queue the function reads (a not-yet-known contact's event is retried there). */
  contactEventsQueueUrl: string;
  /** OUTCOME_BUS_NAME: the stack's outcome bus. */
  outcomeBusName: string;
  /** Where released OVER_QUOTA events go back to: the queue of the lane they failed in. */
  laneQueueUrls: LaneQueueUrls;
  /** CONNECT_INSTANCE_IDS (else CONNECT_INSTANCE_ID): the instances whose open tasks the sweep checks. */
  instanceIds: string[];
  /** The DescribeContact budget of the reconcile sweep (DESCRIBE_CONTACT_RATE, default 1/s). */
  describeBudget: BudgetConfig;
};

export function contactEventsConfigFromEnv(env: Env = process.env): ContactEventsConfig {
  const instanceIds = allowedInstanceIdsFromEnv(env);
  if (instanceIds === undefined)
    throw new ConfigError('CONNECT_INSTANCE_IDS or CONNECT_INSTANCE_ID must be set');
  return {
    ledgerTable: required(env, 'LEDGER_TABLE'),
    contactEventsQueueUrl: required(env, 'CONTACT_EVENTS_QUEUE_URL'),
    outcomeBusName: required(env, 'OUTCOME_BUS_NAME'),
    laneQueueUrls: laneQueueUrlsFromEnv(env),
    instanceIds,
    describeBudget: budgetConfigFromEnv(
      'DESCRIBE_CONTACT_RATE',
      [],
      env,
      CONFIG_DEFAULTS.DESCRIBE_CONTACT_RATE,
    ),
  };
}
