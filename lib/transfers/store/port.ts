/**
 * The transfers table's port: one item per planned TransferContact (key `contactId` + `planId`),
 * plus one counter item per contact. See dynamo-store.ts for the lifecycle, leases and counter.
 * Times are epoch milliseconds, except `expiresAt`, which is epoch seconds (DynamoDB TTL).
 */
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
  /**
   * Items per page.
   * @default 50
   */
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
