/**
 * The ledger: which task (ContactId) each logical event created, keyed by the task's ClientToken.
 *
 * The ingest handler writes one entry after StartTaskContact succeeds. A later event that asks to
 * transfer "the task created for event X of source S" finds it again with
 * `taskClientToken(instanceId, S, X's idempotency key)` (lib/idempotency/token.ts) — the same
 * token, so the same entry, however many times either event was delivered.
 *
 * The ledger also counts PreviousContactId chains: an entry with `previousContactId` P, when it is
 * newly created, adds one to the counter item keyed `chainCounterKey(instanceId, P)` (`chain#...`), so a
 * redelivery or a replay never counts twice. Ingest reads the counter when StartTaskContact answers 402
 * for a request with a PreviousContactId: a chain holding Connect's 12 linked tasks can never take
 * another, so that 402 is no quota to wait for (lib/ingest/start-task.ts). The count is a lower bound:
 * tasks created outside ingest, chains linked through another task (Connect counts from the chain's
 * root), a counter update lost between the entry and the ADD, or an expired counter are not counted, and
 * an unknown chain's 402 is treated as the active-task quota, as before.
 *
 * Finding an entry by its task: with every entry the ledger writes a small index item keyed
 * `contactIndexKey(instanceId, contactId)` (`contact#...`) holding the entry's token (`task-ingest tasks
 * show <contactId>`). It is an unconditional put of the same value, so a redelivery, a replay or a crash
 * between the two writes leaves it right; entries written before it existed have none.
 *
 * Table (serverless.yml, LedgerTable): partition key `clientToken`, TTL `expiresAt` (epoch seconds).
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { chainCounterKey, contactIndexKey } from '#lib/idempotency/token.ts';
import {
  type DynamoTable,
  type DynamoTableOptions,
  dynamoTable,
  isConditionFailure,
} from './dynamo-table.ts';

/** How long an entry is kept: 30 days, the idempotency window (IDEMPOTENCY_EXPIRY_SECONDS). */
export const DEFAULT_LEDGER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export interface LedgerEntry {
  /** `taskClientToken(instanceId, source, idempotencyKey)`. */
  clientToken: string;
  /** The task's ContactId (StartTaskContact response). */
  contactId: string;
  instanceId: string;
  source: string;
  /** The envelope id of the event that created the task. */
  eventId: string;
  idempotencyKey: string;
  ruleId: string;
  /** Epoch ms. */
  createdAt: number;
  /**
   * The PreviousContactId the task was created with. Absent when it has none, or when the chain was
   * full and the task was linked by RelatedContactId instead (it is then no member of the chain).
   */
  previousContactId?: string;
}

export interface StoredLedgerEntry extends LedgerEntry {
  /** Epoch seconds (TTL). */
  expiresAt: number;
}

export type LedgerPutOutcome = 'created' | 'exists';

export interface LedgerStore {
  /**
   * Records the task of one logical event. Idempotent: when an entry with the token exists (a
   * redelivery, a replay), nothing is written and the first entry stands.
   */
  put(entry: LedgerEntry): Promise<LedgerPutOutcome>;
  get(clientToken: string): Promise<StoredLedgerEntry | undefined>;
}

/** The ledger's contact index (see the module comment). */
export interface ContactIndexLedger {
  /** The token of the entry of the task `contactId` of `instanceId`; undefined when none is indexed. */
  tokenOfContact(instanceId: string, contactId: string): Promise<string | undefined>;
}

/** The ledger's PreviousContactId chain counters (see the module comment). */
export interface ChainLedger {
  /**
   * Adds one task to the chain of `previousContactId`. Not idempotent: call it once per task, when
   * the task's own ledger entry was just created (`put` answered 'created').
   */
  countChainTask(instanceId: string, previousContactId: string, createdAt: number): Promise<void>;
  /** How many tasks the ledger counts in the chain; undefined when it knows no task of it. */
  chainTasks(instanceId: string, previousContactId: string): Promise<number | undefined>;
}

/**
 * The lifecycle of a task, kept on its ledger entry by `update` and `complete` events
 * (lib/ingest/lifecycle.ts): the last applied update's event time and id, the completion, and a short
 * lease held by the event being applied now. Every change is a conditional write on `rev`, so two
 * events of one task never apply at once and an older one never overwrites a newer one.
 */
