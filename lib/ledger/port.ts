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

import type { ContactFacts } from '#lib/contact-events/progress.ts';
import type { Lane } from '#lib/lanes.ts';
import type { Effect } from '#lib/outcomes/effects.ts';
import type { NotifySpec } from '#lib/outcomes/outcome.ts';
import type { OutgoingMessage } from '#lib/retry/dlq-message.ts';

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

/** What a new entry starts with besides the entry itself. */
export interface NewEntryState {
  /** The outcomes its rule asked for (kept for the outcomes of later events). */
  notify?: NotifySpec;
  /** Effects of the creation (the task.created outcome), written with the entry. */
  effects?: readonly Effect[];
  /** When the reconcile sweep should first look at the task if no terminal event has come. */
  checkAt: number;
  /** Epoch ms, the service clock: effects not acknowledged by `now + OUTBOX_GRACE_MS` are the sweep's. */
  now: number;
}

/** Entries: written once per logical event, read by token. */
export interface LedgerStore {
  /**
   * Records the task of one logical event, open, with what `state` says. Idempotent: when an entry
   * with the token exists (a redelivery, a replay), nothing is written and the first entry stands (its
   * effects were written with it).
   */
  put(entry: LedgerEntry, state?: NewEntryState): Promise<LedgerPutOutcome>;
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
  /** The task's ledger entry, lifecycle and outcome wishes; undefined when no create has recorded the task (yet). */
  lifecycle(
    clientToken: string,
  ): Promise<{ entry: StoredLedgerEntry; lifecycle: TaskLifecycle; notify?: NotifySpec } | undefined>;
  /** Takes the lease for `eventId` if the lifecycle is still at `rev`; false when someone changed it. */
  claimLifecycle(
    clientToken: string,
    rev: number,
    lease: LifecycleLease & { holder: string },
  ): Promise<boolean>;
  /**
   * Records the applied event and drops its lease, with the effects it causes (the task.updated
   * outcome) in the same write; false when the lease is no longer this event's.
   */
  commitLifecycle(
    clientToken: string,
    eventId: string,
    applied: AppliedLifecycleEvent,
    outbox?: { effects: readonly Effect[]; now: number },
  ): Promise<boolean>;
  /** Drops this event's lease without recording anything (the call failed). */
  releaseLifecycle(clientToken: string, eventId: string): Promise<void>;
}

/**
 * How long the writer of an effect has to perform and acknowledge it before the contact events sweep
 * takes it as left by a crashed writer: longer than any function's timeout.
 */
export const OUTBOX_GRACE_MS = 120_000;

/** A task's contact progress as its entry keeps it. */
export interface TaskProgress {
  entry: StoredLedgerEntry;
  facts: ContactFacts;
  /** Version of `facts`; 0 before the first fact. */
  rev: number;
  notify?: NotifySpec;
  /** Epoch ms: when the task was seen completed; absent while it is open. */
  closedAt?: number;
  /** Epoch ms: the next reconcile check while open. */
  checkAt?: number;
  /** Effects recorded on the entry and not yet acknowledged. */
  pending: number;
  /** The outcomes published so far (acknowledged publish effects), oldest first. */
  sent: SentOutcome[];
}

export interface SentOutcome {
  id: string;
  type: string;
  /** Epoch ms when it was acknowledged. */
  at: number;
}

/** A change of a task's progress, written in one conditional write with its effects. */
export interface ProgressChange {
  /** The task's instance (an entry written before the pending index joins its open tasks). */
  instanceId: string;
  facts: ContactFacts;
  effects: readonly Effect[];
  /** The task ended at this time: it leaves the open tasks. */
  closedAt?: number;
  /**
   * The next reconcile check: of an open task; or, with `closedAt`, the one DescribeContact reading of
   * a task whose end only our own StopContact told (it stays in the pending index until then).
   */
  checkAt?: number;
  /** Epoch ms, the service clock. */
  now: number;
}

/** Contact events folded into entries (lib/contact-events/). */
export interface ProgressLedger {
  progress(clientToken: string): Promise<TaskProgress | undefined>;
  /** Writes the change if the progress is still at `rev`; false when someone changed it first. */
  saveProgress(clientToken: string, rev: number, change: ProgressChange): Promise<boolean>;
  /** Moves an open task's next reconcile check. */
  deferCheck(clientToken: string, checkAt: number): Promise<void>;
  /** Drops an ended task's reconcile check (its one reading was taken); `settle` then lets it leave the index. */
  dropCheck(clientToken: string): Promise<void>;
}

