import { describe, expect, it } from 'vitest';
import {
  CONFIG_DEFAULTS,
  ingestFunctionConfigFromEnv,
  observabilityConfigFromEnv,
  redriveConfigFromEnv,
  transferConfigFromEnv,
} from '#lib/config.ts';
import { ConfigError } from '#lib/errors.ts';
import { TEST_INGEST_ENV, TEST_LANE_QUEUES } from '#test/support/env.ts';

const QUEUES = TEST_LANE_QUEUES;
const INGEST = TEST_INGEST_ENV;

describe('ingestFunctionConfigFromEnv', () => {
  it('reads the given environment and fills the defaults', () => {
    const config = ingestFunctionConfigFromEnv({ ...INGEST, RULES_CACHE_SECONDS: '5' });
    expect(config).toMatchObject({
      rulesTable: 'rules',
      ingestQueueUrl: QUEUES.INGEST_QUEUE_URL,
      laneQueueUrls: { urgent: QUEUES.INGEST_URGENT_QUEUE_URL, bulk: QUEUES.INGEST_BULK_QUEUE_URL },
      rulesCacheSeconds: 5,
      templatesCacheSeconds: CONFIG_DEFAULTS.TEMPLATES_CACHE_SECONDS,
      maxReceiveCount: CONFIG_DEFAULTS.INGEST_MAX_RECEIVE_COUNT,
      overQuotaBackoff: { baseSeconds: 60, capSeconds: 3600 },
      budget: { table: 'budget', ceiling: 2 },
    });
    expect(config.allowedInstanceIds).toBeUndefined();
  });

  it('reads the cache ages in seconds: 0 turns a cache off, a negative or non-number is refused', () => {
    const off = ingestFunctionConfigFromEnv({
      ...INGEST,
      RULES_CACHE_SECONDS: '0',
      TEMPLATES_CACHE_SECONDS: '0',
    });
    expect(off).toMatchObject({ rulesCacheSeconds: 0, templatesCacheSeconds: 0 });
    expect(ingestFunctionConfigFromEnv(INGEST).rulesCacheSeconds).toBe(CONFIG_DEFAULTS.RULES_CACHE_SECONDS);
    expect(() => ingestFunctionConfigFromEnv({ ...INGEST, RULES_CACHE_SECONDS: '-1' })).toThrow(
      /RULES_CACHE_SECONDS/,
    );
    expect(() => ingestFunctionConfigFromEnv({ ...INGEST, RULES_CACHE_SECONDS: 'soon' })).toThrow(
      ConfigError,
    );
  });

  it('refuses a missing table, a bad number, a receive count SQS cannot have and bad limits', () => {
    const { RULES_TABLE: _, ...withoutRules } = INGEST;
    expect(() => ingestFunctionConfigFromEnv(withoutRules)).toThrow(/RULES_TABLE must be set/);
    expect(() => ingestFunctionConfigFromEnv({ ...INGEST, RECORD_CONCURRENCY: 'four' })).toThrow(ConfigError);
    expect(() => ingestFunctionConfigFromEnv({ ...INGEST, INGEST_MAX_RECEIVE_COUNT: '1001' })).toThrow(
      /INGEST_MAX_RECEIVE_COUNT must be a whole number 1\.\.1000/,
    );
    expect(() =>
      ingestFunctionConfigFromEnv({
        ...INGEST,
        OVER_QUOTA_BACKOFF_BASE_SECONDS: '600',
        OVER_QUOTA_BACKOFF_MAX_SECONDS: '60',
      }),
    ).toThrow(/OVER_QUOTA_BACKOFF_MAX_SECONDS must be ≥ OVER_QUOTA_BACKOFF_BASE_SECONDS/);
    expect(() => ingestFunctionConfigFromEnv({ ...INGEST, CONNECT_LIMITS: '{' })).toThrow(/CONNECT_LIMITS/);
  });
});