export interface TaskLifecycle {
  /** Epoch ms of the newest applied update event (its envelope `time`). */
  lastEventAt?: number;
  lastEventId?: string;
  /** Epoch ms (service clock) when the complete was applied; final. */
  completedAt?: number;
  completedEventId?: string;
  /**
   * The event being applied (or whose holder died): its id, its time (updates), the lease's end and
   * the holder (the SQS message id of the delivery that took it: its own retry may take it back).
   */
  lease?: { eventId: string; eventAt?: number; until: number; holder?: string };
  /** Version of the lifecycle fields; 0 before the first lifecycle event. */
  rev: number;
}

export interface LifecycleLedger {
  /** The task's ledger entry and lifecycle; undefined when no create has recorded the task (yet). */
  lifecycle(clientToken: string): Promise<{ entry: StoredLedgerEntry; lifecycle: TaskLifecycle } | undefined>;
  /** Takes the lease for `eventId` if the lifecycle is still at `rev`; false when someone changed it. */
  claimLifecycle(
    clientToken: string,
    rev: number,
    lease: { eventId: string; eventAt?: number; until: number; holder: string },
  ): Promise<boolean>;
  /** Records the applied event and drops its lease; false when the lease is no longer this event's. */
  commitLifecycle(
    clientToken: string,
    eventId: string,
    applied: { kind: 'update'; eventAt: number } | { kind: 'complete'; completedAt: number },
  ): Promise<boolean>;
  /** Drops this event's lease without recording anything (the call failed). */
  releaseLifecycle(clientToken: string, eventId: string): Promise<void>;
}

export class LedgerStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerStoreError';
  }
}

const REQUIRED_STRINGS = [
  'clientToken',
  'contactId',
  'instanceId',
  'source',
  'eventId',
  'idempotencyKey',
  'ruleId',
] as const;

function checkEntry(entry: LedgerEntry): void {
  for (const field of REQUIRED_STRINGS) {
    if (typeof entry[field] !== 'string' || entry[field] === '') {
      throw new TypeError(`ledger entry: ${field} must be a non-empty string`);
    }
  }
  if (!Number.isFinite(entry.createdAt))
    throw new TypeError('ledger entry: createdAt must be epoch milliseconds');
  if (
    entry.previousContactId !== undefined &&
    (typeof entry.previousContactId !== 'string' || entry.previousContactId === '')
  ) {
    throw new TypeError('ledger entry: previousContactId must be a non-empty string when set');
  }
}

function toEntry(record: Record<string, unknown>): StoredLedgerEntry {
  for (const field of REQUIRED_STRINGS) {
    if (typeof record[field] !== 'string') {
      throw new LedgerStoreError(`ledger record field "${field}" is not a string`);
    }
  }
  if (typeof record.createdAt !== 'number' || typeof record.expiresAt !== 'number') {
    throw new LedgerStoreError('ledger record createdAt/expiresAt are not numbers');
  }
  if (record.previousContactId !== undefined && typeof record.previousContactId !== 'string') {
    throw new LedgerStoreError('ledger record field "previousContactId" is not a string');
  }
  return {
    clientToken: record.clientToken as string,
    contactId: record.contactId as string,
    instanceId: record.instanceId as string,
    source: record.source as string,
    eventId: record.eventId as string,
    idempotencyKey: record.idempotencyKey as string,
    ruleId: record.ruleId as string,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    ...(record.previousContactId === undefined ? {} : { previousContactId: record.previousContactId }),
  };
}

export type DynamoLedgerStoreOptions = DynamoTableOptions;

/**
 * The DynamoDB adapter of `LedgerStore` (one conditional put, one consistent get) and of `ChainLedger`
 * (an UpdateItem ADD on the chain's counter item, a consistent get of it).
 */

function lifecycleOf(record: Record<string, unknown>): TaskLifecycle {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const out: TaskLifecycle = { rev: num(record.lcRev) ?? 0 };
  const lastEventAt = num(record.lastEventAt);
  if (lastEventAt !== undefined) out.lastEventAt = lastEventAt;
  const lastEventId = str(record.lastEventId);
  if (lastEventId !== undefined) out.lastEventId = lastEventId;
  const completedAt = num(record.completedAt);
  if (completedAt !== undefined) out.completedAt = completedAt;
  const completedEventId = str(record.completedEventId);
  if (completedEventId !== undefined) out.completedEventId = completedEventId;
  const leaseEventId = str(record.leaseEventId);
  const leaseUntil = num(record.leaseUntil);
  if (leaseEventId !== undefined && leaseUntil !== undefined) {
    const leaseEventAt = num(record.leaseEventAt);
    const holder = str(record.leaseHolder);
    out.lease = {
      eventId: leaseEventId,
      until: leaseUntil,
      ...(leaseEventAt === undefined ? {} : { eventAt: leaseEventAt }),
      ...(holder === undefined ? {} : { holder }),
    };
  }
  return out;
}

