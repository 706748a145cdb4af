/**
 * The test double of the ledger: in memory, with the same conditions as the DynamoDB adapter
 * (lib/ledger/dynamo-ledger.ts); test/support/ledger-contract.ts runs the same cases against both so
 * they cannot drift. Values are copied in and out, so callers never share state. `calls` counts the
 * writes per method, for tests that assert how often something was written.
 */
import type { ContactFacts } from '#lib/contact-events/progress.ts';
import { chainCounterKey, contactIndexKey, OUTCOME_KEY_PREFIX, waiterKey } from '#lib/idempotency/token.ts';
import { OUTBOX_PARTITION, openPartition, toLedgerItem, waitPartition } from '#lib/ledger/codec.ts';
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
  type SentOutcome,
  type StoredLedgerEntry,
  type TaskLifecycle,
  type TaskProgress,
  type Waiter,
} from '#lib/ledger/port.ts';
import type { Effect } from '#lib/outcomes/effects.ts';
import type { NotifySpec } from '#lib/outcomes/outcome.ts';

/** What the pending index sees of an item. */
interface Pending {
  pendPk?: string;
  pendAt?: number;
}

/** The outbox of an item: its unacknowledged effects. */
interface Outboxed extends Pending {
  effects: Map<string, Effect>;
}

interface Row extends Outboxed {
  entry: StoredLedgerEntry;
  lifecycle: TaskLifecycle;
  notify?: NotifySpec;
  facts: ContactFacts;
  pgRev: number;
  closedAt?: number;
  checkAt?: number;
  sent: SentOutcome[];
}

type WaiterRow = Waiter & Pending;

export class InMemoryLedger implements Ledger {
  readonly #rows = new Map<string, Row>();
  readonly #outcomes = new Map<string, Outboxed>();
  readonly #waiters = new Map<string, WaiterRow>();
  readonly #index = new Map<string, string>();
  readonly #slots = new Map<string, number>();
  readonly #chains = new Map<string, number>();
  readonly #retentionMs: number;
  readonly calls = { put: 0, countChainTask: 0 };

  constructor(options: { retentionMs?: number } = {}) {
    this.#retentionMs = options.retentionMs ?? DEFAULT_LEDGER_RETENTION_MS;
  }

  async put(entry: LedgerEntry, state?: NewEntryState): Promise<LedgerPutOutcome> {
    this.calls.put += 1;
    const existing = this.#rows.get(entry.clientToken);
    const first = existing?.entry ?? toLedgerItem(entry, this.#retentionMs);
    if (!existing) this.#rows.set(entry.clientToken, newRow(first, state));
    this.#index.set(contactIndexKey(first.instanceId, first.contactId), first.clientToken);
    return existing ? 'exists' : 'created';
  }

  async get(clientToken: string): Promise<StoredLedgerEntry | undefined> {
    const row = this.#rows.get(clientToken);
    return row ? structuredClone(row.entry) : undefined;
  }

  async tokenOfContact(instanceId: string, contactId: string): Promise<string | undefined> {
    return this.#index.get(contactIndexKey(instanceId, contactId));
  }

  /** The counter's expiry (the adapter's `expiresAt`) is not kept: nothing reads it back. */
  async countChainTask(instanceId: string, previousContactId: string, _createdAt: number): Promise<void> {
    this.calls.countChainTask += 1;
    const key = chainCounterKey(instanceId, previousContactId);
    this.#chains.set(key, (this.#chains.get(key) ?? 0) + 1);
  }

  async chainTasks(instanceId: string, previousContactId: string): Promise<number | undefined> {
    return this.#chains.get(chainCounterKey(instanceId, previousContactId));
  }

  async lifecycle(
    clientToken: string,
  ): Promise<{ entry: StoredLedgerEntry; lifecycle: TaskLifecycle; notify?: NotifySpec } | undefined> {
    const row = this.#rows.get(clientToken);
    if (!row) return undefined;
    return structuredClone({
      entry: row.entry,
      lifecycle: row.lifecycle,
      ...(row.notify ? { notify: row.notify } : {}),
    });
  }

  async claimLifecycle(
    clientToken: string,
    rev: number,
    lease: LifecycleLease & { holder: string },
  ): Promise<boolean> {
    const row = this.#rows.get(clientToken);
    if (!row || row.lifecycle.rev !== rev) return false;
    const { eventAt, ...rest } = lease;
    row.lifecycle = {
      ...row.lifecycle,
      rev: rev + 1,
      lease: { ...rest, ...(eventAt === undefined ? {} : { eventAt }) },
    };
    return true;
  }

  async commitLifecycle(
    clientToken: string,
    eventId: string,
    applied: AppliedLifecycleEvent,
    outbox?: { effects: readonly Effect[]; now: number },
  ): Promise<boolean> {
    const row = this.#leaseOf(clientToken, eventId);
    if (!row) return false;
    if (outbox && outbox.effects.length > 0) {
      for (const effect of outbox.effects) row.effects.set(effect.id, structuredClone(effect));
      row.pendPk ??= OUTBOX_PARTITION;
      row.pendAt = outbox.now + OUTBOX_GRACE_MS;
    }
    const { lease: _lease, ...lifecycle } = row.lifecycle;
    row.lifecycle =
      applied.kind === 'update'
        ? { ...lifecycle, rev: lifecycle.rev + 1, lastEventAt: applied.eventAt, lastEventId: eventId }
        : {
            ...lifecycle,
            rev: lifecycle.rev + 1,
            completedAt: applied.completedAt,
            completedEventId: eventId,
          };
    return true;
  }

  async releaseLifecycle(clientToken: string, eventId: string): Promise<void> {
    const row = this.#leaseOf(clientToken, eventId);
    if (!row) return;
    const { lease: _lease, ...lifecycle } = row.lifecycle;
    row.lifecycle = { ...lifecycle, rev: lifecycle.rev + 1 };
  }

  /** The row whose lease `eventId` holds. */
  #leaseOf(clientToken: string, eventId: string): Row | undefined {
    const row = this.#rows.get(clientToken);
    return row?.lifecycle.lease?.eventId === eventId ? row : undefined;
  }

