/**
 * The DynamoDB adapter of the budget status port (lib/budget/status.ts): GetItem for a budget item,
 * BatchGetItem for the minute items (100 keys a request, the DynamoDB limit). Reads only, strongly
 * consistent, so a status taken right after a throttle shows it. Works on dynalite (the sandbox):
 * no PartiQL, no transactions.
 */
import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  GetItemCommand,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { sleep } from '#lib/clock.ts';
import { BudgetStoreError } from './errors.ts';
import type { BudgetRecord, BudgetStatusPort } from './status.ts';

/** BatchGetItem takes at most 100 keys. */
const BATCH_KEYS = 100;
/** Rounds of UnprocessedKeys (throttled reads) before giving up. */
const MAX_ROUNDS = 6;
const RETRY_BASE_MS = 50;

export interface DynamoBudgetStatusPortOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Waits between rounds of UnprocessedKeys; tests inject an immediate one. */
  delay?: (ms: number) => Promise<void>;
}

export function createDynamoBudgetStatusPort(options: DynamoBudgetStatusPortOptions): BudgetStatusPort {
  const { client, tableName } = options;
  const delay = options.delay ?? sleep;

  async function getChunk(ids: readonly string[], into: Map<string, BudgetRecord>): Promise<void> {
    let request: Record<string, KeysAndAttributes> | undefined = {
      [tableName]: { Keys: ids.map((id) => ({ id: { S: id } })), ConsistentRead: true },
    };
    for (let round = 0; request !== undefined; round++) {
      if (round >= MAX_ROUNDS) {
        throw new BudgetStoreError(
          `BatchGetItem on ${tableName} still had unprocessed keys after ${MAX_ROUNDS} rounds`,
        );
      }
      if (round > 0) await delay(RETRY_BASE_MS * 2 ** (round - 1));
      const out: BatchGetItemCommandOutput = await client.send(
        new BatchGetItemCommand({ RequestItems: request }),
      );
      for (const raw of out.Responses?.[tableName] ?? []) {
        const item = unmarshall(raw);
        if (typeof item.id === 'string') into.set(item.id, item);
      }
      const unprocessed: KeysAndAttributes | undefined = out.UnprocessedKeys?.[tableName];
      request = unprocessed?.Keys?.length
        ? { [tableName]: { Keys: unprocessed.Keys, ConsistentRead: true } }
        : undefined;
    }
  }

  return {
    async getItem(id) {
      const out = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }),
      );
      return out.Item ? unmarshall(out.Item) : undefined;
    },
    async getItems(ids) {
      const found = new Map<string, BudgetRecord>();
      const unique = [...new Set(ids)];
      for (let from = 0; from < unique.length; from += BATCH_KEYS) {
        await getChunk(unique.slice(from, from + BATCH_KEYS), found);
      }
      return found;
    },
  };
}
