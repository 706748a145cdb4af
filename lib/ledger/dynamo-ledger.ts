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
import type { Effect } from '#lib/outcomes/effects.ts';
import type { NotifySpec } from '#lib/outcomes/outcome.ts';
import {
  chainCountOf,
  entryTokenOf,
  expiresAtSeconds,
  lifecycleOf,
  notifyOf,
  openPartition,
  toLedgerEntry,
  toLedgerItem,
} from './codec.ts';
import * as outbox from './dynamo-outbox.ts';
import { DynamoSlots } from './dynamo-slots.ts';
import { DynamoWaiters } from './dynamo-waiters.ts';
import { LedgerStoreError } from './errors.ts';
import {
  type AppliedLifecycleEvent,
  DEFAULT_LEDGER_RETENTION_MS,
  type Ledger,
  type LedgerEntry,
  type LedgerPutOutcome,
  type LifecycleLease,
  type NewEntryState,
  OUTBOX_GRACE_MS,
  type ProgressChange,
  type StoredLedgerEntry,
  type TaskLifecycle,
  type TaskProgress,
  type Waiter,
} from './port.ts';

/** How long entries are kept after their creation: `retentionMs` (default 30 days). */
export type DynamoLedgerOptions = DynamoTableOptions;

export class DynamoLedger implements Ledger {
  /** Client, table name and retention, checked once. */
  readonly #db: DynamoTable;
  readonly #waiters: DynamoWaiters;
  readonly #slots: DynamoSlots;

  constructor(options: DynamoLedgerOptions) {
    this.#db = dynamoTable(options, DEFAULT_LEDGER_RETENTION_MS);
    this.#waiters = new DynamoWaiters(this.#db);
    this.#slots = new DynamoSlots(this.#db);
  }

