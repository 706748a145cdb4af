/**
 * The ledger's port: which task (ContactId) each logical event created, keyed by the task's
 * ClientToken, and what the service knows of that task since.
 *
 * Ingest writes one entry after StartTaskContact succeeds. A later event that asks to transfer,
 * update or complete "the task created for event X of source S" finds it again with
 * `taskClientToken(instanceId, S, X's idempotency key)` (lib/idempotency/token.ts): the same token,
 * so the same entry, however many times either event was delivered.
 *
 * Beside the entries the table holds two kinds of small items, keyed so they never collide with a
 * token:
 * - **Chain counters** (`chainCounterKey`): an entry with `previousContactId` P, when it is newly
 *   created, adds one to P's counter, so a redelivery or a replay never counts twice. Ingest reads
 *   the counter when StartTaskContact answers 402 for a request with a PreviousContactId: a chain
 *   holding Connect's 12 linked tasks can never take another (lib/ingest/start-task.ts). The count
 *   is a lower bound (tasks created outside ingest, chains linked through another task, a counter
 *   update lost between the entry and the ADD are not counted).
 * - **The contact index** (`contactIndexKey`): with every entry, an item holding the entry's token,
 *   so the entry can be found by its task (`task-ingest tasks show <contactId>`). It is an
 *   unconditional put of the same value, so a redelivery or a crash between the two writes leaves it
 *   right.
 *
 * Times are epoch milliseconds, except `expiresAt`, epoch seconds (DynamoDB TTL).
 * Table (serverless.yml, LedgerTable): partition key `clientToken`, TTL `expiresAt`.
 */

/** How long an entry is kept: 30 days, the idempotency window (IDEMPOTENCY_EXPIRY_SECONDS). */
export const DEFAULT_LEDGER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** What ingest records for each task it created. */
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

/** Entries: written once per logical event, read by token. */
export interface LedgerStore {
  /**
   * Records the task of one logical event. Idempotent: when an entry with the token exists (a
   * redelivery, a replay), nothing is written and the first entry stands.
   */
  put(entry: LedgerEntry): Promise<LedgerPutOutcome>;
  get(clientToken: string): Promise<StoredLedgerEntry | undefined>;
}

/** The contact index: an entry found by its task. */
export interface ContactIndexLedger {
  /** The token of the entry of the task `contactId` of `instanceId`; undefined when none is indexed. */
  tokenOfContact(instanceId: string, contactId: string): Promise<string | undefined>;
}

/** PreviousContactId chain counters. */
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
  lease?: LifecycleLease;
  /** Version of the lifecycle fields; 0 before the first lifecycle event. */
  rev: number;
}

export interface LifecycleLease {
  eventId: string;
  eventAt?: number;
  until: number;
  holder?: string;
}

/** What a committed lifecycle event recorded. */
export type AppliedLifecycleEvent =
  | { kind: 'update'; eventAt: number }
  | { kind: 'complete'; completedAt: number };

/** The update and complete actions' view of an entry. */
export interface LifecycleLedger {
  /** The task's ledger entry and lifecycle; undefined when no create has recorded the task (yet). */
  lifecycle(clientToken: string): Promise<{ entry: StoredLedgerEntry; lifecycle: TaskLifecycle } | undefined>;
  /** Takes the lease for `eventId` if the lifecycle is still at `rev`; false when someone changed it. */
  claimLifecycle(
    clientToken: string,
    rev: number,
    lease: LifecycleLease & { holder: string },
  ): Promise<boolean>;
  /** Records the applied event and drops its lease; false when the lease is no longer this event's. */
  commitLifecycle(clientToken: string, eventId: string, applied: AppliedLifecycleEvent): Promise<boolean>;
  /** Drops this event's lease without recording anything (the call failed). */
  releaseLifecycle(clientToken: string, eventId: string): Promise<void>;
}

/** Every part of the ledger: what the DynamoDB adapter and the test double implement. */
export interface Ledger extends LedgerStore, ContactIndexLedger, ChainLedger, LifecycleLedger {}
