/**
 * The transfers table: one item per planned TransferContact (partition key `contactId`, sort key
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
 * Transfer counter. Connect refuses a 12th transfer of a contact (seed 004: "A contact cannot be
 * transferred more than 11 times"). The counter item holds the string set `plans` of plan ids that
 * took a transfer slot. `reserveTransferSlot` adds a plan id only while the set is smaller than the
 * limit (or already holds it), in one conditional write, so two sweeps transferring two different
 * plans of one contact at the same time cannot both take the 11th slot. Adding to a set is
 * idempotent: a retried plan never counts twice. No transactions are used (dynalite has none).
 *
 * Times are epoch milliseconds, except `expiresAt`, which is epoch seconds (DynamoDB TTL).
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

export const TRANSFER_STATUSES = ['PENDING', 'CLAIMED', 'DONE', 'FAILED', 'CANCELLED'] as const;
export type TransferStatus = (typeof TRANSFER_STATUSES)[number];

/** Sort key of the per-contact counter item (plan ids cannot contain `#`). */
export const COUNTER_PLAN_ID = '#count';
/** The GSI on status + due time (serverless.yml, TransfersTable). */
export const BY_STATUS_DUE_INDEX = 'byStatusDue';
/** How long finished items (and counters) stay in the table after their last change: 30 days. */
export const DEFAULT_TRANSFER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export interface TransferResult {
  ContactId: string;
  ContactArn: string;
}

/** One planned transfer, as stored. */
export interface TransferItem {
  contactId: string;
  planId: string;
  instanceId: string;
  status: TransferStatus;
  /** When the transfer is due (epoch ms). After a transient failure: the next attempt's time. */
  dueAt: number;
  /** Exactly one of queueId / userId (TransferContact: never both). */
  queueId?: string;
  userId?: string;
  contactFlowId: string;
  /** Failed attempts so far (incremented by `reschedule`). */
  attempts: number;
  leaseOwner?: string;
  /** Epoch ms. */
  leaseUntil?: number;
  result?: TransferResult;
  /** Why the item FAILED, or the last transient error of a rescheduled item. Never task contents. */
  reason?: string;
  createdAt: number;
  updatedAt: number;
  /** Epoch seconds (TTL). */
  expiresAt: number;
}

export type TransferKey = Pick<TransferItem, 'contactId' | 'planId'>;

export interface TransferPage {
  items: TransferItem[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  cursor?: string;
}

export interface TransferListFilter {
  status?: TransferStatus;
  contactId?: string;
  /** Items per page (default 50). */
  limit?: number;
  cursor?: string;
}

export type ScheduleOutcome = 'created' | 'exists';
export type CancelOutcome = 'cancelled' | 'not-found' | 'not-cancellable';

/** The port the sweep, the handler and the CLI depend on. */
export interface TransferStore {
  /** Writes a new plan item unless one with the same contactId + planId exists (a redelivery writes nothing). */
  schedule(item: TransferItem): Promise<ScheduleOutcome>;
  get(contactId: string, planId: string): Promise<TransferItem | undefined>;
  /** Ops listing: by contact, by status, both, or everything (paginated). Counter items are never listed. */
  list(filter?: TransferListFilter): Promise<TransferPage>;
  /** Items that may be claimed at `now`: PENDING and due, or CLAIMED with an expired lease. */
  queryDue(now: number, limit: number, cursor?: string): Promise<TransferPage>;
  /** Takes the lease if the item is still claimable at `now`; false if someone else has it or it changed. */
  claim(key: TransferKey, owner: string, leaseMs: number, now: number): Promise<boolean>;
  /** CLAIMED (by owner) → DONE with the result; also counts the plan in the contact's counter. */
  complete(key: TransferKey, owner: string, result: TransferResult, now: number): Promise<boolean>;
  /** CLAIMED (by owner) → FAILED with the reason. */
  fail(key: TransferKey, owner: string, reason: string, now: number): Promise<boolean>;
  /** CLAIMED (by owner) → PENDING, due at `dueAt`, attempts + 1, reason = the transient error. */
  reschedule(key: TransferKey, owner: string, dueAt: number, reason: string, now: number): Promise<boolean>;
  /** PENDING (or CLAIMED with an expired lease) → CANCELLED, releasing any transfer slot it held. */
  cancel(contactId: string, planId: string, now: number): Promise<CancelOutcome>;
  /** Transfers counted for the contact (done or in flight). */
  countTransfers(contactId: string): Promise<number>;
  /** Takes one of the contact's `max` transfer slots for the plan; false when all are taken by other plans. */
  reserveTransferSlot(contactId: string, planId: string, max: number, now: number): Promise<boolean>;
  /** Gives the plan's slot back (the transfer definitely did not happen). Idempotent. */
  releaseTransferSlot(contactId: string, planId: string, now: number): Promise<void>;
}

export class TransferStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransferStoreError';
  }
}

