import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { budgetConfigFromEnv, createQuotaBudget } from '#lib/budget/config.ts';

const KEYS = ['INGEST_URGENT_MAX_CONCURRENCY', 'INGEST_MAX_CONCURRENCY', 'INGEST_BULK_MAX_CONCURRENCY'];

describe('budgetConfigFromEnv', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads a shared budget whose fallback share counts every lane’s instances', () => {
    vi.stubEnv('BUDGET_TABLE', 'budget');
    vi.stubEnv('START_TASK_RATE', '20');
    vi.stubEnv('INGEST_URGENT_MAX_CONCURRENCY', '2');
    vi.stubEnv('INGEST_MAX_CONCURRENCY', '4');
    vi.stubEnv('INGEST_BULK_MAX_CONCURRENCY', '3');
    expect(budgetConfigFromEnv('START_TASK_RATE', KEYS)).toEqual({
      mode: 'shared',
      table: 'budget',
      ceiling: 20,
      instances: 9,
      laneFloor: 0.1,
    });
  });

  it('refuses a shared budget without its table, an unknown mode, a bad ceiling or floor', () => {
    vi.stubEnv('BUDGET_TABLE', '');
    expect(() => budgetConfigFromEnv('START_TASK_RATE', KEYS)).toThrow(/BUDGET_TABLE must be set/);
    vi.stubEnv('BUDGET_TABLE', 'budget');
    vi.stubEnv('BUDGET_MODE', 'fast');
    expect(() => budgetConfigFromEnv('START_TASK_RATE', KEYS)).toThrow(/BUDGET_MODE/);
    vi.stubEnv('BUDGET_MODE', 'shared');
    vi.stubEnv('START_TASK_RATE', '0');
    expect(() => budgetConfigFromEnv('START_TASK_RATE', KEYS)).toThrow(/START_TASK_RATE must be > 0/);
    vi.stubEnv('START_TASK_RATE', '2');
    vi.stubEnv('BUDGET_LANE_FLOOR', '1');
    expect(() => budgetConfigFromEnv('START_TASK_RATE', KEYS)).toThrow(/BUDGET_LANE_FLOOR/);
  });

  it('in local mode paces each instance at its static share without a table', async () => {
    vi.stubEnv('BUDGET_MODE', 'local');
    vi.stubEnv('BUDGET_TABLE', '');
    vi.stubEnv('START_TASK_RATE', '4');
    vi.stubEnv('INGEST_MAX_CONCURRENCY', '2');
    const config = budgetConfigFromEnv('START_TASK_RATE', KEYS);
    const budget = createQuotaBudget(config, {
      dynamodb: new DynamoDBClient({}),
      operation: 'StartTaskContact',
    });
    await budget.acquire('urgent');
    expect(budget.snapshot()).toMatchObject({ rate: 2, ceiling: 4, calls: 1, fallback: false });
  });
});
