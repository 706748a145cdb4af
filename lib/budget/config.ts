/**
 * The budget's configuration (read by `budgetConfigFromEnv` in lib/config.ts) and the factory that
 * turns it into a Budget.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '#lib/observability/logger.ts';
import { type Budget, createBudget } from './budget.ts';
import { DynamoBudgetStore } from './store.ts';

export interface BudgetConfig {
  /** BUDGET_TABLE: the table every instance shares the budget through. */
  table: string;
  /** Requests/s, the most the service may spend (START_TASK_RATE, TRANSFER_RATE). */
  ceiling: number;
  /** Instances that may run at once across lanes (the event sources' maximumConcurrency, summed). */
  instances: number;
  /** Share of the slots a lower lane keeps while a higher one waits (BUDGET_LANE_FLOOR, 0.1). */
  laneFloor: number;
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
