/**
 * The test double of the ledger: in memory, with the same conditions as the DynamoDB adapter
 * (lib/ledger/dynamo-ledger.ts); test/support/ledger-contract.ts runs the same cases against both so
 * they cannot drift. Values are copied in and out, so callers never share state. `calls` counts the
 * writes per method, for tests that assert how often something was written.
 */
import { chainCounterKey, contactIndexKey } from '#lib/idempotency/token.ts';
import { toLedgerItem } from '#lib/ledger/codec.ts';
import {
  type AppliedLifecycleEvent,
  DEFAULT_LEDGER_RETENTION_MS,
  type Ledger,
  type LedgerEntry,
  type LedgerPutOutcome,
  type LifecycleLease,
  type StoredLedgerEntry,
  type TaskLifecycle,
} from '#lib/ledger/port.ts';

interface Row {
  entry: StoredLedgerEntry;
  lifecycle: TaskLifecycle;
}

export class InMemoryLedger implements Ledger {
  readonly #rows = new Map<string, Row>();
  readonly #index = new Map<string, string>();
  readonly #chains = new Map<string, number>();
  readonly #retentionMs: number;
  readonly calls = { put: 0, countChainTask: 0 };

  constructor(options: { retentionMs?: number } = {}) {
    this.#retentionMs = options.retentionMs ?? DEFAULT_LEDGER_RETENTION_MS;
  }

  async put(entry: LedgerEntry): Promise<LedgerPutOutcome> {
    this.calls.put += 1;
    const existing = this.#rows.get(entry.clientToken);
    const first = existing?.entry ?? toLedgerItem(entry, this.#retentionMs);
    if (!existing) this.#rows.set(entry.clientToken, { entry: first, lifecycle: { rev: 0 } });
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
  ): Promise<{ entry: StoredLedgerEntry; lifecycle: TaskLifecycle } | undefined> {
    const row = this.#rows.get(clientToken);
    return row ? structuredClone({ entry: row.entry, lifecycle: row.lifecycle }) : undefined;
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
  ): Promise<boolean> {
    const row = this.#leaseOf(clientToken, eventId);
    if (!row) return false;
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
}
