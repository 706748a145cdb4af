import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createQuotaBudget } from '#lib/budget/config.ts';
import { budgetConfigFromEnv } from '#lib/config.ts';

const KEYS = ['INGEST_URGENT_MAX_CONCURRENCY', 'INGEST_MAX_CONCURRENCY', 'INGEST_BULK_MAX_CONCURRENCY'];

describe('budgetConfigFromEnv', () => {
  const read = (env: Record<string, string>) => budgetConfigFromEnv('START_TASK_RATE', KEYS, env);

  it('reads a shared budget whose fallback share counts every lane’s instances', () => {
    expect(
      read({
        BUDGET_TABLE: 'budget',
        START_TASK_RATE: '20',
        INGEST_URGENT_MAX_CONCURRENCY: '2',
        INGEST_MAX_CONCURRENCY: '4',
        INGEST_BULK_MAX_CONCURRENCY: '3',
      }),
    ).toEqual({
      mode: 'shared',
      table: 'budget',
      ceiling: 20,
      instances: 9,
      laneFloor: 0.1,
    });
  });

  it('refuses a shared budget without its table, an unknown mode, a bad ceiling or floor', () => {
    expect(() => read({ BUDGET_TABLE: '' })).toThrow(/BUDGET_TABLE must be set/);
    const shared = { BUDGET_TABLE: 'budget', BUDGET_MODE: 'shared' };
    expect(() => read({ ...shared, BUDGET_MODE: 'fast' })).toThrow(/BUDGET_MODE/);
    expect(() => read({ ...shared, START_TASK_RATE: '0' })).toThrow(/START_TASK_RATE must be > 0/);
    expect(() => read({ ...shared, BUDGET_LANE_FLOOR: '1' })).toThrow(/BUDGET_LANE_FLOOR/);
    expect(() => read({ ...shared, BUDGET_LANE_FLOOR: '1' })).toThrow(
      expect.objectContaining({ name: 'ConfigError' }),
    );
  });

  it('does not read the process environment when given one', () => {
    const before = process.env.BUDGET_TABLE;
    process.env.BUDGET_TABLE = 'from-process';
    try {
      expect(() => read({})).toThrow(/BUDGET_TABLE must be set/);
    } finally {
      if (before === undefined) delete process.env.BUDGET_TABLE;
      else process.env.BUDGET_TABLE = before;
    }
  });

  it('in local mode paces each instance at its static share without a table', async () => {
    const config = read({
      BUDGET_MODE: 'local',
      BUDGET_TABLE: '',
      START_TASK_RATE: '4',
      INGEST_MAX_CONCURRENCY: '2',
    });
    const budget = createQuotaBudget(config, {
      dynamodb: new DynamoDBClient({}),
      operation: 'StartTaskContact',
    });
    await budget.acquire('urgent');
    expect(budget.snapshot()).toMatchObject({ rate: 2, ceiling: 4, calls: 1, fallback: false });
  });
});
