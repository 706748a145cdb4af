/**
 * Configuration, read from the environment at import time by the function entry files, so a
 * missing or malformed variable fails the cold start instead of the first message.
 *
 * Each reader returns a plain object; lib/ code takes these objects as parameters and never reads
 * the environment itself (tests and the sandbox build them directly).
 */
import { getNumberFromEnv, getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { type BudgetConfig, budgetConfigFromEnv } from './budget/config.ts';
import { type TaskLimits, taskLimitsFromEnv } from './connect/constraints.ts';
import { allowedInstanceIdsFromEnv } from './connect/instances.ts';
import type { LaneQueueUrls } from './lanes.ts';

export class ConfigError extends TypeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

function positive(key: string, defaultValue?: number): number {
  const value = getNumberFromEnv({
    key,
    ...(defaultValue === undefined ? {} : { defaultValue }),
    errorMessage: `${key} must be set to a number`,
  });
  if (!(value > 0)) throw new ConfigError(`${key} must be > 0, got ${value}`);
  return value;
}

/** SQS's RedrivePolicy allows a maxReceiveCount of 1..1,000. */
const MAX_RECEIVE_COUNT_LIMIT = 1_000;

function receiveCount(key: string, defaultValue: number): number {
  const value = positive(key, defaultValue);
  if (!Number.isInteger(value) || value > MAX_RECEIVE_COUNT_LIMIT) {
    throw new ConfigError(`${key} must be a whole number 1..${MAX_RECEIVE_COUNT_LIMIT}, got ${value}`);
  }
  return value;
}

/** The ingest event sources' maximumConcurrency per lane: their sum bounds the instances. */
const INGEST_INSTANCE_KEYS = [
  'INGEST_URGENT_MAX_CONCURRENCY',
  'INGEST_MAX_CONCURRENCY',
  'INGEST_BULK_MAX_CONCURRENCY',
] as const;

export interface BackoffConfig {
  baseSeconds: number;
  capSeconds: number;
}

export interface IngestConfig {
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
  /**
   * The ingest queue's RedrivePolicy maxReceiveCount (INGEST_MAX_RECEIVE_COUNT, default 8, the value in
   * serverless.yml; keep the two equal). On this receive a transient failure is parked in the DLQ as
   * EXHAUSTED with a failure record, before SQS would move the message there without one.
   */
  maxReceiveCount: number;
  idempotencyExpirySeconds: number;
  rulesCacheSeconds: number;
  templatesCacheSeconds: number;
  limits: TaskLimits;
  /** CONNECT_INSTANCE_IDS (else CONNECT_INSTANCE_ID): the instances rules may name; undefined: any. */
  allowedInstanceIds?: string[];
}

export function ingestConfigFromEnv(): IngestConfig {
  const allowedInstanceIds = allowedInstanceIdsFromEnv(process.env);
  return {
    rulesTable: getStringFromEnv({ key: 'RULES_TABLE', errorMessage: 'RULES_TABLE must be set' }),
    idempotencyTable: getStringFromEnv({
      key: 'IDEMPOTENCY_TABLE',
      errorMessage: 'IDEMPOTENCY_TABLE must be set',
    }),
    ledgerTable: getStringFromEnv({ key: 'LEDGER_TABLE', errorMessage: 'LEDGER_TABLE must be set' }),
    transfersTable: getStringFromEnv({ key: 'TRANSFERS_TABLE', errorMessage: 'TRANSFERS_TABLE must be set' }),
    dlqUrl: getStringFromEnv({ key: 'DLQ_URL', errorMessage: 'DLQ_URL must be set' }),
    startTaskRate: positive('START_TASK_RATE', 2),
    maxConcurrency: positive('INGEST_MAX_CONCURRENCY', 2),
    budget: budgetConfigFromEnv('START_TASK_RATE', INGEST_INSTANCE_KEYS),
    recordConcurrency: positive('RECORD_CONCURRENCY', 4),
    transientBackoff: {
      baseSeconds: positive('TRANSIENT_BACKOFF_BASE_SECONDS', 2),
      capSeconds: positive('TRANSIENT_BACKOFF_MAX_SECONDS', 300),
    },
    overQuotaBackoff: {
      baseSeconds: positive('OVER_QUOTA_BACKOFF_BASE_SECONDS', 60),
      capSeconds: positive('OVER_QUOTA_BACKOFF_MAX_SECONDS', 3600),
    },
    maxReceiveCount: receiveCount('INGEST_MAX_RECEIVE_COUNT', 8),
    idempotencyExpirySeconds: positive('IDEMPOTENCY_EXPIRY_SECONDS', 30 * 24 * 3600),
    rulesCacheSeconds: positive('RULES_CACHE_SECONDS', 30),
    templatesCacheSeconds: positive('TEMPLATES_CACHE_SECONDS', 300),
    limits: taskLimitsFromEnv(),
    ...(allowedInstanceIds === undefined ? {} : { allowedInstanceIds }),
  };
}

/**
 * The lane queues (serverless.yml): INGEST_URGENT_QUEUE_URL, INGEST_QUEUE_URL (the normal lane) and
 * INGEST_BULK_QUEUE_URL, all required. Ingest forwards to them and the redrive replays to them.
 */
export function laneQueueUrlsFromEnv(): LaneQueueUrls {
  const url = (key: string) => {
    const value = getStringFromEnv({ key, errorMessage: `${key} must be set` });
    if (value.trim() === '') throw new ConfigError(`${key} must not be empty`);
    return value;
  };
  return {
    urgent: url('INGEST_URGENT_QUEUE_URL'),
    normal: url('INGEST_QUEUE_URL'),
    bulk: url('INGEST_BULK_QUEUE_URL'),
  };
}
