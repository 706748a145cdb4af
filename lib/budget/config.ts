/**
 * The budget's configuration (read by `budgetConfigFromEnv` in lib/config.ts) and the factory that
 * turns it into a Budget.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createRateLimiter } from '#lib/connect/rate-limiter.ts';
import type { Lane } from '#lib/lanes.ts';
import type { Logger } from '#lib/observability/logger.ts';
import { type Deadline, NO_DEADLINE, waitAllowanceMs } from '#lib/retry/deadline.ts';
import { DeadlineError } from '#lib/retry/errors.ts';
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

/** The previous static shaping behind the Budget interface: ceiling ÷ instances, random phase. */
function createLocalBudget(config: BudgetConfig): Budget {
  const ratePerSecond = config.ceiling / config.instances;
  const limiter = createRateLimiter({ ratePerSecond, randomStart: true });
  let calls = 0;
  let throttled = 0;
  return {
    async acquire(_lane?: Lane, deadline: Deadline = NO_DEADLINE) {
      // The waiters ahead take one interval each and this one at most one more: the longest it waits.
      const earliestMs = ((limiter.waiting + 1) * 1000) / ratePerSecond;
      const allowance = waitAllowanceMs(deadline);
      if (earliestMs > allowance) throw new DeadlineError('a budget slot', earliestMs, allowance);
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
  /** Warned when the budget store is unavailable and the budget paces at its local fallback rate. */
  logger?: Logger;
}

/** Builds the budget one function instance spends its quota through. */
export function createQuotaBudget(config: BudgetConfig, deps: QuotaBudgetDeps): Budget {
  if (config.mode === 'local' || config.table === undefined) return createLocalBudget(config);
  const { logger } = deps;
  return createBudget({
    store: new DynamoBudgetStore({
      client: deps.dynamodb,
      tableName: config.table,
      operation: deps.operation,
    }),
    ceiling: config.ceiling,
    instances: config.instances,
    laneFloor: config.laneFloor,
    ...(logger
      ? {
          onFallback: (error: unknown) =>
            logger.warn('quota budget store unavailable; pacing at the local fallback rate', {
              operation: deps.operation,
              code: error instanceof Error ? error.name : 'Error',
            }),
        }
      : {}),
  });
}