  async put(entry: LedgerEntry, state?: NewEntryState): Promise<LedgerPutOutcome> {
    const stored = toLedgerItem(entry, this.#db.retentionMs);
    let outcome: LedgerPutOutcome;
    try {
      await this.#db.client.send(
        new PutItemCommand({
          TableName: this.#db.table,
          Item: marshall(
            { ...stored, ...(state ? newEntryAttributes(entry, state) : {}) },
            {
              removeUndefinedValues: true,
            },
          ),
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
  ): Promise<{ entry: StoredLedgerEntry; lifecycle: TaskLifecycle; notify?: NotifySpec } | undefined> {
    const item = await this.#read(clientToken, 'the ledger entry');
    if (item === undefined) return undefined;
    const notify = notifyOf(item);
    return { entry: toLedgerEntry(item), lifecycle: lifecycleOf(item), ...(notify ? { notify } : {}) };
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

  commitLifecycle(
    clientToken: string,
    eventId: string,
    applied: AppliedLifecycleEvent,
    effects?: { effects: readonly Effect[]; now: number },
  ): Promise<boolean> {
    const set =
      applied.kind === 'update'
        ? ['lastEventAt = :t', 'lastEventId = :e']
        : ['completedAt = :t', 'completedEventId = :e'];
    const extra = outbox.lifecycleEffects(effects?.effects ?? [], effects?.now ?? 0);
    return this.#endLease(clientToken, eventId, 'record the lifecycle event', {
      ...extra,
      set: [...set, ...extra.set],
      values: { ...extra.values, ':t': applied.kind === 'update' ? applied.eventAt : applied.completedAt },
    });
  }

  async releaseLifecycle(clientToken: string, eventId: string): Promise<void> {
    await this.#endLease(clientToken, eventId, 'release the lifecycle lease', {
      set: [],
      add: [],
      names: {},
      values: {},
    });
  }

  /** Ends `eventId`'s lease (bumping the revision, with `extra` applied); false when it does not hold it. */
  async #endLease(
    clientToken: string,
    eventId: string,
    what: string,
    extra: { set: string[]; add: string[]; names: Record<string, string>; values: Record<string, unknown> },
  ): Promise<boolean> {
    const set = [...extra.set, 'lcRev = lcRev + :one'].join(', ');
    const add = extra.add.length ? ` ADD ${extra.add.join(', ')}` : '';
    try {
      await this.#db.client.send(
        new UpdateItemCommand({
          TableName: this.#db.table,
          Key: marshall({ clientToken }),
          ConditionExpression: 'leaseEventId = :e',
          UpdateExpression: `SET ${set} REMOVE leaseEventId, leaseEventAt, leaseUntil, leaseHolder${add}`,
          ...(Object.keys(extra.names).length ? { ExpressionAttributeNames: extra.names } : {}),
          ExpressionAttributeValues: marshall({ ':e': eventId, ':one': 1, ...extra.values }),
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

  // ─── Contact progress, the pending index and the outbox (dynamo-outbox.ts) ──────────────────────

  progress(clientToken: string): Promise<TaskProgress | undefined> {
    return outbox.readProgress(this.#db, clientToken);
  }

  saveProgress(clientToken: string, rev: number, change: ProgressChange): Promise<boolean> {
    return outbox.saveProgress(this.#db, clientToken, rev, change);
  }

  deferCheck(clientToken: string, checkAt: number): Promise<void> {
    return outbox.deferCheck(this.#db, clientToken, checkAt);
  }

  dropCheck(clientToken: string): Promise<void> {
    return outbox.dropCheck(this.#db, clientToken);
  }

  openTasks(instanceId: string, limit?: number): Promise<number> {
    return outbox.openTasks(this.#db, instanceId, limit);
  }

  duePending(partition: string, dueBy: number, limit: number): Promise<string[]> {
    return outbox.duePending(this.#db, partition, dueBy, limit);
  }

  pendingEffects(key: string): Promise<Effect[]> {
    return outbox.pendingEffects(this.#db, key);
  }

  putEffects(key: string, effects: readonly Effect[], now: number): Promise<boolean> {
    return outbox.putEffects(this.#db, key, effects, now);
  }

  ackEffect(key: string, effect: Effect, now: number): Promise<void> {
    return outbox.ackEffect(this.#db, key, effect, now);
  }

  settle(key: string): Promise<void> {
    return outbox.settle(this.#db, key);
  }

  // ─── OVER_QUOTA waiters (dynamo-waiters.ts) ─────────────────────────────────────────────────────

  putWaiter(waiter: Omit<Waiter, 'since' | 'claimUntil'> & { firstParkedAt: number }): Promise<void> {
    return this.#waiters.putWaiter(waiter);
  }

  getWaiter(clientToken: string): Promise<Waiter | undefined> {
    return this.#waiters.getWaiter(clientToken);
  }

  oldestWaiters(instanceId: string, limit: number, now: number): Promise<Waiter[]> {
    return this.#waiters.oldestWaiters(instanceId, limit, now);
  }

  claimWaiter(clientToken: string, until: number, now: number): Promise<boolean> {
    return this.#waiters.claimWaiter(clientToken, until, now);
  }

  removeWaiter(clientToken: string, parkedAt?: number): Promise<void> {
    return this.#waiters.removeWaiter(clientToken, parkedAt);
  }

  // ─── Active-task slot counts (dynamo-slots.ts) ──────────────────────────────────────────────────

  takeSlot(instanceId: string, quota: number, force: boolean): Promise<{ taken: boolean; used: number }> {
    return this.#slots.takeSlot(instanceId, quota, force);
  }

  freeSlot(instanceId: string): Promise<void> {
    return this.#slots.freeSlot(instanceId);
  }

  setSlots(instanceId: string, used: number): Promise<void> {
    return this.#slots.setSlots(instanceId, used);
  }
}

/** The attributes a new entry starts with: its outcome wishes, effects and place among the open tasks. */
function newEntryAttributes(entry: LedgerEntry, state: NewEntryState): Record<string, unknown> {
  const effects = state.effects ?? [];
  return {
    ...(state.notify === undefined ? {} : { notify: state.notify }),
    ...outbox.effectAttributes(effects),
    pendPk: openPartition(entry.instanceId),
    checkAt: state.checkAt,
    pendAt: effects.length > 0 ? state.now + OUTBOX_GRACE_MS : state.checkAt,
  };
}