/** A stored record that is not a valid transfer item (written by hand, or by an older version). */
export class TransferRecordError extends TransferStoreError {
  constructor(message: string) {
    super(message);
    this.name = 'TransferRecordError';
  }
}

/** A cursor that this store did not produce. */
export class TransferCursorError extends TransferStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransferCursorError';
  }
}

export interface DynamoTransferStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long finished items and counters are kept after their last change (default 30 days). */
  retentionMs?: number;
}

type Key = Record<string, unknown>;
type Cursor = { phase: 'PENDING' | 'CLAIMED' | 'list'; key?: Key };

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (typeof error === 'object' &&
      error !== null &&
      (error as { name?: unknown }).name === 'ConditionalCheckFailedException')
  );
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

function decodeCursor(raw: string | undefined, allowed: Cursor['phase'][]): Cursor | undefined {
  if (raw === undefined || raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch (error) {
    throw new TransferCursorError('cursor is not one this store produced', { cause: error });
  }
  const c = parsed as Partial<Cursor> | null;
  if (
    c === null ||
    typeof c !== 'object' ||
    !allowed.includes(c.phase as Cursor['phase']) ||
    (c.key !== undefined && (typeof c.key !== 'object' || c.key === null))
  ) {
    throw new TransferCursorError('cursor is not one this store produced');
  }
  return c as Cursor;
}

function str(record: Record<string, unknown>, field: string): string {
  const value = record[field];
  if (typeof value !== 'string' || value === '') {
    throw new TransferRecordError(`transfer record field "${field}" must be a non-empty string`);
  }
  return value;
}

function num(record: Record<string, unknown>, field: string): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TransferRecordError(`transfer record field "${field}" must be a number`);
  }
  return value;
}

function optStr(record: Record<string, unknown>, field: string): string | undefined {
  return record[field] === undefined ? undefined : str(record, field);
}

function optNum(record: Record<string, unknown>, field: string): number | undefined {
  return record[field] === undefined ? undefined : num(record, field);
}

/** Turns a stored record into a `TransferItem`, refusing records that are not one. */
export function toTransferItem(record: Record<string, unknown>): TransferItem {
  const status = str(record, 'status');
  if (!(TRANSFER_STATUSES as readonly string[]).includes(status)) {
    throw new TransferRecordError(`transfer record has unknown status "${status}"`);
  }
  const item: TransferItem = {
    contactId: str(record, 'contactId'),
    planId: str(record, 'planId'),
    instanceId: str(record, 'instanceId'),
    status: status as TransferStatus,
    dueAt: num(record, 'dueAt'),
    contactFlowId: str(record, 'contactFlowId'),
    attempts: num(record, 'attempts'),
    createdAt: num(record, 'createdAt'),
    updatedAt: num(record, 'updatedAt'),
    expiresAt: num(record, 'expiresAt'),
  };
  const queueId = optStr(record, 'queueId');
  const userId = optStr(record, 'userId');
  const leaseOwner = optStr(record, 'leaseOwner');
  const leaseUntil = optNum(record, 'leaseUntil');
  const reason = optStr(record, 'reason');
  if (queueId !== undefined) item.queueId = queueId;
  if (userId !== undefined) item.userId = userId;
  if (leaseOwner !== undefined) item.leaseOwner = leaseOwner;
  if (leaseUntil !== undefined) item.leaseUntil = leaseUntil;
  if (reason !== undefined) item.reason = reason;
  const result = record.result as Record<string, unknown> | undefined;
  if (result !== undefined) {
    item.result = { ContactId: str(result, 'ContactId'), ContactArn: str(result, 'ContactArn') };
  }
  return item;
}

