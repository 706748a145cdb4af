/**
 * The DynamoDB adapter of the ledger (lib/ledger/port.ts): one item per entry keyed by its
 * ClientToken, plus the chain counters and the contact index in the same table.
 *
 * Every change is one single-item write (dynalite has no transactions): the entry is a conditional
 * put (`attribute_not_exists`), the chain counter an UpdateItem ADD, the contact index an
 * unconditional put of the same value, and each lifecycle step a conditional update on the
 * lifecycle's revision `lcRev` or on the lease's event id. Reads are strongly consistent.
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  type DynamoTable,
  type DynamoTableOptions,
  dynamoTable,
  isConditionFailure,
} from '#lib/aws/dynamo-table.ts';
import { chainCounterKey, contactIndexKey } from '#lib/idempotency/token.ts';
import {
  chainCountOf,
  entryTokenOf,
  expiresAtSeconds,
  lifecycleOf,
  toLedgerEntry,
  toLedgerItem,
} from './codec.ts';
import { LedgerStoreError } from './errors.ts';
import {
  type AppliedLifecycleEvent,
  DEFAULT_LEDGER_RETENTION_MS,
  type Ledger,
  type LedgerEntry,
  type LedgerPutOutcome,
  type LifecycleLease,
  type StoredLedgerEntry,
  type TaskLifecycle,
} from './port.ts';

/** How long entries are kept after their creation: `retentionMs` (default 30 days). */
export type DynamoLedgerOptions = DynamoTableOptions;

export class DynamoLedger implements Ledger {
  /** Client, table name and retention, checked once. */
  readonly #db: DynamoTable;

  constructor(options: DynamoLedgerOptions) {
    this.#db = dynamoTable('DynamoLedger', options, DEFAULT_LEDGER_RETENTION_MS);
  }

  async put(entry: LedgerEntry): Promise<LedgerPutOutcome> {
    const stored = toLedgerItem(entry, this.#db.retentionMs);
    let outcome: LedgerPutOutcome;
    try {
      await this.#db.client.send(
        new PutItemCommand({
          TableName: this.#db.table,
          Item: marshall(stored),
          ConditionExpression: 'attribute_not_exists(clientToken)',
        }),
      );
      outcome = 'created';
    } catch (error) {
      if (!isConditionFailure(error))
        throw new LedgerStoreError('could not write the ledger entry', { cause: error });
      outcome = 'exists';
    }
    // The first entry stands: index its task (on 'exists' too, so a crash before this write heals).
    const first = outcome === 'created' ? stored : await this.get(entry.clientToken);
    if (first !== undefined) await this.#index(first);
    return outcome;
  }

