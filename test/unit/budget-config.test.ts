import { describe, expect, it } from 'vitest';
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
      table: 'budget',
      ceiling: 20,
      instances: 9,
      laneFloor: 0.1,
    });
  });

  it('refuses a budget without its table, a bad ceiling or floor', () => {
    expect(() => read({ BUDGET_TABLE: '' })).toThrow(/BUDGET_TABLE must be set/);
    const shared = { BUDGET_TABLE: 'budget' };
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
});