const isPlanRecord = (record: Record<string, unknown>) => record.planId !== COUNTER_PLAN_ID;

/**
 * The DynamoDB adapter of `TransferStore`.
 *
 * Input: a DynamoDB client (injected: traced in Lambda, pointed at dynalite in tests) and the table
 * name. Every state change is one conditional single-item write.
 */
export class DynamoTransferStore implements TransferStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #retentionMs: number;

  constructor(options: DynamoTransferStoreOptions) {
    if (!options?.client) throw new TypeError('DynamoTransferStore: client is required');
    if (typeof options.tableName !== 'string' || options.tableName === '') {
      throw new TypeError('DynamoTransferStore: tableName must be a non-empty string');
    }
    const retentionMs = options.retentionMs ?? DEFAULT_TRANSFER_RETENTION_MS;
    if (!(retentionMs > 0)) throw new TypeError('DynamoTransferStore: retentionMs must be > 0');
    this.#client = options.client;
    this.#table = options.tableName;
    this.#retentionMs = retentionMs;
  }

  #expiresAt(now: number): number {
    return Math.ceil((now + this.#retentionMs) / 1000);
  }

  #key(contactId: string, planId: string) {
    return marshall({ contactId, planId });
  }

  async schedule(item: TransferItem): Promise<ScheduleOutcome> {
    if (item.planId === COUNTER_PLAN_ID)
      throw new TransferStoreError(`planId "${COUNTER_PLAN_ID}" is reserved`);
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
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
    const out = await this.#client.send(
      new GetItemCommand({ TableName: this.#table, Key: this.#key(contactId, planId), ConsistentRead: true }),
    );
    return out.Item ? toTransferItem(unmarshall(out.Item)) : undefined;
  }

  async list(filter: TransferListFilter = {}): Promise<TransferPage> {
    const limit = filter.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError('list: limit must be a positive integer');
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
      TableName: this.#table,
      Limit: limit,
      ...(start ? { ExclusiveStartKey: marshall(start) } : {}),
      ...(filterExpression ? { FilterExpression: filterExpression } : {}),
      ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
    };
    const out =
      keyCondition === undefined
        ? await this.#client.send(new ScanCommand(common satisfies ScanCommandInput))
        : await this.#client.send(
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
    if (!Number.isInteger(limit) || limit < 1)
      throw new TypeError('queryDue: limit must be a positive integer');
    let state: Cursor = decodeCursor(cursor, ['PENDING', 'CLAIMED']) ?? { phase: 'PENDING' };
    const items: TransferItem[] = [];
    while (items.length < limit) {
      const claimedPhase = state.phase === 'CLAIMED';
      const out = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
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
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
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
    if (owner === '') throw new TypeError('claim: owner must be a non-empty string');
    if (!(leaseMs > 0)) throw new TypeError('claim: leaseMs must be > 0');
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
    const out = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
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
    return this.#client.send(
      new UpdateItemCommand({
        TableName: this.#table,
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
    if (!Number.isInteger(max) || max < 0)
      throw new TypeError('reserveTransferSlot: max must be an integer ≥ 0');
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
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
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
