/**
 * The test double of `TransferStore`: in memory, with the same conditions as the DynamoDB adapter
 * (lib/transfers/store/dynamo-store.ts); test/support/transfer-store-contract.ts runs the same cases
 * against both so they cannot drift. Items are copied in and out, so callers never share state.
 */

import { TransferCursorError, TransferStoreError } from '#lib/transfers/errors.ts';
import * as port from '#lib/transfers/store/port.ts';

type TransferItem = port.TransferItem;

const keyOf = (contactId: string, planId: string) => JSON.stringify([contactId, planId]);
const copy = (item: TransferItem): TransferItem => structuredClone(item);

/** An item's place in the due order: phase (0 PENDING, 1 CLAIMED), due time, key. */
type DuePosition = [number, number, string];

function compareDue(a: DuePosition, b: DuePosition): number {
  return a[0] - b[0] || a[1] - b[1] || a[2].localeCompare(b[2]);
}

function parseDueCursor(cursor: string): DuePosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch (error) {
    throw new TransferCursorError('cursor is not one this store produced', { cause: error });
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'number' ||
    typeof parsed[1] !== 'number' ||
    typeof parsed[2] !== 'string'
  ) {
    throw new TransferCursorError('cursor is not one this store produced');
  }
  return parsed as DuePosition;
}

export class InMemoryTransferStore implements port.TransferStore {
  readonly #items = new Map<string, TransferItem>();
  readonly #counters = new Map<string, Set<string>>();
  readonly #retentionMs: number;

  constructor(options: { retentionMs?: number } = {}) {
    this.#retentionMs = options.retentionMs ?? port.DEFAULT_TRANSFER_RETENTION_MS;
  }

  #expiresAt(now: number): number {
    return Math.ceil((now + this.#retentionMs) / 1000);
  }

  /** Every plan item, sorted by contactId then planId (tests inspect the table with it). */
  snapshot(): TransferItem[] {
    return [...this.#items.values()]
      .map(copy)
      .sort((a, b) => a.contactId.localeCompare(b.contactId) || a.planId.localeCompare(b.planId));
  }

  async schedule(item: TransferItem): Promise<port.ScheduleOutcome> {
    if (item.planId === port.COUNTER_PLAN_ID)
      throw new TransferStoreError(`planId "${port.COUNTER_PLAN_ID}" is reserved`);
    const key = keyOf(item.contactId, item.planId);
    if (this.#items.has(key)) return 'exists';
    this.#items.set(key, copy(item));
    return 'created';
  }

  async get(contactId: string, planId: string): Promise<TransferItem | undefined> {
    const item = this.#items.get(keyOf(contactId, planId));
    return item ? copy(item) : undefined;
  }

  async list(filter: port.TransferListFilter = {}): Promise<port.TransferPage> {
    const limit = filter.limit ?? 50;
    const start = filter.cursor === undefined ? 0 : Number(filter.cursor);
    if (!Number.isInteger(start) || start < 0)
      throw new TransferCursorError('cursor is not one this store produced');
    const matching = this.snapshot().filter(
      (item) =>
        (filter.contactId === undefined || item.contactId === filter.contactId) &&
        (filter.status === undefined || item.status === filter.status),
    );
    const items = matching.slice(start, start + limit);
    return start + limit < matching.length ? { items, cursor: String(start + limit) } : { items };
  }

  async queryDue(now: number, limit: number, cursor?: string): Promise<port.TransferPage> {
    // As the adapter reads the status index: due PENDING items first, then CLAIMED ones whose lease
    // expired, each by due time. The cursor is the position of the last item returned (as
    // ExclusiveStartKey is), so the next page starts after it even if that item changed meanwhile.
    const positionOf = (item: TransferItem): DuePosition => [
      item.status === 'PENDING' ? 0 : 1,
      item.dueAt,
      keyOf(item.contactId, item.planId),
    ];
    const start = cursor === undefined ? undefined : parseDueCursor(cursor);
    const due = [...this.#items.values()]
      .filter(
        (item) =>
          item.dueAt <= now &&
          (item.status === 'PENDING' || (item.status === 'CLAIMED' && (item.leaseUntil ?? 0) <= now)) &&
          (start === undefined || compareDue(positionOf(item), start) > 0),
      )
      .sort((a, b) => compareDue(positionOf(a), positionOf(b)));
    const page = due.slice(0, limit);
    const last = page.at(-1);
    return limit < due.length && last
      ? { items: page.map(copy), cursor: JSON.stringify(positionOf(last)) }
      : { items: page.map(copy) };
  }

  #update(
    key: port.TransferKey,
    condition: (item: TransferItem) => boolean,
    change: (item: TransferItem) => void,
  ) {
    const item = this.#items.get(keyOf(key.contactId, key.planId));
    if (!item || !condition(item)) return false;
    change(item);
    return true;
  }

  async claim(key: port.TransferKey, owner: string, leaseMs: number, now: number): Promise<boolean> {
    return this.#update(
      key,
      (i) =>
        (i.status === 'PENDING' && i.dueAt <= now) || (i.status === 'CLAIMED' && (i.leaseUntil ?? 0) <= now),
      (i) => {
        i.status = 'CLAIMED';
        i.leaseOwner = owner;
        i.leaseUntil = now + leaseMs;
        i.updatedAt = now;
      },
    );
  }

  #ownedBy(owner: string) {
    return (i: TransferItem) => i.status === 'CLAIMED' && i.leaseOwner === owner;
  }

  #finish(i: TransferItem, now: number) {
    delete i.leaseOwner;
    delete i.leaseUntil;
    i.updatedAt = now;
    i.expiresAt = this.#expiresAt(now);
  }

