/**
 * The DynamoDB adapter of the transfers table: one item per planned TransferContact (partition key `contactId`, sort key
 * `planId`), plus one counter item per contact (sort key `#count`).
 *
 * Lifecycle of a plan item:
 *
 * ```
 *   schedule ─► PENDING ──claim──► CLAIMED ──complete──► DONE
 *                  ▲                  │ ├────fail──────► FAILED
 *                  └───reschedule─────┘ └─(lease expires: claimable again)
 *   PENDING (or CLAIMED with an expired lease) ──cancel──► CANCELLED
 * ```
 *
 * Leases. Claiming sets `status = CLAIMED` with `leaseOwner` and `leaseUntil`; `dueAt` keeps the
 * due time. `queryDue` reads the GSI `byStatusDue` twice: `PENDING` with `dueAt ≤ now`, then
 * `CLAIMED` with `dueAt ≤ now` filtered on `leaseUntil ≤ now` — so the items of a sweep that crashed
 * come back once their lease runs out. The claim itself is a conditional update on the base table
 * (strongly consistent): of two sweeps that both saw an item, exactly one claims it. Outcomes
 * (`complete`, `fail`, `reschedule`) are conditional on `status = CLAIMED AND leaseOwner = owner`,
 * so a sweep that lost its lease cannot overwrite the new owner's record.
 *
 * Transfer counter. Connect refuses a 12th transfer of a contact (TransferContact API reference: "A contact cannot be
 * transferred more than 11 times"). The counter item holds the string set `plans` of plan ids that
 * took a transfer slot. `reserveTransferSlot` adds a plan id only while the set is smaller than the
 * limit (or already holds it), in one conditional write, so two sweeps transferring two different
 * plans of one contact at the same time cannot both take the 11th slot. Adding to a set is
 * idempotent: a retried plan never counts twice. No transactions are used (dynalite has none).
 *
 * Times are epoch milliseconds, except `expiresAt`, which is epoch seconds (DynamoDB TTL).
 */
import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  type DynamoTable,
  type DynamoTableOptions,
  dynamoTable,
  isConditionFailure,
} from '#lib/aws/dynamo-table.ts';
import { TransferStoreError } from '#lib/transfers/errors.ts';
import { type Cursor, decodeCursor, encodeCursor, isPlanRecord, toTransferItem } from './codec.ts';
import {
  BY_STATUS_DUE_INDEX,
  type CancelOutcome,
  COUNTER_PLAN_ID,
  DEFAULT_TRANSFER_RETENTION_MS,
  type ScheduleOutcome,
  type TransferItem,
  type TransferKey,
  type TransferListFilter,
  type TransferPage,
  type TransferResult,
  type TransferStore,
} from './port.ts';

/** How long finished items and counters are kept after their last change: `retentionMs` (default 30 days). */
export type DynamoTransferStoreOptions = DynamoTableOptions;

/**
 * The DynamoDB adapter of `TransferStore`.
 *
 * Input: a DynamoDB client (injected: traced in Lambda, pointed at dynalite in tests) and the table
 * name. Every state change is one conditional single-item write.
 */
export class DynamoTransferStore implements TransferStore {
  /** Client, table name and retention, checked once. */
  readonly #db: DynamoTable;

  constructor(options: DynamoTransferStoreOptions) {
    this.#db = dynamoTable(options, DEFAULT_TRANSFER_RETENTION_MS);
  }

  #expiresAt(now: number): number {
    return Math.ceil((now + this.#db.retentionMs) / 1000);
  }

  #key(contactId: string, planId: string) {
    return marshall({ contactId, planId });
  }