/** Open tasks and what else needs attention, through the pending index (`byPending`). */
export interface PendingLedger {
  /** The open tasks ingest created in `instanceId` (entries not yet seen completed), counted up to `limit`. */
  openTasks(instanceId: string, limit?: number): Promise<number>;
  /**
   * Keys of the items of `partition` due by `dueBy`, soonest first: `open#<instanceId>` (open tasks:
   * their reconcile check, or effects left by a writer) or `outbox` (ended tasks and rejections with
   * effects left).
   */
  duePending(partition: string, dueBy: number, limit: number): Promise<string[]>;
}

/** The outbox: effects recorded with the write that caused them, acknowledged once performed. */
export interface OutboxLedger {
  /** The effects an item holds that are not acknowledged yet. */
  pendingEffects(key: string): Promise<Effect[]>;
  /**
   * Records effects of an event that has no entry (a rejection) under `key`, an item of their own. The
   * first put wins: while the item is kept (pending, or published and kept until it expires) a later
   * put under the same key writes nothing. True when this put wrote the item.
   */
  putEffects(key: string, effects: readonly Effect[], now: number): Promise<boolean>;
  /** Marks one effect done (a published outcome is listed on the entry as sent). Idempotent. */
  ackEffect(key: string, effect: Effect, now: number): Promise<void>;
  /**
   * Once nothing is pending on `key`: an open task goes back to waiting for its reconcile check, an
   * ended task waits for its reading if it has a check (`ProgressChange.checkAt`), else leaves the index, a rejection's item leaves the index and is kept until it expires (so
   * that a later park of the same event cannot record a second, different rejection).
   */
  settle(key: string): Promise<void>;
}

/** An OVER_QUOTA event waiting for a slot of its instance (at most one per task ClientToken). */
export interface Waiter {
  /** The ClientToken of the task it would create. */
  clientToken: string;
  instanceId: string;
  /** The DLQ message as parked (body and attributes, failure record included). */
  message: OutgoingMessage;
  lane: Lane;
  /** Epoch ms of its first park: the order of release. */
  since: number;
  /** Epoch ms of its latest park. */
  parkedAt: number;
  /** Epoch ms until which a release holds it. */
  claimUntil?: number;
}

/** The OVER_QUOTA waiters, per instance, oldest first. */
export interface WaiterLedger {
  /** Records (or refreshes) the waiter of a task; its place in line stays that of its first park. */
  putWaiter(waiter: Omit<Waiter, 'since' | 'claimUntil'> & { firstParkedAt: number }): Promise<void>;
  getWaiter(clientToken: string): Promise<Waiter | undefined>;
  /** The oldest waiters of an instance that no live release holds, at most `limit`. */
  oldestWaiters(instanceId: string, limit: number, now: number): Promise<Waiter[]>;
  /** Holds a waiter for a release until `until`; false when another release holds it or it is gone. */
  claimWaiter(clientToken: string, until: number, now: number): Promise<boolean>;
  /** Removes the waiter; with `parkedAt`, only if it was not parked again since (a newer park stays). */
  removeWaiter(clientToken: string, parkedAt?: number): Promise<void>;
}

/**
 * The service's count of each instance's active-task slots in use (lib/capacity/gate.ts): taken
 * before StartTaskContact, given back when no task came of it or when the task ends, and set from the
 * open tasks by the contact events sweep (so a lost update heals within a minute).
 */
export interface SlotLedger {
  /** Takes a slot if fewer than `quota` are in use, or anyway when `force`; the count after the attempt. */
  takeSlot(instanceId: string, quota: number, force: boolean): Promise<{ taken: boolean; used: number }>;
  /** Gives a slot back (never below zero). */
  freeSlot(instanceId: string): Promise<void>;
  /** Sets the count. */
  setSlots(instanceId: string, used: number): Promise<void>;
}

/** Every part of the ledger: what the DynamoDB adapter and the test double implement. */
export interface Ledger
  extends LedgerStore,
    ContactIndexLedger,
    ChainLedger,
    LifecycleLedger,
    ProgressLedger,
    PendingLedger,
    OutboxLedger,
    WaiterLedger,
    SlotLedger {}
