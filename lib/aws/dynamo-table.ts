/**
 * What the DynamoDB table adapters (the transfer store, the ledger) share: their constructor
 * options, checked once at construction, and the test for a failed condition.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isPositiveNumber } from '#lib/guards.ts';

export interface DynamoTableOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long items are kept after their last change (a default per table). */
  retentionMs?: number;
}

export interface DynamoTable {
  client: DynamoDBClient;
  table: string;
  retentionMs: number;
}

/** Checks an adapter's options (the wiring is a boundary: they come from the environment). */
export function dynamoTable(
  owner: string,
  options: DynamoTableOptions,
  defaultRetentionMs: number,
): DynamoTable {
  if (!options?.client) throw new TypeError(`${owner}: client is required`);
  if (typeof options.tableName !== 'string' || options.tableName === '') {
    throw new TypeError(`${owner}: tableName must be a non-empty string`);
  }
  const retentionMs = options.retentionMs ?? defaultRetentionMs;
  if (!isPositiveNumber(retentionMs)) throw new TypeError(`${owner}: retentionMs must be > 0`);
  return { client: options.client, table: options.tableName, retentionMs };
}

/** A conditional write whose condition did not hold (the SDK's class, or its name across copies). */
export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (typeof error === 'object' &&
      error !== null &&
      (error as { name?: unknown }).name === 'ConditionalCheckFailedException')
  );
}
