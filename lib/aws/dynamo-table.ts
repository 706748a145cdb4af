/**
 * What the DynamoDB table adapters (the transfer store, the ledger) share: their constructor
 * options with the table's default retention, and the test for a failed condition.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

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

/** An adapter's table: its options, with the table's default retention when none is given. */
export function dynamoTable(options: DynamoTableOptions, defaultRetentionMs: number): DynamoTable {
  const retentionMs = options.retentionMs ?? defaultRetentionMs;
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