  async #index(entry: StoredLedgerEntry): Promise<void> {
    try {
      await this.#db.client.send(
        new PutItemCommand({
          TableName: this.#db.table,
          Item: marshall({
            clientToken: contactIndexKey(entry.instanceId, entry.contactId),
            entryToken: entry.clientToken,
            expiresAt: entry.expiresAt,
          }),
        }),
      );
    } catch (error) {
      throw new LedgerStoreError('could not index the ledger entry by its contact', { cause: error });
    }
  }

  async get(clientToken: string): Promise<StoredLedgerEntry | undefined> {
    const item = await this.#read(clientToken, 'the ledger entry');
    return item ? toLedgerEntry(item) : undefined;
  }

  async tokenOfContact(instanceId: string, contactId: string): Promise<string | undefined> {
    const item = await this.#read(contactIndexKey(instanceId, contactId), 'the contact index of the ledger');
    return item === undefined ? undefined : entryTokenOf(item);
  }

  /** A strongly consistent read of one item by key; a failed call is a LedgerStoreError naming `what`. */
  async #read(key: string, what: string, projection?: string): Promise<Record<string, unknown> | undefined> {
    try {
      const out = await this.#db.client.send(
        new GetItemCommand({
          TableName: this.#db.table,
          Key: marshall({ clientToken: key }),
          ConsistentRead: true,
          ...(projection === undefined ? {} : { ProjectionExpression: projection }),
        }),
      );
      return out.Item ? unmarshall(out.Item) : undefined;
    } catch (error) {
      throw new LedgerStoreError(`could not read ${what}`, { cause: error });
    }
  }

  async lifecycle(
    clientToken: string,
  ): Promise<{ entry: StoredLedgerEntry; lifecycle: TaskLifecycle } | undefined> {
    const item = await this.#read(clientToken, 'the ledger entry');
    if (item === undefined) return undefined;
    return { entry: toLedgerEntry(item), lifecycle: lifecycleOf(item) };
  }

  async claimLifecycle(
    clientToken: string,
    rev: number,
    lease: LifecycleLease & { holder: string },
  ): Promise<boolean> {
    const values: Record<string, unknown> = {
      ':e': lease.eventId,
      ':h': lease.holder,
      ':u': lease.until,
      ':next': rev + 1,
      ...(rev === 0 ? {} : { ':rev': rev }),
      ...(lease.eventAt === undefined ? {} : { ':t': lease.eventAt }),
    };
    try {
      await this.#db.client.send(
        new UpdateItemCommand({
          TableName: this.#db.table,
          Key: marshall({ clientToken }),
          ConditionExpression: `attribute_exists(clientToken) AND ${rev === 0 ? 'attribute_not_exists(lcRev)' : 'lcRev = :rev'}`,
          UpdateExpression:
            lease.eventAt === undefined
              ? 'SET leaseEventId = :e, leaseHolder = :h, leaseUntil = :u, lcRev = :next REMOVE leaseEventAt'
              : 'SET leaseEventId = :e, leaseHolder = :h, leaseUntil = :u, leaseEventAt = :t, lcRev = :next',
          ExpressionAttributeValues: marshall(values),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new LedgerStoreError('could not claim the task for a lifecycle event', { cause: error });
    }
  }

  commitLifecycle(clientToken: string, eventId: string, applied: AppliedLifecycleEvent): Promise<boolean> {
    const set =
      applied.kind === 'update'
        ? 'lastEventAt = :t, lastEventId = :e, '
        : 'completedAt = :t, completedEventId = :e, ';
    return this.#endLease(clientToken, eventId, 'record the lifecycle event', set, {
      ':t': applied.kind === 'update' ? applied.eventAt : applied.completedAt,
    });
  }

  async releaseLifecycle(clientToken: string, eventId: string): Promise<void> {
    await this.#endLease(clientToken, eventId, 'release the lifecycle lease', '', {});
  }

  /** Ends `eventId`'s lease (bumping the revision, with `set` applied); false when it does not hold it. */
  async #endLease(
    clientToken: string,
    eventId: string,
    what: string,
    set: string,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.#db.client.send(
        new UpdateItemCommand({
          TableName: this.#db.table,
          Key: marshall({ clientToken }),
          ConditionExpression: 'leaseEventId = :e',
          UpdateExpression: `SET ${set}lcRev = lcRev + :one REMOVE leaseEventId, leaseEventAt, leaseUntil, leaseHolder`,
          ExpressionAttributeValues: marshall({ ':e': eventId, ':one': 1, ...values }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new LedgerStoreError(`could not ${what}`, { cause: error });
    }
  }

  async countChainTask(instanceId: string, previousContactId: string, createdAt: number): Promise<void> {
    try {
      await this.#db.client.send(
        new UpdateItemCommand({
          TableName: this.#db.table,
          Key: marshall({ clientToken: chainCounterKey(instanceId, previousContactId) }),
          // The counter lives as long as the newest entry it counts.
          UpdateExpression:
            'ADD tasks :one SET instanceId = :instanceId, previousContactId = :previous, expiresAt = :expiresAt',
          ExpressionAttributeValues: marshall({
            ':one': 1,
            ':instanceId': instanceId,
            ':previous': previousContactId,
            ':expiresAt': expiresAtSeconds(createdAt, this.#db.retentionMs),
          }),
        }),
      );
    } catch (error) {
      throw new LedgerStoreError('could not count the task in its PreviousContactId chain', { cause: error });
    }
  }

  async chainTasks(instanceId: string, previousContactId: string): Promise<number | undefined> {
    const key = chainCounterKey(instanceId, previousContactId);
    const item = await this.#read(key, 'the PreviousContactId chain counter', 'tasks');
    return item?.tasks === undefined ? undefined : chainCountOf(item);
  }
}