  async schedule(item: TransferItem): Promise<ScheduleOutcome> {
    if (item.planId === COUNTER_PLAN_ID)
      throw new TransferStoreError(`planId "${COUNTER_PLAN_ID}" is reserved`);
    try {
      await this.#db.client.send(
        new PutItemCommand({
          TableName: this.#db.table,
          Item: marshall(item, { removeUndefinedValues: true }),
          ConditionExpression: 'attribute_not_exists(contactId)',
        }),
      );
      return 'created';
    } catch (error) {
      if (isConditionFailure(error)) return 'exists';
      throw new TransferStoreError('could not write the transfer plan', { cause: error });
    }
  }

  async get(contactId: string, planId: string): Promise<TransferItem | undefined> {
    if (planId === COUNTER_PLAN_ID) return undefined;
    const out = await this.#db.client.send(
      new GetItemCommand({
        TableName: this.#db.table,
        Key: this.#key(contactId, planId),
        ConsistentRead: true,
      }),
    );
    return out.Item ? toTransferItem(unmarshall(out.Item)) : undefined;
  }

  async list(filter: TransferListFilter = {}): Promise<TransferPage> {
    const limit = filter.limit ?? 50;
    const start = decodeCursor(filter.cursor, ['list'])?.key;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    let keyCondition: string | undefined;
    let indexName: string | undefined;
    let filterExpression: string | undefined;
    if (filter.contactId !== undefined) {
      keyCondition = 'contactId = :c';
      values[':c'] = filter.contactId;
      if (filter.status !== undefined) {
        filterExpression = '#status = :s';
        names['#status'] = 'status';
        values[':s'] = filter.status;
      }
    } else if (filter.status !== undefined) {
      indexName = BY_STATUS_DUE_INDEX;
      keyCondition = '#status = :s';
      names['#status'] = 'status';
      values[':s'] = filter.status;
    }
    const common = {
      TableName: this.#db.table,
      Limit: limit,
      ...(start ? { ExclusiveStartKey: marshall(start) } : {}),
      ...(filterExpression ? { FilterExpression: filterExpression } : {}),
      ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
    };
    const out =
      keyCondition === undefined
        ? await this.#db.client.send(new ScanCommand(common satisfies ScanCommandInput))
        : await this.#db.client.send(
            new QueryCommand({
              ...common,
              ...(indexName ? { IndexName: indexName } : {}),
              KeyConditionExpression: keyCondition,
              ExpressionAttributeValues: marshall(values),
            } satisfies QueryCommandInput),
          );
    const items = (out.Items ?? [])
      .map((raw) => unmarshall(raw))
      .filter(isPlanRecord)
      .map(toTransferItem);
    return out.LastEvaluatedKey
      ? { items, cursor: encodeCursor({ phase: 'list', key: unmarshall(out.LastEvaluatedKey) }) }
      : { items };
  }

  async queryDue(now: number, limit: number, cursor?: string): Promise<TransferPage> {
    let state: Cursor = decodeCursor(cursor, ['PENDING', 'CLAIMED']) ?? { phase: 'PENDING' };
    const items: TransferItem[] = [];
    while (items.length < limit) {
      const claimedPhase = state.phase === 'CLAIMED';
      const out = await this.#db.client.send(
        new QueryCommand({
          TableName: this.#db.table,
          IndexName: BY_STATUS_DUE_INDEX,
          KeyConditionExpression: '#status = :s AND dueAt <= :now',
          ...(claimedPhase ? { FilterExpression: 'leaseUntil <= :now' } : {}),
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({ ':s': state.phase, ':now': now }),
          Limit: limit - items.length,
          ...(state.key ? { ExclusiveStartKey: marshall(state.key) } : {}),
        }),
      );
      for (const raw of out.Items ?? []) items.push(toTransferItem(unmarshall(raw)));
      if (out.LastEvaluatedKey) {
        state = { phase: state.phase, key: unmarshall(out.LastEvaluatedKey) };
      } else if (!claimedPhase) {
        state = { phase: 'CLAIMED' };
      } else {
        return { items };
      }
    }
    return { items, cursor: encodeCursor(state) };
  }

  async #conditionalUpdate(input: {
    key: TransferKey;
    update: string;
    condition: string;
    values: Record<string, unknown>;
    what: string;
  }): Promise<boolean> {
    // `status` and `result` are DynamoDB reserved words.
    const names: Record<string, string> = { '#status': 'status' };
    if (input.update.includes('#result')) names['#result'] = 'result';
    try {
      await this.#db.client.send(
        new UpdateItemCommand({
          TableName: this.#db.table,
          Key: this.#key(input.key.contactId, input.key.planId),
          UpdateExpression: input.update,
          ConditionExpression: input.condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: marshall(input.values, { removeUndefinedValues: true }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new TransferStoreError(`could not ${input.what} the transfer plan`, { cause: error });
    }
  }

  claim(key: TransferKey, owner: string, leaseMs: number, now: number): Promise<boolean> {
    return this.#conditionalUpdate({
      key,
      what: 'claim',
      update: 'SET #status = :claimed, leaseOwner = :owner, leaseUntil = :until, updatedAt = :now',
      condition: '(#status = :pending AND dueAt <= :now) OR (#status = :claimed AND leaseUntil <= :now)',
      values: {
        ':claimed': 'CLAIMED',
        ':pending': 'PENDING',
        ':owner': owner,
        ':until': now + leaseMs,
        ':now': now,
      },
    });
  }

  async complete(key: TransferKey, owner: string, result: TransferResult, now: number): Promise<boolean> {
    // Counted first: if we crash between the two writes, the item comes back after its lease and the
    // retried call (same ClientToken) completes it; the set add is idempotent.
    await this.#addToCounter(key.contactId, key.planId, now);
    return this.#conditionalUpdate({
      key,
      what: 'complete',
      update:
        'SET #status = :done, #result = :result, updatedAt = :now, expiresAt = :exp REMOVE leaseOwner, leaseUntil, reason',
      condition: '#status = :claimed AND leaseOwner = :owner',
      values: {
        ':done': 'DONE',
        ':claimed': 'CLAIMED',
        ':owner': owner,
        ':result': { ContactId: result.ContactId, ContactArn: result.ContactArn },
        ':now': now,
        ':exp': this.#expiresAt(now),
      },
    });
  }

  fail(key: TransferKey, owner: string, reason: string, now: number): Promise<boolean> {
    return this.#conditionalUpdate({
      key,
      what: 'fail',
      update:
        'SET #status = :failed, reason = :reason, updatedAt = :now, expiresAt = :exp REMOVE leaseOwner, leaseUntil',
      condition: '#status = :claimed AND leaseOwner = :owner',
      values: {
        ':failed': 'FAILED',
        ':claimed': 'CLAIMED',
        ':owner': owner,
        ':reason': reason,
        ':now': now,
        ':exp': this.#expiresAt(now),
      },
    });
  }

  reschedule(key: TransferKey, owner: string, dueAt: number, reason: string, now: number): Promise<boolean> {
    return this.#conditionalUpdate({
      key,
      what: 'reschedule',
      update:
        'SET #status = :pending, dueAt = :due, reason = :reason, updatedAt = :now, expiresAt = :exp ADD attempts :one REMOVE leaseOwner, leaseUntil',
      condition: '#status = :claimed AND leaseOwner = :owner',
      values: {
        ':pending': 'PENDING',
        ':claimed': 'CLAIMED',
        ':owner': owner,
        ':due': dueAt,
        ':reason': reason,
        ':one': 1,
        ':now': now,
        ':exp': this.#expiresAt(Math.max(now, dueAt)),
      },
    });
  }

  async cancel(contactId: string, planId: string, now: number): Promise<CancelOutcome> {
    if (planId === COUNTER_PLAN_ID) return 'not-found';
    const cancelled = await this.#conditionalUpdate({
      key: { contactId, planId },
      what: 'cancel',
      update: 'SET #status = :cancelled, updatedAt = :now, expiresAt = :exp REMOVE leaseOwner, leaseUntil',
      condition: '#status = :pending OR (#status = :claimed AND leaseUntil <= :now)',
      values: {
        ':cancelled': 'CANCELLED',
        ':pending': 'PENDING',
        ':claimed': 'CLAIMED',
        ':now': now,
        ':exp': this.#expiresAt(now),
      },
    });
    if (cancelled) {
      await this.releaseTransferSlot(contactId, planId, now);
      return 'cancelled';
    }
    return (await this.get(contactId, planId)) === undefined ? 'not-found' : 'not-cancellable';
  }

  async #counterPlans(contactId: string): Promise<Set<string>> {
    const out = await this.#db.client.send(
      new GetItemCommand({
        TableName: this.#db.table,
        Key: this.#key(contactId, COUNTER_PLAN_ID),
        ConsistentRead: true,
      }),
    );
    const plans = out.Item ? unmarshall(out.Item).plans : undefined;
    return plans instanceof Set ? (plans as Set<string>) : new Set();
  }

  async countTransfers(contactId: string): Promise<number> {
    return (await this.#counterPlans(contactId)).size;
  }

  /** Adds the plan to the contact's counter set (a set: adding twice counts once), if `condition` holds. */
  #addPlanToCounter(
    contactId: string,
    planId: string,
    now: number,
    condition?: { expression: string; values: Record<string, unknown> },
  ): Promise<unknown> {
    return this.#db.client.send(
      new UpdateItemCommand({
        TableName: this.#db.table,
        Key: this.#key(contactId, COUNTER_PLAN_ID),
        UpdateExpression: 'ADD plans :p SET updatedAt = :now, expiresAt = :exp',
        ...(condition ? { ConditionExpression: condition.expression } : {}),
        ExpressionAttributeValues: marshall({
          ':p': new Set([planId]),
          ':now': now,
          ':exp': this.#expiresAt(now),
          ...condition?.values,
        }),
      }),
    );
  }

  async #addToCounter(contactId: string, planId: string, now: number): Promise<void> {
    try {
      await this.#addPlanToCounter(contactId, planId, now);
    } catch (error) {
      throw new TransferStoreError('could not count the transfer', { cause: error });
    }
  }

  async reserveTransferSlot(contactId: string, planId: string, max: number, now: number): Promise<boolean> {
    try {
      await this.#addPlanToCounter(contactId, planId, now, {
        expression:
          max > 0
            ? 'attribute_not_exists(plans) OR contains(plans, :planId) OR size(plans) < :max'
            : 'contains(plans, :planId)',
        values: { ':planId': planId, ...(max > 0 ? { ':max': max } : {}) },
      });
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw new TransferStoreError('could not reserve a transfer slot', { cause: error });
    }
  }

  async releaseTransferSlot(contactId: string, planId: string, now: number): Promise<void> {
    try {
      await this.#db.client.send(
        new UpdateItemCommand({
          TableName: this.#db.table,
          Key: this.#key(contactId, COUNTER_PLAN_ID),
          UpdateExpression: 'DELETE plans :p SET updatedAt = :now',
          ConditionExpression: 'attribute_exists(contactId)',
          ExpressionAttributeValues: marshall({ ':p': new Set([planId]), ':now': now }),
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return; // no counter yet: nothing to release
      throw new TransferStoreError('could not release a transfer slot', { cause: error });
    }
  }
}