describe('transferConfigFromEnv', () => {
  it('reads the tables and the TransferContact budget', () => {
    expect(
      transferConfigFromEnv({
        TRANSFERS_TABLE: 'transfers',
        LEDGER_TABLE: 'ledger',
        TRANSFER_RATE: '3',
        BUDGET_TABLE: 'budget',
      }),
    ).toEqual({
      transfersTable: 'transfers',
      ledgerTable: 'ledger',
      budget: { table: 'budget', ceiling: 3, instances: 1, laneFloor: 0.1 },
    });
    expect(() => transferConfigFromEnv({ LEDGER_TABLE: 'ledger' })).toThrow(/TRANSFERS_TABLE must be set/);
  });
});

describe('redriveConfigFromEnv', () => {
  const REDRIVE = {
    ...QUEUES,
    DLQ_URL: 'https://sqs.test/1/dlq',
    REDRIVE_MAX_ATTEMPTS: '20',
    REDRIVE_MAX_AGE_SECONDS: '1036800',
  };

  it('reads the queues, the limits, the over-quota backoff and the transient rounds with their backoff', () => {
    expect(redriveConfigFromEnv(REDRIVE)).toEqual({
      dlqUrl: REDRIVE.DLQ_URL,
      ingestQueueUrl: QUEUES.INGEST_QUEUE_URL,
      laneQueueUrls: {
        urgent: QUEUES.INGEST_URGENT_QUEUE_URL,
        normal: QUEUES.INGEST_QUEUE_URL,
        bulk: QUEUES.INGEST_BULK_QUEUE_URL,
      },
      limits: { maxAttempts: 20, maxAgeSeconds: 1036800, transientRounds: 5 },
      overQuotaBackoff: { baseSeconds: 60, capSeconds: 3600 },
      transientBackoff: { baseSeconds: 300, capSeconds: 3600 },
    });
  });

  it('reads REDRIVE_TRANSIENT_ROUNDS and its backoff, 0 rounds included', () => {
    const config = redriveConfigFromEnv({
      ...REDRIVE,
      REDRIVE_TRANSIENT_ROUNDS: '0',
      REDRIVE_TRANSIENT_BACKOFF_BASE_SECONDS: '60',
      REDRIVE_TRANSIENT_BACKOFF_MAX_SECONDS: '600',
    });
    expect(config.limits.transientRounds).toBe(0);
    expect(config.transientBackoff).toEqual({ baseSeconds: 60, capSeconds: 600 });
  });

  it.each([
    ['an empty lane queue', { INGEST_BULK_QUEUE_URL: ' ' }, /INGEST_BULK_QUEUE_URL must not be empty/],
    ['a fractional attempt limit', { REDRIVE_MAX_ATTEMPTS: '2.5' }, /REDRIVE_MAX_ATTEMPTS must be a whole/],
    ['a zero age limit', { REDRIVE_MAX_AGE_SECONDS: '0' }, /REDRIVE_MAX_AGE_SECONDS must be > 0/],
    [
      'fractional transient rounds',
      { REDRIVE_TRANSIENT_ROUNDS: '1.5' },
      /REDRIVE_TRANSIENT_ROUNDS must be a whole/,
    ],
    [
      'a transient backoff cap under its base',
      { REDRIVE_TRANSIENT_BACKOFF_MAX_SECONDS: '100' },
      /REDRIVE_TRANSIENT_BACKOFF_MAX_SECONDS must be ≥ REDRIVE_TRANSIENT_BACKOFF_BASE_SECONDS/,
    ],
  ])('refuses %s with a ConfigError', (_label, change, message) => {
    const read = () => redriveConfigFromEnv({ ...REDRIVE, ...change });
    expect(read).toThrow(message);
    expect(read).toThrow(ConfigError);
  });
});

describe('observabilityConfigFromEnv', () => {
  it('defaults the service name and the metrics namespace', () => {
    expect(observabilityConfigFromEnv({})).toEqual({
      serviceName: 'connect-task-ingest',
      metricsNamespace: 'ConnectTaskIngest',
    });
    expect(observabilityConfigFromEnv({ POWERTOOLS_SERVICE_NAME: 'svc' }).serviceName).toBe('svc');
  });
});
