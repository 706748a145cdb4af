import {
  IdempotencyException,
  InternalServiceException,
  InvalidParameterException,
  InvalidRequestException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ThrottlingException,
} from '@aws-sdk/client-connect';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryBudgetStore } from '#common/memory-budget-store.ts';
import { createBudget } from '#lib/budget/budget.ts';
import { createRateLimiter } from '#lib/connect/rate-limiter.ts';
import { transferClientToken } from '#lib/idempotency/token.ts';
import type {
  ContactSnapshot,
  TransferCall,
  TransferCallResult,
  TransferGateway,
} from '#lib/transfers/gateway.ts';
import type { TransferItem } from '#lib/transfers/store/port.ts';
import { runSweep, type SweepDeps, type SweepMetrics } from '#lib/transfers/sweep.ts';
import { InMemoryTransferStore } from '#test/support/memory-transfer-store.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const QUEUE = 'a0a0a0a0-0000-4000-8000-000000000002';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000002';
const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const LEASE_MS = 60_000;
const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

/** A TransferGateway double: answers from a table of contacts and records every call. */
class FakeGateway implements TransferGateway {
  readonly contacts = new Map<string, ContactSnapshot>();
  readonly describes: string[] = [];
  readonly transfers: TransferCall[] = [];
  /** Errors the next TransferContact / DescribeContact calls throw, per contact, in order. */
  readonly transferErrors = new Map<string, unknown[]>();
  readonly describeErrors = new Map<string, unknown[]>();
  /** When set, TransferContact records the call and returns this promise (a sweep that "hangs"). */
  hang: Promise<TransferCallResult> | undefined;

  activeTask(contactId: string): void {
    this.contacts.set(contactId, { contactId, channel: 'TASK' });
  }

  async describeContact(_instanceId: string, contactId: string): Promise<ContactSnapshot> {
    await Promise.resolve();
    this.describes.push(contactId);
    const error = this.describeErrors.get(contactId)?.shift();
    if (error) throw error;
    const contact = this.contacts.get(contactId);
    if (!contact) throw new ResourceNotFoundException({ message: 'Contact not found', ...meta(404) });
    return { ...contact };
  }

  async transferContact(call: TransferCall): Promise<TransferCallResult> {
    await Promise.resolve();
    this.transfers.push(call);
    if (this.hang) return this.hang;
    const error = this.transferErrors.get(call.contactId)?.shift();
    if (error) throw error;
    return {
      ContactId: call.contactId,
      ContactArn: `arn:aws:connect:us-east-1:000000000000:contact/${call.contactId}`,
    };
  }

  transfersByToken(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const call of this.transfers) counts.set(call.clientToken, (counts.get(call.clientToken) ?? 0) + 1);
    return counts;
  }
}

class RecordingMetrics implements SweepMetrics {
  readonly counts: Record<string, number> = {};
  addMetric(name: string, _unit: 'Count', value: number): void {
    this.counts[name] = (this.counts[name] ?? 0) + value;
  }
}

function plan(
  contactId: string,
  planId: string,
  dueAt: number,
  extra: Partial<TransferItem> = {},
): TransferItem {
  return {
    contactId,
    planId,
    instanceId: INSTANCE,
    status: 'PENDING',
    dueAt,
    queueId: QUEUE,
    contactFlowId: FLOW,
    attempts: 0,
    createdAt: T0 - 3_600_000,
    updatedAt: T0 - 3_600_000,
    expiresAt: Math.ceil(T0 / 1000) + 86_400,
    ...extra,
  };
}