  async progress(clientToken: string): Promise<TaskProgress | undefined> {
    const row = this.#rows.get(clientToken);
    if (!row) return undefined;
    return structuredClone({
      entry: row.entry,
      facts: row.facts,
      rev: row.pgRev,
      pending: row.effects.size,
      sent: row.sent,
      ...(row.notify ? { notify: row.notify } : {}),
      ...(row.closedAt === undefined ? {} : { closedAt: row.closedAt }),
      ...(row.checkAt === undefined ? {} : { checkAt: row.checkAt }),
    });
  }

  async saveProgress(clientToken: string, rev: number, change: ProgressChange): Promise<boolean> {
    const row = this.#rows.get(clientToken);
    if (!row || row.pgRev !== rev) return false;
    row.facts = structuredClone(change.facts);
    row.pgRev = rev + 1;
    for (const effect of change.effects) row.effects.set(effect.id, structuredClone(effect));
    const pendAt = change.effects.length > 0 ? change.now + OUTBOX_GRACE_MS : change.checkAt;
    if (change.checkAt !== undefined) row.checkAt = change.checkAt;
    if (change.closedAt !== undefined) {
      row.closedAt = change.closedAt;
      row.pendPk = OUTBOX_PARTITION;
      row.pendAt = pendAt ?? change.now + OUTBOX_GRACE_MS;
      if (change.checkAt === undefined) delete row.checkAt;
    } else {
      row.pendPk ??= openPartition(change.instanceId);
      if (pendAt !== undefined) row.pendAt = pendAt;
    }
    return true;
  }

  async deferCheck(clientToken: string, checkAt: number): Promise<void> {
    const row = this.#rows.get(clientToken);
    if (!row || row.closedAt !== undefined) return;
    row.checkAt = checkAt;
    if (row.effects.size === 0) row.pendAt = checkAt;
  }

  async dropCheck(clientToken: string): Promise<void> {
    const row = this.#rows.get(clientToken);
    if (row?.closedAt !== undefined) delete row.checkAt;
  }

  async openTasks(instanceId: string, limit?: number): Promise<number> {
    const open = this.#indexed(openPartition(instanceId), Number.POSITIVE_INFINITY).length;
    return limit === undefined ? open : Math.min(open, limit);
  }

  async duePending(partition: string, dueBy: number, limit: number): Promise<string[]> {
    return this.#indexed(partition, dueBy).slice(0, limit);
  }

  async pendingEffects(key: string): Promise<Effect[]> {
    const item = this.#rows.get(key) ?? this.#outcomes.get(key);
    return item
      ? [...item.effects.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((e) => structuredClone(e))
      : [];
  }

  async putEffects(key: string, effects: readonly Effect[], now: number): Promise<boolean> {
    if (this.#outcomes.has(key)) return false;
    this.#outcomes.set(key, {
      effects: new Map(effects.map((e) => [e.id, structuredClone(e)])),
      pendPk: OUTBOX_PARTITION,
      pendAt: now + OUTBOX_GRACE_MS,
    });
    return true;
  }