export class DynamoLedgerStore implements LedgerStore, ChainLedger, LifecycleLedger, ContactIndexLedger {
  /** Client, table name and retention, checked once. */
  readonly #db: DynamoTable;

  constructor(options: DynamoLedgerStoreOptions) {
    this.#db = dynamoTable('DynamoLedgerStore', options, DEFAULT_LEDGER_RETENTION_MS);
  }

  async put(entry: LedgerEntry): Promise<LedgerPutOutcome> {
    checkEntry(entry);
    const stored: StoredLedgerEntry = {
      clientToken: entry.clientToken,
      contactId: entry.contactId,
      instanceId: entry.instanceId,
      source: entry.source,
      eventId: entry.eventId,
      idempotencyKey: entry.idempotencyKey,
      ruleId: entry.ruleId,
      createdAt: entry.createdAt,
      expiresAt: Math.ceil((entry.createdAt + this.#db.retentionMs) / 1000),
      ...(entry.previousContactId === undefined ? {} : { previousContactId: entry.previousContactId }),
    };
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
      if (isConditionFailure(error)) {
        outcome = 'exists';
      } else {
        throw new LedgerStoreError('could not write the ledger entry', { cause: error });
      }
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

  async tokenOfContact(instanceId: string, contactId: string): Promise<string | undefined> {
    const item = await this.#read(contactIndexKey(instanceId, contactId), 'the contact index of the ledger');
    if (item === undefined) return undefined;
    if (typeof item.entryToken !== 'string' || item.entryToken === '') {
      throw new LedgerStoreError('contact index field "entryToken" is not a string');
    }
    return item.entryToken;
  }

  /** A strongly consistent read of one item by key; a failed call is a LedgerStoreError naming `what`. */
  async #read(
    clientToken: string,
    what: string,
    projection?: string,
  ): Promise<Record<string, unknown> | undefined> {
    try {
      const out = await this.#db.client.send(
        new GetItemCommand({
          TableName: this.#db.table,
          Key: marshall({ clientToken }),
          ConsistentRead: true,
          ...(projection === undefined ? {} : { ProjectionExpression: projection }),
        }),
      );
      return out.Item ? unmarshall(out.Item) : undefined;
    } catch (error) {
      throw new LedgerStoreError(`could not read ${what}`, { cause: error });
    }
  }

  async get(clientToken: string): Promise<StoredLedgerEntry | undefined> {
    const item = await this.#read(clientToken, 'the ledger entry');
    return item ? toEntry(item) : undefined;
  }

  async lifecycle(
    clientToken: string,
  ): Promise<{ entry: StoredLedgerEntry; lifecycle: TaskLifecycle } | undefined> {
    const item = await this.#read(clientToken, 'the ledger entry');
    if (item === undefined) return undefined;
    return { entry: toEntry(item), lifecycle: lifecycleOf(item) };
  }

  async claimLifecycle(
    clientToken: string,
    rev: number,
    lease: { eventId: string; eventAt?: number; until: number; holder: string },
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
    applied: { kind: 'update'; eventAt: number } | { kind: 'complete'; completedAt: number },
  ): Promise<boolean> {
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
    const key = chainCounterKey(instanceId, previousContactId);
    if (!Number.isFinite(createdAt))
      throw new TypeError('chain counter: createdAt must be epoch milliseconds');
    try {
      await this.#db.client.send(
        new UpdateItemCommand({
          TableName: this.#db.table,
          Key: marshall({ clientToken: key }),
          // The counter lives as long as the newest entry it counts.
          UpdateExpression:
            'ADD tasks :one SET instanceId = :instanceId, previousContactId = :previous, expiresAt = :expiresAt',
          ExpressionAttributeValues: marshall({
            ':one': 1,
            ':instanceId': instanceId,
            ':previous': previousContactId,
            ':expiresAt': Math.ceil((createdAt + this.#db.retentionMs) / 1000),
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
    if (item?.tasks === undefined) return undefined;
    if (typeof item.tasks !== 'number' || !Number.isFinite(item.tasks)) {
      throw new LedgerStoreError('chain counter field "tasks" is not a number');
    }
    return item.tasks;
  }
}