describe('runSweep', () => {
  let store: InMemoryTransferStore;
  let gateway: FakeGateway;
  let metrics: RecordingMetrics;
  let clock: number;

  const deps = (overrides: Partial<SweepDeps> = {}): SweepDeps => ({
    store,
    gateway,
    limiter: createRateLimiter({ ratePerSecond: Number.POSITIVE_INFINITY }),
    now: () => clock,
    owner: 'sweep-a',
    leaseMs: LEASE_MS,
    remainingTimeMs: () => 60_000,
    metrics,
    random: () => 0.5,
    ...overrides,
  });

  beforeEach(() => {
    store = new InMemoryTransferStore();
    gateway = new FakeGateway();
    metrics = new RecordingMetrics();
    clock = T0;
  });

  it('transfers a due plan with the deterministic ClientToken and records DONE with the result', async () => {
    // Prepare
    gateway.activeTask('c-1');
    await store.schedule(plan('c-1', 'escalate', T0 - 1));
    // Act
    const summary = await runSweep(deps());
    // Assess
    expect(summary).toMatchObject({ claimed: 1, done: 1, failed: 0, rescheduled: 0, skipped: 0 });
    expect(gateway.transfers).toEqual([
      {
        instanceId: INSTANCE,
        contactId: 'c-1',
        queueId: QUEUE,
        contactFlowId: FLOW,
        clientToken: transferClientToken('c-1', 'escalate'),
      },
    ]);
    const stored = await store.get('c-1', 'escalate');
    expect(stored).toMatchObject({
      status: 'DONE',
      result: { ContactId: 'c-1', ContactArn: expect.stringContaining('contact/c-1') },
    });
    expect(stored?.leaseOwner).toBeUndefined();
    expect(await store.countTransfers('c-1')).toBe(1);
    expect(metrics.counts).toEqual({ TransfersDone: 1 });
  });

  it('leaves plans that are not due yet alone', async () => {
    // Prepare
    gateway.activeTask('c-1');
    await store.schedule(plan('c-1', 'later', T0 + 1));
    // Act
    const summary = await runSweep(deps());
    // Assess
    expect(summary.claimed).toBe(0);
    expect(gateway.describes).toEqual([]);
    expect((await store.get('c-1', 'later'))?.status).toBe('PENDING');
  });

  it.each([
    ['429 ThrottlingException', new ThrottlingException({ message: 'Rate exceeded', ...meta(429) })],
    ['500 InternalServiceException', new InternalServiceException({ message: 'boom', ...meta(500) })],
    ['a timeout', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
    ['a reset connection', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
  ])('puts the plan back to PENDING with full-jitter backoff after %s', async (_label, error) => {
    // Prepare
    gateway.activeTask('c-1');
    gateway.transferErrors.set('c-1', [error]);
    await store.schedule(plan('c-1', 'p', T0 - 1));
    // Act
    const summary = await runSweep(deps({ random: () => 0.5 }));
    // Assess
    expect(summary).toMatchObject({ claimed: 1, rescheduled: 1, done: 0, failed: 0 });
    const stored = await store.get('c-1', 'p');
    expect(stored).toMatchObject({ status: 'PENDING', attempts: 1 });
    // attempts 0: window [0, base = 2 s]; random 0.5 → 1 s.
    expect(stored?.dueAt).toBe(T0 + 1_000);
    expect(stored?.leaseOwner).toBeUndefined();
    expect(metrics.counts).toEqual({ TransfersRescheduled: 1 });
  });

  it('widens the backoff window with each attempt, up to the cap', async () => {
    // Prepare
    gateway.activeTask('c-1');
    gateway.transferErrors.set('c-1', [new ThrottlingException({ message: 'Rate exceeded', ...meta(429) })]);
    await store.schedule(plan('c-1', 'p', T0 - 1, { attempts: 4 }));
    // Act
    await runSweep(deps({ random: () => 0.999 }));
    // Assess: attempts 4 → window [0, 2 s · 2^4 = 32 s].
    expect((await store.get('c-1', 'p'))?.dueAt).toBe(T0 + 32_000);
  });

  it('retries a rescheduled plan on a later sweep and then completes it once', async () => {
    // Prepare
    gateway.activeTask('c-1');
    gateway.transferErrors.set('c-1', [new ThrottlingException({ message: 'Rate exceeded', ...meta(429) })]);
    await store.schedule(plan('c-1', 'p', T0 - 1));
    await runSweep(deps());
    clock += 5 * 60_000;
    // Act
    const summary = await runSweep(deps({ owner: 'sweep-b' }));
    // Assess
    expect(summary.done).toBe(1);
    expect((await store.get('c-1', 'p'))?.status).toBe('DONE');
    expect(new Set(gateway.transfers.map((c) => c.clientToken)).size).toBe(1);
    expect(await store.countTransfers('c-1')).toBe(1);
  });

  it.each([
    [
      '404 ResourceNotFoundException',
      new ResourceNotFoundException({ message: 'Queue not found', ...meta(404) }),
      /^TransferContact ResourceNotFoundException: Queue not found/,
    ],
    [
      '400 InvalidRequestException',
      new InvalidRequestException({ message: 'not active', ...meta(400) }),
      /InvalidRequestException/,
    ],
    [
      '400 InvalidParameterException',
      new InvalidParameterException({ message: 'bad flow', ...meta(400) }),
      /InvalidParameterException/,
    ],
    [
      '402 ServiceQuotaExceededException',
      new ServiceQuotaExceededException({ message: 'quota', ...meta(402) }),
      /ServiceQuotaExceededException/,
    ],
  ])('marks the plan FAILED with the reason after %s, never retrying it', async (_label, error, reason) => {
    // Prepare
    gateway.activeTask('c-1');
    gateway.transferErrors.set('c-1', [error]);
    await store.schedule(plan('c-1', 'p', T0 - 1));
    // Act
    const summary = await runSweep(deps());
    clock += 3_600_000;
    const later = await runSweep(deps({ owner: 'sweep-b' }));
    // Assess
    expect(summary).toMatchObject({ claimed: 1, failed: 1 });
    expect(later.claimed).toBe(0);
    const stored = await store.get('c-1', 'p');
    expect(stored?.status).toBe('FAILED');
    expect(stored?.reason).toMatch(reason);
    expect(gateway.transfers).toHaveLength(1);
    expect(await store.countTransfers('c-1')).toBe(0);
    expect(metrics.counts).toEqual({ TransfersFailed: 1 });
  });

  it('marks the plan FAILED as a conflict on 409 IdempotencyException and counts TransferConflicts', async () => {
    // Prepare
    gateway.activeTask('c-1');
    gateway.transferErrors.set('c-1', [new IdempotencyException({ message: 'token reused', ...meta(409) })]);
    await store.schedule(plan('c-1', 'p', T0 - 1));
    // Act
    const summary = await runSweep(deps());
    // Assess
    expect(summary).toMatchObject({ claimed: 1, failed: 1, rescheduled: 0 });
    expect((await store.get('c-1', 'p'))?.reason).toMatch(/^Conflict: IdempotencyException/);
    expect(metrics.counts).toEqual({ TransfersFailed: 1, TransferConflicts: 1 });
  });

  it('refuses the 12th transfer of a contact before any Connect call', async () => {
    // Prepare
    gateway.activeTask('c-1');
    for (let i = 1; i <= 12; i += 1)
      await store.schedule(plan('c-1', `p${String(i).padStart(2, '0')}`, T0 - 100 + i));
    // Act
    const summary = await runSweep(deps());
    // Assess
    expect(summary).toMatchObject({ claimed: 12, done: 11, failed: 1 });
    expect(gateway.transfers).toHaveLength(11);
    expect(gateway.describes).toHaveLength(11);
    const twelfth = await store.get('c-1', 'p12');
    expect(twelfth?.status).toBe('FAILED');
    expect(twelfth?.reason).toMatch(/^TransferLimitReached: .*more than 11 times/);
    expect(gateway.transfers.some((c) => c.clientToken === transferClientToken('c-1', 'p12'))).toBe(false);
    expect(await store.countTransfers('c-1')).toBe(11);
  });

  it('fails a plan of an ended contact without calling TransferContact, and never retries it', async () => {
    // Prepare
    gateway.contacts.set('c-1', { contactId: 'c-1', channel: 'TASK', disconnectedAt: T0 - 60_000 });
    await store.schedule(plan('c-1', 'p', T0 - 1));
    // Act
    const first = await runSweep(deps());
    const sweeps = [];
    for (let i = 0; i < 5; i += 1) {
      clock += 10 * 60_000;
      sweeps.push(await runSweep(deps({ owner: `sweep-${i}` })));
    }
    // Assess
    expect(first).toMatchObject({ claimed: 1, failed: 1 });
    expect(sweeps.every((s) => s.claimed === 0)).toBe(true);
    expect(gateway.describes).toEqual(['c-1']);
    expect(gateway.transfers).toEqual([]);
    const stored = await store.get('c-1', 'p');
    expect(stored?.reason).toMatch(/^ContactEnded: /);
    expect(await store.countTransfers('c-1')).toBe(0);
  });

  it('fails a plan whose contact is not a task, without calling TransferContact', async () => {
    // Prepare
    gateway.contacts.set('c-1', { contactId: 'c-1', channel: 'VOICE' });
    await store.schedule(plan('c-1', 'p', T0 - 1));
    // Act
    await runSweep(deps());
    // Assess
    expect((await store.get('c-1', 'p'))?.reason).toMatch(/^ContactNotTask: channel is VOICE/);
    expect(gateway.transfers).toEqual([]);
  });

  it('fails a plan whose contact no longer exists, without calling TransferContact', async () => {
    // Prepare
    await store.schedule(plan('c-gone', 'p', T0 - 1));
    // Act
    await runSweep(deps());
    // Assess
    expect((await store.get('c-gone', 'p'))?.reason).toMatch(/^DescribeContact ResourceNotFoundException/);
    expect(gateway.transfers).toEqual([]);
  });

  it('reschedules when DescribeContact is throttled, without calling TransferContact', async () => {
    // Prepare
    gateway.activeTask('c-1');
    gateway.describeErrors.set('c-1', [new ThrottlingException({ message: 'Rate exceeded', ...meta(429) })]);
    await store.schedule(plan('c-1', 'p', T0 - 1));
    // Act
    const summary = await runSweep(deps());
    // Assess
    expect(summary.rescheduled).toBe(1);
    expect(gateway.transfers).toEqual([]);
  });

  it('fails a plan after maxAttempts transient failures instead of retrying forever', async () => {
    // Prepare
    gateway.activeTask('c-1');
    gateway.transferErrors.set('c-1', [new InternalServiceException({ message: 'boom', ...meta(500) })]);
    await store.schedule(plan('c-1', 'p', T0 - 1, { attempts: 2 }));
    // Act
    const summary = await runSweep(deps({ policy: { maxAttempts: 3 } }));
    // Assess
    expect(summary.failed).toBe(1);
    expect((await store.get('c-1', 'p'))?.reason).toMatch(
      /^RetriesExhausted: 3 attempts; last InternalServiceException/,
    );
  });

  it('brings back the plan of a sweep that crashed mid-call once its lease expires, and finishes it once', async () => {
    // Prepare: sweep A claims the plan and hangs inside TransferContact (as if the Lambda died there).
    gateway.activeTask('c-1');
    await store.schedule(plan('c-1', 'p', T0 - 1));
    let finishHungCall: (result: TransferCallResult) => void = () => {};
    gateway.hang = new Promise((resolve) => {
      finishHungCall = resolve;
    });
    const crashed = runSweep(deps({ owner: 'sweep-a' }));
    await waitUntil(() => gateway.transfers.length === 1);
    gateway.hang = undefined;
    const whileLeased = await runSweep(deps({ owner: 'sweep-b' }));
    // Act
    clock += LEASE_MS + 1;
    const afterLease = await runSweep(deps({ owner: 'sweep-b' }));
    // Assess
    expect(whileLeased.claimed).toBe(0);
    expect(afterLease).toMatchObject({ claimed: 1, done: 1 });
    expect(gateway.transfers.map((c) => c.clientToken)).toEqual([
      transferClientToken('c-1', 'p'),
      transferClientToken('c-1', 'p'),
    ]);
    const stored = await store.get('c-1', 'p');
    expect(stored).toMatchObject({ status: 'DONE' });
    // The stale owner's late answer cannot overwrite the record or count twice.
    finishHungCall({ ContactId: 'c-1', ContactArn: 'arn:stale' });
    await crashed;
    expect((await store.get('c-1', 'p'))?.result?.ContactArn).not.toBe('arn:stale');
    expect(await store.countTransfers('c-1')).toBe(1);
  });

  it('never transfers a plan twice when two sweeps run at the same time', async () => {
    // Prepare
    for (let i = 0; i < 30; i += 1) {
      gateway.activeTask(`c-${i}`);
      await store.schedule(plan(`c-${i}`, 'p', T0 - 1_000 + i));
    }
    // Act
    const [a, b] = await Promise.all([
      runSweep(deps({ owner: 'sweep-a', policy: { pageSize: 7 } })),
      runSweep(deps({ owner: 'sweep-b', policy: { pageSize: 5 } })),
    ]);
    // Assess
    expect(a.done + b.done).toBe(30);
    expect(a.skipped + b.skipped).toBeGreaterThan(0);
    expect([...gateway.transfersByToken().values()].every((n) => n === 1)).toBe(true);
    expect(gateway.transfers).toHaveLength(30);
    expect(store.snapshot().every((item) => item.status === 'DONE')).toBe(true);
  });

  it('stops claiming when the remaining Lambda time is short, leaving the rest PENDING', async () => {
    // Prepare
    for (let i = 0; i < 5; i += 1) {
      gateway.activeTask(`c-${i}`);
      await store.schedule(plan(`c-${i}`, 'p', T0 - 100 + i));
    }
    let remaining = 14_000;
    const remainingTimeMs = () => remaining;
    const tick = gateway.transferContact.bind(gateway);
    gateway.transferContact = async (call) => {
      remaining -= 2_000;
      return tick(call);
    };
    // Act
    const summary = await runSweep(deps({ remainingTimeMs, policy: { minRemainingMs: 10_000 } }));
    // Assess
    expect(summary).toMatchObject({ claimed: 3, done: 3, stoppedEarly: true });
    expect(store.snapshot().filter((item) => item.status === 'PENDING')).toHaveLength(2);
  });

  it('claims at most "max" plans', async () => {
    // Prepare
    for (let i = 0; i < 4; i += 1) {
      gateway.activeTask(`c-${i}`);
      await store.schedule(plan(`c-${i}`, 'p', T0 - 100 + i));
    }
    // Act
    const summary = await runSweep(deps(), { max: 2 });
    // Assess
    expect(summary).toMatchObject({ claimed: 2, done: 2, stoppedEarly: true });
  });

  it('counts an item whose store write throws as an error and goes on with the next', async () => {
    // Prepare
    gateway.activeTask('c-1');
    gateway.activeTask('c-2');
    await store.schedule(plan('c-1', 'p', T0 - 2));
    await store.schedule(plan('c-2', 'p', T0 - 1));
    const reserve = store.reserveTransferSlot.bind(store);
    store.reserveTransferSlot = async (contactId, planId, max, now) => {
      if (contactId === 'c-1') throw new Error('DynamoDB unavailable');
      return reserve(contactId, planId, max, now);
    };
    const errors: Error[] = [];
    // Act
    const summary = await runSweep(
      deps({
        logger: {
          debug: () => {},
          info: () => {},
          warn: () => {},
          error: (_m, fields) => {
            if (fields?.error instanceof Error) errors.push(fields.error);
          },
        },
      }),
    );
    // Assess
    expect(summary).toMatchObject({ errors: 1, done: 1 });
    expect(errors[0]?.name).toBe('SweepError');
    expect((await store.get('c-1', 'p'))?.status).toBe('CLAIMED');
  });

  it('leaves an item PENDING, unclaimed and its attempts untouched, when its TransferContact slot would come after the deadline', async () => {
    // Prepare: one slot every 20 s; 25 s of the invocation left, 10 s kept back (minRemainingMs).
    gateway.activeTask('c-1');
    gateway.activeTask('c-2');
    await store.schedule(plan('c-1', 'p', T0 - 2));
    await store.schedule(plan('c-2', 'p', T0 - 1));
    const budget = createBudget({
      store: createMemoryBudgetStore(),
      ceiling: 0.05,
      instances: 1,
      random: () => 0,
      slotJitter: 0,
    });
    const started = Date.now();

    // Act
    const summary = await runSweep(
      deps({ limiter: budget, remainingTimeMs: () => 25_000 - (Date.now() - started) }),
    );

    // Assess: the first transferred on the free slot; the second never claimed, nor waited for.
    expect(summary).toMatchObject({ claimed: 1, done: 1, stoppedEarly: true });
    expect(gateway.transfers.map((t) => t.contactId)).toEqual(['c-1']);
    expect(await store.get('c-2', 'p')).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect((await store.get('c-2', 'p'))?.leaseOwner).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

/** Waits (on the microtask/macrotask queue, not the wall clock) until `condition` holds. */
async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i += 1) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition never held');
}