  async ackEffect(key: string, effect: Effect, now: number): Promise<void> {
    const row = this.#rows.get(key);
    const item = row ?? this.#outcomes.get(key);
    if (!item?.effects.delete(effect.id)) return;
    if (row && effect.kind === 'publish')
      row.sent.push({ id: effect.id, type: effect.outcome.type, at: now });
  }

  async settle(key: string): Promise<void> {
    const outcome = this.#outcomes.get(key);
    if (key.startsWith(OUTCOME_KEY_PREFIX)) {
      if (outcome && outcome.effects.size === 0) {
        delete outcome.pendPk;
        delete outcome.pendAt;
      }
      return;
    }
    const row = this.#rows.get(key);
    if (!row || row.effects.size > 0) return;
    if (row.checkAt !== undefined) {
      row.pendAt = row.checkAt;
    } else if (row.closedAt !== undefined) {
      delete row.pendPk;
      delete row.pendAt;
    }
  }

  async putWaiter(waiter: Omit<Waiter, 'since' | 'claimUntil'> & { firstParkedAt: number }): Promise<void> {
    const { firstParkedAt, ...rest } = waiter;
    const since = this.#waiters.get(waiter.clientToken)?.since ?? firstParkedAt;
    this.#waiters.set(waiter.clientToken, {
      ...structuredClone(rest),
      since,
      pendPk: waitPartition(waiter.instanceId),
      pendAt: since,
    });
  }

  async getWaiter(clientToken: string): Promise<Waiter | undefined> {
    const row = this.#waiters.get(clientToken);
    return row ? waiterOf(row) : undefined;
  }

  async oldestWaiters(instanceId: string, limit: number, now: number): Promise<Waiter[]> {
    return [...this.#waiters.values()]
      .filter((w) => w.instanceId === instanceId && !(w.claimUntil !== undefined && w.claimUntil > now))
      .sort((a, b) => a.since - b.since || (a.clientToken < b.clientToken ? -1 : 1))
      .slice(0, limit)
      .map(waiterOf);
  }

  async claimWaiter(clientToken: string, until: number, now: number): Promise<boolean> {
    const row = this.#waiters.get(clientToken);
    if (!row || (row.claimUntil !== undefined && row.claimUntil > now)) return false;
    row.claimUntil = until;
    return true;
  }

  async removeWaiter(clientToken: string, parkedAt?: number): Promise<void> {
    const row = this.#waiters.get(clientToken);
    if (row && (parkedAt === undefined || row.parkedAt === parkedAt)) this.#waiters.delete(clientToken);
  }

  /** The keys of the pending index's partition due by `dueBy`, in index order (time, then key). */
  #indexed(partition: string, dueBy: number): string[] {
    const items: [string, Pending][] = [...this.#rows, ...this.#outcomes].map(([key, item]) => [key, item]);
    for (const [token, waiter] of this.#waiters) items.push([waiterKey(token), waiter]);
    return items
      .filter(([, item]) => item.pendPk === partition && item.pendAt !== undefined && item.pendAt <= dueBy)
      .sort(([ka, a], [kb, b]) => (a.pendAt as number) - (b.pendAt as number) || (ka < kb ? -1 : 1))
      .map(([key]) => key);
  }

  async takeSlot(
    instanceId: string,
    quota: number,
    force: boolean,
  ): Promise<{ taken: boolean; used: number }> {
    const used = this.#slots.get(instanceId) ?? 0;
    if (!force && used >= quota) return { taken: false, used };
    this.#slots.set(instanceId, used + 1);
    return { taken: true, used: used + 1 };
  }

  async freeSlot(instanceId: string): Promise<void> {
    const used = this.#slots.get(instanceId) ?? 0;
    if (used > 0) this.#slots.set(instanceId, used - 1);
  }

  async setSlots(instanceId: string, used: number): Promise<void> {
    this.#slots.set(instanceId, used);
  }
}

function newRow(entry: StoredLedgerEntry, state: NewEntryState | undefined): Row {
  const row: Row = { entry, lifecycle: { rev: 0 }, facts: {}, pgRev: 0, effects: new Map(), sent: [] };
  if (!state) return row;
  for (const effect of state.effects ?? []) row.effects.set(effect.id, structuredClone(effect));
  if (state.notify) row.notify = structuredClone(state.notify);
  row.pendPk = openPartition(entry.instanceId);
  row.checkAt = state.checkAt;
  row.pendAt = row.effects.size > 0 ? state.now + OUTBOX_GRACE_MS : state.checkAt;
  return row;
}

function waiterOf(row: WaiterRow): Waiter {
  const { pendPk: _pk, pendAt: _at, ...waiter } = structuredClone(row);
  return waiter;
}
