/**
 * The redrive function's configuration, read from the environment by `functions/redrive.ts` at
 * import time (a missing or malformed variable fails the cold start, not the first run).
 */
import { getNumberFromEnv, getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import type { Lane } from '#lib/lanes.ts';
import type { BackoffConfig } from '#lib/retry/backoff.ts';
import type { RedriveLimits } from './redrive.ts';

export interface RedriveConfig {
  dlqUrl: string;
  /** The normal lane's queue. */
  ingestQueueUrl: string;
  /** Every lane's queue (normal: the ingest queue): a replay goes back to the lane it failed in. */
  laneQueueUrls: Record<Lane, string>;
  limits: RedriveLimits;
  overQuotaBackoff: BackoffConfig;
}

export class RedriveConfigError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'RedriveConfigError';
  }
}

function requiredString(key: string): string {
  const value = getStringFromEnv({ key, errorMessage: `${key} must be set` });
  if (value.trim() === '') throw new RedriveConfigError(`${key} must not be empty`);
  return value;
}

function positiveNumber(key: string, integer: boolean): number {
  const value = getNumberFromEnv({ key, errorMessage: `${key} must be set to a number` });
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new RedriveConfigError(`${key} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return value;
}

export function redriveConfigFromEnv(): RedriveConfig {
  const overQuotaBackoff = {
    baseSeconds: positiveNumber('OVER_QUOTA_BACKOFF_BASE_SECONDS', false),
    capSeconds: positiveNumber('OVER_QUOTA_BACKOFF_MAX_SECONDS', false),
  };
  if (overQuotaBackoff.capSeconds < overQuotaBackoff.baseSeconds) {
    throw new RedriveConfigError('OVER_QUOTA_BACKOFF_MAX_SECONDS must be ≥ OVER_QUOTA_BACKOFF_BASE_SECONDS');
  }
  const ingestQueueUrl = requiredString('INGEST_QUEUE_URL');
  return {
    dlqUrl: requiredString('DLQ_URL'),
    ingestQueueUrl,
    laneQueueUrls: {
      urgent: requiredString('INGEST_URGENT_QUEUE_URL'),
      normal: ingestQueueUrl,
      bulk: requiredString('INGEST_BULK_QUEUE_URL'),
    },
    limits: {
      maxAttempts: positiveNumber('REDRIVE_MAX_ATTEMPTS', true),
      maxAgeSeconds: positiveNumber('REDRIVE_MAX_AGE_SECONDS', true),
    },
    overQuotaBackoff,
  };
}