  async complete(
    key: port.TransferKey,
    owner: string,
    result: port.TransferResult,
    now: number,
  ): Promise<boolean> {
    this.#counter(key.contactId).add(key.planId);
    return this.#update(key, this.#ownedBy(owner), (i) => {
      i.status = 'DONE';
      i.result = { ContactId: result.ContactId, ContactArn: result.ContactArn };
      delete i.reason;
      this.#finish(i, now);
    });
  }

  async fail(key: port.TransferKey, owner: string, reason: string, now: number): Promise<boolean> {
    return this.#update(key, this.#ownedBy(owner), (i) => {
      i.status = 'FAILED';
      i.reason = reason;
      this.#finish(i, now);
    });
  }

  async reschedule(
    key: port.TransferKey,
    owner: string,
    dueAt: number,
    reason: string,
    now: number,
  ): Promise<boolean> {
    return this.#update(key, this.#ownedBy(owner), (i) => {
      i.status = 'PENDING';
      i.dueAt = dueAt;
      i.reason = reason;
      i.attempts += 1;
      this.#finish(i, Math.max(now, dueAt));
      i.updatedAt = now;
    });
  }

  async cancel(contactId: string, planId: string, now: number): Promise<port.CancelOutcome> {
    const key = { contactId, planId };
    const cancelled = this.#update(
      key,
      (i) => i.status === 'PENDING' || (i.status === 'CLAIMED' && (i.leaseUntil ?? 0) <= now),
      (i) => {
        i.status = 'CANCELLED';
        this.#finish(i, now);
      },
    );
    if (cancelled) {
      await this.releaseTransferSlot(contactId, planId, now);
      return 'cancelled';
    }
    return this.#items.has(keyOf(contactId, planId)) ? 'not-cancellable' : 'not-found';
  }

  #counter(contactId: string): Set<string> {
    let plans = this.#counters.get(contactId);
    if (!plans) {
      plans = new Set();
      this.#counters.set(contactId, plans);
    }
    return plans;
  }

  async countTransfers(contactId: string): Promise<number> {
    return this.#counters.get(contactId)?.size ?? 0;
  }

  async reserveTransferSlot(contactId: string, planId: string, max: number, _now: number): Promise<boolean> {
    const plans = this.#counter(contactId);
    if (!plans.has(planId) && plans.size >= max) return false;
    plans.add(planId);
    return true;
  }

  async releaseTransferSlot(contactId: string, planId: string, _now: number): Promise<void> {
    this.#counters.get(contactId)?.delete(planId);
  }
}
