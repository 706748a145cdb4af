/**
 * The DynamoDB side of the slot counts (lib/ledger/port.ts `SlotLedger`): one item per instance
 * (`slotsKey`) holding `used`, changed with UpdateItem ADD, conditional where a bound must hold.
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { type DynamoTable, isConditionFailure } from '#lib/aws/dynamo-table.ts';
import { slotsKey } from '#lib/idempotency/token.ts';
import { LedgerStoreError } from './errors.ts';
import type { SlotLedger } from './port.ts';

export class DynamoSlots implements SlotLedger {
  constructor(readonly db: DynamoTable) {}

  async takeSlot(
    instanceId: string,
    quota: number,
    force: boolean,
  ): Promise<{ taken: boolean; used: number }> {
    const key = marshall({ clientToken: slotsKey(instanceId) });
    try {
      const out = await this.db.client.send(
        new UpdateItemCommand({
          TableName: this.db.table,
          Key: key,
          UpdateExpression: 'ADD used :one',
          ...(force ? {} : { ConditionExpression: 'attribute_not_exists(used) OR used < :quota' }),
          ExpressionAttributeValues: marshall(force ? { ':one': 1 } : { ':one': 1, ':quota': quota }),
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { taken: true, used: Number(unmarshall(out.Attributes ?? {}).used ?? 1) };
    } catch (error) {
      if (!isConditionFailure(error))
        throw new LedgerStoreError('could not take an active-task slot', { cause: error });
    }
    const read = await this.db.client
      .send(new GetItemCommand({ TableName: this.db.table, Key: key, ConsistentRead: true }))
      .catch((error: unknown) => {
        throw new LedgerStoreError('could not read the active-task slots', { cause: error });
      });
    return { taken: false, used: Number(unmarshall(read.Item ?? {}).used ?? 0) };
  }

  async freeSlot(instanceId: string): Promise<void> {
    try {
      await this.db.client.send(
        new UpdateItemCommand({
          TableName: this.db.table,
          Key: marshall({ clientToken: slotsKey(instanceId) }),
          UpdateExpression: 'ADD used :minus',
          ConditionExpression: 'used > :zero',
          ExpressionAttributeValues: marshall({ ':minus': -1, ':zero': 0 }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error))
        throw new LedgerStoreError('could not free an active-task slot', { cause: error });
    }
  }

  async setSlots(instanceId: string, used: number): Promise<void> {
    try {
      await this.db.client.send(
        new PutItemCommand({
          TableName: this.db.table,
          Item: marshall({ clientToken: slotsKey(instanceId), used }),
        }),
      );
    } catch (error) {
      throw new LedgerStoreError('could not set the active-task slots', { cause: error });
    }
  }
}
