/**
 * The DynamoDB side of the OVER_QUOTA waiters (lib/ledger/port.ts `WaiterLedger`): one item per task
 * ClientToken (`waiterKey`), in the pending index under `wait#<instanceId>` sorted by its first park,
 * so a freed slot finds the oldest waiters of its instance with one Query instead of reading the DLQ.
 */
import { DeleteItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type DynamoTable, isConditionFailure } from '#lib/aws/dynamo-table.ts';
import { waiterKey } from '#lib/idempotency/token.ts';
import { expiresAtSeconds, PENDING_INDEX, waiterMessageJson, waiterOf, waitPartition } from './codec.ts';
import { readItem } from './dynamo-outbox.ts';
import { LedgerStoreError } from './errors.ts';
import type { Waiter, WaiterLedger } from './port.ts';

/** A waiter lives as long as its DLQ message can: 14 days. */
const WAITER_RETENTION_MS = 14 * 24 * 60 * 60 * 1000;

export class DynamoWaiters implements WaiterLedger {
  constructor(readonly db: DynamoTable) {}

  async putWaiter(waiter: Omit<Waiter, 'since' | 'claimUntil'> & { firstParkedAt: number }): Promise<void> {
    try {
      await this.db.client.send(
        new UpdateItemCommand({
          TableName: this.db.table,
          Key: marshall({ clientToken: waiterKey(waiter.clientToken) }),
          // The place in line is the first park's; a park of the same event again refreshes the rest.
          UpdateExpression:
            'SET waitToken = :t, waitInstance = :i, waitLane = :l, waitMessage = :m, parkedAt = :p, ' +
            'pendPk = :pk, pendAt = if_not_exists(pendAt, :first), expiresAt = :x REMOVE claimUntil',
          ExpressionAttributeValues: marshall({
            ':t': waiter.clientToken,
            ':i': waiter.instanceId,
            ':l': waiter.lane,
            ':m': waiterMessageJson(waiter.message),
            ':p': waiter.parkedAt,
            ':pk': waitPartition(waiter.instanceId),
            ':first': waiter.firstParkedAt,
            ':x': expiresAtSeconds(waiter.parkedAt, WAITER_RETENTION_MS),
          }),
        }),
      );
    } catch (error) {
      throw new LedgerStoreError('could not record the waiting event', { cause: error });
    }
  }

  async getWaiter(clientToken: string): Promise<Waiter | undefined> {
    const item = await readItem(this.db, waiterKey(clientToken));
    return item === undefined ? undefined : waiterOf(item);
  }

  async oldestWaiters(instanceId: string, limit: number, now: number): Promise<Waiter[]> {
    const out: Waiter[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      let page: { keys: string[]; next?: Record<string, unknown> };
      try {
        const result = await this.db.client.send(
          new QueryCommand({
            TableName: this.db.table,
            IndexName: PENDING_INDEX,
            KeyConditionExpression: 'pendPk = :p',
            ExpressionAttributeValues: marshall({ ':p': waitPartition(instanceId) }),
            Limit: limit + 10,
            ...(start === undefined ? {} : { ExclusiveStartKey: marshall(start) }),
          }),
        );
        page = {
          keys: (result.Items ?? []).map((item) => String(unmarshall(item).clientToken)),
          ...(result.LastEvaluatedKey ? { next: unmarshall(result.LastEvaluatedKey) } : {}),
        };
      } catch (error) {
        throw new LedgerStoreError('could not query the waiting events', { cause: error });
      }
      for (const key of page.keys) {
        const item = await readItem(this.db, key);
        if (item === undefined) continue;
        const waiter = waiterOf(item);
        if (waiter.claimUntil !== undefined && waiter.claimUntil > now) continue;
        out.push(waiter);
        if (out.length === limit) return out;
      }
      start = page.next;
    } while (start !== undefined);
    return out;
  }

  async claimWaiter(clientToken: string, until: number, now: number): Promise<boolean> {
    try {
      await this.db.client.send(
        new UpdateItemCommand({
          TableName: this.db.table,
          Key: marshall({ clientToken: waiterKey(clientToken) }),
          UpdateExpression: 'SET claimUntil = :u',
          ConditionExpression:
            'attribute_exists(clientToken) AND (attribute_not_exists(claimUntil) OR claimUntil <= :now)',
          ExpressionAttributeValues: marshall({ ':u': until, ':now': now }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new LedgerStoreError('could not claim a waiting event', { cause: error });
    }
  }

  async removeWaiter(clientToken: string, parkedAt?: number): Promise<void> {
    try {
      await this.db.client.send(
        new DeleteItemCommand({
          TableName: this.db.table,
          Key: marshall({ clientToken: waiterKey(clientToken) }),
          ...(parkedAt === undefined
            ? {}
            : {
                ConditionExpression: 'parkedAt = :p',
                ExpressionAttributeValues: marshall({ ':p': parkedAt }),
              }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error))
        throw new LedgerStoreError('could not remove a waiting event', { cause: error });
    }
  }
}
