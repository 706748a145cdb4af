/**
 * The budget's configuration, read from the environment by the function entry files (through
 * lib/config.ts), and the factory that turns it into a Budget.
 */

import { getNumberFromEnv, getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '#lib/config.ts';
import { createRateLimiter } from '#lib/connect/rate-limiter.ts';
import type { Lane } from '#lib/lanes.ts';
import { type Budget, type BudgetSnapshot, createBudget } from './budget.ts';
import { DynamoBudgetStore } from './store.ts';

/**
 * - `shared` (default): one budget for all instances, in the budget table (lib/budget/budget.ts).
 * - `local`: the previous static shaping, each instance at ceiling ÷ instances with a random phase
 *   (kept for the side-by-side bench and as an escape hatch when the table cannot be used).
 */
export type BudgetMode = 'shared' | 'local';

export interface BudgetConfig {
  mode: BudgetMode;
  /** BUDGET_TABLE; required in shared mode. */
  table: string | undefined;
  /** Requests/s, the most the service may spend (START_TASK_RATE, TRANSFER_RATE). */
  ceiling: number;
  /** Instances that may run at once across lanes (the event sources' maximumConcurrency, summed). */
  instances: number;
  /** Share of the slots a lower lane keeps while a higher one waits (BUDGET_LANE_FLOOR, 0.1). */
  laneFloor: number;
}

function readNumber(key: string, defaultValue: number): number {
  return getNumberFromEnv({ key, defaultValue, errorMessage: `${key} must be a number` });
}

/**
 * Reads the budget of one quota.
 * Input: the variable holding its ceiling and the variables whose sum is the number of instances.
 */
export function budgetConfigFromEnv(ceilingKey: string, instanceKeys: readonly string[]): BudgetConfig {
  const mode = getStringFromEnv({ key: 'BUDGET_MODE', defaultValue: 'shared' });
  if (mode !== 'shared' && mode !== 'local')
    throw new ConfigError(`BUDGET_MODE must be "shared" or "local", got "${mode}"`);
  const ceiling = readNumber(ceilingKey, 2);
  if (!(ceiling > 0)) throw new ConfigError(`${ceilingKey} must be > 0, got ${ceiling}`);
  const instances = instanceKeys.reduce((sum, key) => sum + readNumber(key, 0), 0);
  const laneFloor = readNumber('BUDGET_LANE_FLOOR', 0.1);
  if (!(laneFloor > 0 && laneFloor < 1))
    throw new ConfigError(`BUDGET_LANE_FLOOR must be between 0 and 1, got ${laneFloor}`);
  const table = process.env.BUDGET_TABLE || undefined;
  if (mode === 'shared' && table === undefined)
    throw new ConfigError('BUDGET_TABLE must be set (or BUDGET_MODE=local)');
  return { mode, table, ceiling, instances: Math.max(1, instances), laneFloor };
}

/** The previous static shaping behind the Budget interface: ceiling ÷ instances, random phase. */
function createLocalBudget(config: BudgetConfig): Budget {
  const ratePerSecond = config.ceiling / config.instances;
  const limiter = createRateLimiter({ ratePerSecond, randomStart: true });
  let calls = 0;
  let throttled = 0;
  return {
    async acquire(_lane?: Lane) {
      await limiter.acquire();
      calls += 1;
    },
    throttled() {
      throttled += 1;
      limiter.throttled?.();
    },
    get waiting() {
      return limiter.waiting;
    },
    flush: async () => {},
    snapshot(): BudgetSnapshot {
      const out = {
        rate: ratePerSecond,
        ceiling: config.ceiling,
        calls,
        throttled,
        waitMs: {},
        granted: {},
        fallback: false,
      };
      calls = 0;
      throttled = 0;
      return out;
    },
  };
}

export interface QuotaBudgetDeps {
  dynamodb: DynamoDBClient;
  /** The Connect operation whose quota this is (the budget item's id). */
  operation: string;
  onFallback?: (error: unknown) => void;
}

/** Builds the budget one function instance spends its quota through. */
export function createQuotaBudget(config: BudgetConfig, deps: QuotaBudgetDeps): Budget {
  if (config.mode === 'local' || config.table === undefined) return createLocalBudget(config);
  return createBudget({
    store: new DynamoBudgetStore({
      client: deps.dynamodb,
      tableName: config.table,
      operation: deps.operation,
    }),
    ceiling: config.ceiling,
    instances: config.instances,
    laneFloor: config.laneFloor,
    ...(deps.onFallback ? { onFallback: deps.onFallback } : {}),
  });
}
