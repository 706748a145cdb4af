/**
 * The contract of the ledger (lib/ledger/port.ts): the same cases run against every implementation
 * (the DynamoDB adapter on dynalite, the in-memory test double), so the double cannot drift from the
 * adapter. test/integration/ledger-contract.test.ts runs it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { OUTBOX_PARTITION, openPartition, waitPartition } from '#lib/ledger/codec.ts';
import { type Ledger, type LedgerEntry, OUTBOX_GRACE_MS } from '#lib/ledger/port.ts';
import { type Effect, publishEffect, releaseEffect } from '#lib/outcomes/effects.ts';
import { buildOutcome } from '#lib/outcomes/outcome.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const OTHER_INSTANCE = '99999999-2222-3333-4444-555555555555';
const PREVIOUS = 'c0ffee00-0000-4000-8000-000000000001';
const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const RETENTION_S = 30 * 86_400;

const HOUR = 3_600_000;

function created(n: number): Effect {
  return publishEffect(
    buildOutcome('task.created', [entry(n).clientToken], `contact-${n}`, T0, {
      event: { source: 'com.example.crm', id: `event-${n}` },
    }),
  );
}

function waiting(n: number, parkedAt: number) {
  return {
    clientToken: entry(n).clientToken,
    instanceId: INSTANCE,
    lane: 'normal' as const,
    message: {
      MessageBody: `{"n":${n}}`,
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: 'case' },
        blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
      },
    },
    parkedAt,
    firstParkedAt: parkedAt,
  };
}

function entry(n: number, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    clientToken: taskClientToken(INSTANCE, 'com.example.crm', `case-${n}`),
    contactId: `contact-${n}`,
    instanceId: INSTANCE,
    source: 'com.example.crm',
    eventId: `event-${n}`,
    idempotencyKey: `case-${n}`,
    ruleId: 'case-opened',
    createdAt: T0 + n,
    ...overrides,
  };
}

/** Defines the contract's cases for the ledger `fresh()` makes (an empty one per case). */
export function ledgerContract(name: string, fresh: () => Promise<Ledger>): void {
  describe(`Ledger contract: ${name}`, () => {
    let ledger: Ledger;

    beforeEach(async () => {
      ledger = await fresh();
    });

    describe('entries', () => {
      it('keeps the first entry for a token and reads it back with its expiry', async () => {
        // Prepare
        const first = entry(1, { previousContactId: PREVIOUS });
        // Act
        const outcomes = [
          await ledger.put(first),
          await ledger.put({ ...first, contactId: 'contact-other' }),
        ];
        // Assess
        expect(outcomes).toEqual(['created', 'exists']);
        expect(await ledger.get(first.clientToken)).toEqual({
          ...first,
          expiresAt: Math.ceil((T0 + 1) / 1000) + RETENTION_S,
        });
        expect(await ledger.get('cti1-task-unknown')).toBeUndefined();
      });

      it('finds an entry by its task, and only the first task of its token', async () => {
        // Prepare
        const first = entry(2);
        // Act
        await ledger.put(first);
        await ledger.put({ ...first, contactId: 'contact-other' });
        // Assess
        expect(await ledger.tokenOfContact(INSTANCE, 'contact-2')).toBe(first.clientToken);
        expect(await ledger.tokenOfContact(INSTANCE, 'contact-other')).toBeUndefined();
        expect(await ledger.tokenOfContact(OTHER_INSTANCE, 'contact-2')).toBeUndefined();
      });
    });

    describe('PreviousContactId chains', () => {
      it('counts every task added to a chain, per instance and chain', async () => {
        // Act
        await ledger.countChainTask(INSTANCE, PREVIOUS, T0);
        await ledger.countChainTask(INSTANCE, PREVIOUS, T0 + 1);
        await ledger.countChainTask(OTHER_INSTANCE, PREVIOUS, T0);
        // Assess
        expect(await ledger.chainTasks(INSTANCE, PREVIOUS)).toBe(2);
        expect(await ledger.chainTasks(OTHER_INSTANCE, PREVIOUS)).toBe(1);
        expect(await ledger.chainTasks(INSTANCE, 'c0ffee00-0000-4000-8000-000000000099')).toBeUndefined();
      });
    });

    describe('lifecycle', () => {
      it('has no lifecycle for a task no create recorded, and lets nobody claim it', async () => {
        // Act
        const claimed = await ledger.claimLifecycle(entry(3).clientToken, 0, {
          eventId: 'u-1',
          until: T0 + 1_000,
          holder: 'm-1',
        });
        // Assess
        expect(claimed).toBe(false);
        expect(await ledger.lifecycle(entry(3).clientToken)).toBeUndefined();
      });

      it('starts at revision 0 and lets exactly one of two events at the same revision take the lease', async () => {
        // Prepare
        const { clientToken } = entry(4);
        await ledger.put(entry(4));
        // Act
        const before = await ledger.lifecycle(clientToken);
        const claims = await Promise.all([
          ledger.claimLifecycle(clientToken, 0, {
            eventId: 'u-1',
            eventAt: T0,
            until: T0 + 1_000,
            holder: 'm-1',
          }),
          ledger.claimLifecycle(clientToken, 0, {
            eventId: 'u-2',
            eventAt: T0,
            until: T0 + 1_000,
            holder: 'm-2',
          }),
        ]);
        // Assess
        expect(before?.lifecycle).toEqual({ rev: 0 });
        expect(claims.filter(Boolean)).toHaveLength(1);
        const after = await ledger.lifecycle(clientToken);
        expect(after?.lifecycle.rev).toBe(1);
        expect(after?.lifecycle.lease).toMatchObject({ until: T0 + 1_000, eventAt: T0 });
      });

      it('records an update only for the lease holder, then refuses a claim at the old revision', async () => {
        // Prepare
        const { clientToken } = entry(5);
        await ledger.put(entry(5));
        await ledger.claimLifecycle(clientToken, 0, {
          eventId: 'u-1',
          eventAt: T0 + 5,
          until: T0 + 1_000,
          holder: 'm-1',
        });
        // Act
        const byOther = await ledger.commitLifecycle(clientToken, 'u-2', { kind: 'update', eventAt: T0 + 9 });
        const byHolder = await ledger.commitLifecycle(clientToken, 'u-1', {
          kind: 'update',
          eventAt: T0 + 5,
        });
        const stale = await ledger.claimLifecycle(clientToken, 1, {
          eventId: 'u-3',
          until: T0 + 2_000,
          holder: 'm-3',
        });
        // Assess
        expect([byOther, byHolder, stale]).toEqual([false, true, false]);
        expect((await ledger.lifecycle(clientToken))?.lifecycle).toEqual({
          rev: 2,
          lastEventAt: T0 + 5,
          lastEventId: 'u-1',
        });
      });

      it('records a completion, and a released lease changes nothing but the revision', async () => {
        // Prepare
        const { clientToken } = entry(6);
        await ledger.put(entry(6));
        await ledger.claimLifecycle(clientToken, 0, {
          eventId: 'u-1',
          eventAt: T0,
          until: T0 + 1_000,
          holder: 'm-1',
        });
        // Act
        await ledger.releaseLifecycle(clientToken, 'u-1');
        await ledger.releaseLifecycle(clientToken, 'u-1');
        const claimed = await ledger.claimLifecycle(clientToken, 2, {
          eventId: 'c-1',
          until: T0 + 3_000,
          holder: 'm-2',
        });
        const completed = await ledger.commitLifecycle(clientToken, 'c-1', {
          kind: 'complete',
          completedAt: T0 + 50,
        });
        // Assess
        expect([claimed, completed]).toEqual([true, true]);
        expect((await ledger.lifecycle(clientToken))?.lifecycle).toEqual({
          rev: 4,
          completedAt: T0 + 50,
          completedEventId: 'c-1',
        });
      });

      describe('open tasks and the outbox', () => {
        it('counts a new entry open, holds its effects until acknowledged, then waits for its check', async () => {
          // Prepare
          const e = entry(10);
          await ledger.put(e, {
            effects: [created(10)],
            checkAt: T0 + HOUR,
            now: T0,
            notify: { outcomes: ['task.created'] },
          });
          // Act
          const early = await ledger.duePending(openPartition(INSTANCE), T0 + OUTBOX_GRACE_MS, 10);
          const effects = await ledger.pendingEffects(e.clientToken);
          await ledger.ackEffect(e.clientToken, created(10), T0 + 5);
          await ledger.ackEffect(e.clientToken, created(10), T0 + 6);
          await ledger.settle(e.clientToken);
          const afterSettle = await ledger.duePending(openPartition(INSTANCE), T0 + OUTBOX_GRACE_MS, 10);
          const atCheck = await ledger.duePending(openPartition(INSTANCE), T0 + HOUR, 10);
          const progress = await ledger.progress(e.clientToken);
          // Assess
          expect(await ledger.openTasks(INSTANCE)).toBe(1);
          expect(await ledger.openTasks(OTHER_INSTANCE)).toBe(0);
          expect(early).toEqual([e.clientToken]);
          expect(effects).toEqual([created(10)]);
          expect(afterSettle).toEqual([]);
          expect(atCheck).toEqual([e.clientToken]);
          expect(progress).toMatchObject({
            rev: 0,
            pending: 0,
            facts: {},
            checkAt: T0 + HOUR,
            notify: { outcomes: ['task.created'] },
          });
          expect(progress?.sent).toEqual([{ id: created(10).id, type: 'task.created', at: T0 + 5 }]);
        });

        it('counts the open tasks of an instance up to a limit', async () => {
          for (const n of [30, 31, 32]) await ledger.put(entry(n), { checkAt: T0 + HOUR, now: T0 });
          expect(await ledger.openTasks(INSTANCE)).toBe(3);
          expect(await ledger.openTasks(INSTANCE, 2)).toBe(2);
          expect(await ledger.openTasks(INSTANCE, 5)).toBe(3);
        });

        it('writes progress only at the revision it read', async () => {
          // Prepare
          const e = entry(11);
          await ledger.put(e, { checkAt: T0 + HOUR, now: T0 });
          const fact = { type: 'INITIATED' as const, at: T0, ref: 'ev-1', via: 'event' as const };
          const change = { instanceId: INSTANCE, facts: { INITIATED: fact }, effects: [], now: T0 };
          // Act
          const first = await ledger.saveProgress(e.clientToken, 0, change);
          const stale = await ledger.saveProgress(e.clientToken, 0, change);
          const missing = await ledger.saveProgress(entry(99).clientToken, 0, change);
          // Assess
          expect([first, stale, missing]).toEqual([true, false, false]);
          expect(await ledger.progress(e.clientToken)).toMatchObject({ rev: 1, facts: { INITIATED: fact } });
        });

        it('moves an ended task from its open tasks to the outbox until its effects are done', async () => {
          // Prepare
          const e = entry(12);
          await ledger.put(e, { checkAt: T0 + HOUR, now: T0 });
          const release = releaseEffect(e.clientToken, INSTANCE);
          const done = { type: 'COMPLETED' as const, at: T0 + 10, ref: 'ev-9', via: 'event' as const };
          // Act
          await ledger.saveProgress(e.clientToken, 0, {
            instanceId: INSTANCE,
            facts: { COMPLETED: done },
            effects: [release],
            closedAt: T0 + 10,
            now: T0 + 20,
          });
          const open = await ledger.openTasks(INSTANCE);
          const outbox = await ledger.duePending(OUTBOX_PARTITION, T0 + 20 + OUTBOX_GRACE_MS, 10);
          await ledger.ackEffect(e.clientToken, release, T0 + 30);
          await ledger.settle(e.clientToken);
          // Assess
          expect(open).toBe(0);
          expect(outbox).toEqual([e.clientToken]);
          expect(await ledger.duePending(OUTBOX_PARTITION, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
          expect(await ledger.progress(e.clientToken)).toMatchObject({
            closedAt: T0 + 10,
            pending: 0,
            sent: [],
          });
        });

        it('keeps an ended task that holds a check in the outbox until the check is dropped', async () => {
          // Prepare: a task ended on our own StopContact alone keeps one reconcile check.
          const e = entry(15);
          await ledger.put(e, { checkAt: T0 + HOUR, now: T0 });
          const release = releaseEffect(e.clientToken, INSTANCE);
          const ours = { type: 'COMPLETED' as const, at: T0 + 10, ref: 'complete-1', via: 'api' as const };
          // Act
          await ledger.saveProgress(e.clientToken, 0, {
            instanceId: INSTANCE,
            facts: { COMPLETED: ours },
            effects: [release],
            closedAt: T0 + 10,
            checkAt: T0 + 2 * HOUR,
            now: T0 + 20,
          });
          await ledger.ackEffect(e.clientToken, release, T0 + 30);
          await ledger.settle(e.clientToken);
          const open = await ledger.openTasks(INSTANCE);
          const beforeCheck = await ledger.duePending(OUTBOX_PARTITION, T0 + 2 * HOUR - 1, 10);
          const atCheck = await ledger.duePending(OUTBOX_PARTITION, T0 + 2 * HOUR, 10);
          const held = await ledger.progress(e.clientToken);
          await ledger.dropCheck(e.clientToken);
          await ledger.settle(e.clientToken);
          // Assess
          expect(open).toBe(0);
          expect(beforeCheck).toEqual([]);
          expect(atCheck).toEqual([e.clientToken]);
          expect(held).toMatchObject({ closedAt: T0 + 10, checkAt: T0 + 2 * HOUR, pending: 0 });
          expect((await ledger.progress(e.clientToken))?.checkAt).toBeUndefined();
          expect(await ledger.duePending(OUTBOX_PARTITION, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
        });

        it('moves an open task’s reconcile check', async () => {
          // Prepare
          const e = entry(13);
          await ledger.put(e, { checkAt: T0 + HOUR, now: T0 });
          // Act
          await ledger.deferCheck(e.clientToken, T0 + 5 * HOUR);
          // Assess
          expect(await ledger.duePending(openPartition(INSTANCE), T0 + 4 * HOUR, 10)).toEqual([]);
          expect(await ledger.duePending(openPartition(INSTANCE), T0 + 5 * HOUR, 10)).toEqual([
            e.clientToken,
          ]);
        });

        it('keeps a rejection’s outcome in an item of its own until it is published', async () => {
          // Prepare
          const key = 'outcome#o-rejected-1';
          // Act
          const first = await ledger.putEffects(key, [created(14)], T0);
          const second = await ledger.putEffects(key, [created(14)], T0 + 1);
          const due = await ledger.duePending(OUTBOX_PARTITION, T0 + OUTBOX_GRACE_MS, 10);
          const pending = await ledger.pendingEffects(key);
          await ledger.ackEffect(key, created(14), T0 + 2);
          await ledger.settle(key);
          // Assess
          expect([first, second]).toEqual([true, false]);
          expect(due).toEqual([key]);
          expect(pending).toEqual([created(14)]);
          expect(await ledger.pendingEffects(key)).toEqual([]);
          expect(await ledger.duePending(OUTBOX_PARTITION, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
        });

        it('keeps a published rejection’s item out of the index, so a later put under its key writes nothing', async () => {
          // Prepare: a rejection recorded, published and settled.
          const key = 'outcome#o-rejected-2';
          await ledger.putEffects(key, [created(16)], T0);
          await ledger.ackEffect(key, created(16), T0 + 1);
          await ledger.settle(key);
          // Act: the same event parked again records another content under the same key.
          await ledger.putEffects(key, [created(17)], T0 + 2);
          // Assess: the first recorded one won; nothing pending, nothing due.
          expect(await ledger.pendingEffects(key)).toEqual([]);
          expect(await ledger.duePending(OUTBOX_PARTITION, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
        });

        it('records a lifecycle commit’s effects in the same write', async () => {
          // Prepare
          const e = entry(15);
          await ledger.put(e, {
            checkAt: T0 + HOUR,
            now: T0,
            notify: { outcomes: ['task.updated'], data: { k: 1 } },
          });
          await ledger.claimLifecycle(e.clientToken, 0, {
            eventId: 'u-1',
            eventAt: T0,
            until: T0 + 1_000,
            holder: 'm-1',
          });
          // Act
          await ledger.commitLifecycle(
            e.clientToken,
            'u-1',
            { kind: 'update', eventAt: T0 },
            { effects: [created(15)], now: T0 },
          );
          // Assess
          expect(await ledger.pendingEffects(e.clientToken)).toEqual([created(15)]);
          expect((await ledger.lifecycle(e.clientToken))?.notify).toEqual({
            outcomes: ['task.updated'],
            data: { k: 1 },
          });
          expect(await ledger.duePending(openPartition(INSTANCE), T0 + OUTBOX_GRACE_MS, 10)).toEqual([
            e.clientToken,
          ]);
        });
      });

      describe('active-task slots', () => {
        it('takes slots up to the quota, or past it when forced, and gives them back down to zero', async () => {
          const taken = [];
          for (let i = 0; i < 3; i += 1) taken.push(await ledger.takeSlot(INSTANCE, 2, false));
          const forced = await ledger.takeSlot(INSTANCE, 2, true);
          const other = await ledger.takeSlot(OTHER_INSTANCE, 2, false);
          for (let i = 0; i < 5; i += 1) await ledger.freeSlot(INSTANCE);
          const afterFree = await ledger.takeSlot(INSTANCE, 2, false);
          await ledger.setSlots(INSTANCE, 2);
          const afterSet = await ledger.takeSlot(INSTANCE, 2, false);
          expect(taken).toEqual([
            { taken: true, used: 1 },
            { taken: true, used: 2 },
            { taken: false, used: 2 },
          ]);
          expect(forced).toEqual({ taken: true, used: 3 });
          expect(other).toEqual({ taken: true, used: 1 });
          expect(afterFree).toEqual({ taken: true, used: 1 });
          expect(afterSet).toEqual({ taken: false, used: 2 });
        });
      });

      describe('OVER_QUOTA waiters', () => {
        it('lines waiters up by their first park, and keeps a waiter’s place when it parks again', async () => {
          // Act
          await ledger.putWaiter(waiting(20, T0 + 2));
          await ledger.putWaiter(waiting(21, T0 + 1));
          await ledger.putWaiter({ ...waiting(21, T0 + 9), firstParkedAt: T0 + 9 });
          const oldest = await ledger.oldestWaiters(INSTANCE, 5, T0 + 10);
          // Assess
          expect(oldest.map((w) => [w.clientToken, w.since, w.parkedAt])).toEqual([
            [entry(21).clientToken, T0 + 1, T0 + 9],
            [entry(20).clientToken, T0 + 2, T0 + 2],
          ]);
          expect(oldest[1]?.message).toEqual(waiting(20, T0 + 2).message);
          expect(await ledger.oldestWaiters(OTHER_INSTANCE, 5, T0)).toEqual([]);
          expect(await ledger.duePending(waitPartition(INSTANCE), Number.MAX_SAFE_INTEGER, 10)).toHaveLength(
            2,
          );
        });

        it('lets one release hold a waiter until its claim expires', async () => {
          // Prepare
          await ledger.putWaiter(waiting(22, T0));
          const token = entry(22).clientToken;
          // Act
          const claims = [
            await ledger.claimWaiter(token, T0 + 100, T0),
            await ledger.claimWaiter(token, T0 + 100, T0 + 50),
          ];
          const whileHeld = await ledger.oldestWaiters(INSTANCE, 5, T0 + 50);
          const afterExpiry = await ledger.claimWaiter(token, T0 + 300, T0 + 100);
          // Assess
          expect(claims).toEqual([true, false]);
          expect(whileHeld).toEqual([]);
          expect(afterExpiry).toBe(true);
          expect(await ledger.claimWaiter(entry(23).clientToken, T0 + 100, T0)).toBe(false);
        });

        it('removes a released waiter, unless it parked again since', async () => {
          // Prepare
          await ledger.putWaiter(waiting(24, T0));
          await ledger.putWaiter(waiting(25, T0));
          await ledger.putWaiter({ ...waiting(25, T0 + 7), firstParkedAt: T0 + 7 });
          // Act
          await ledger.removeWaiter(entry(24).clientToken, T0);
          await ledger.removeWaiter(entry(25).clientToken, T0);
          // Assess
          expect(await ledger.getWaiter(entry(24).clientToken)).toBeUndefined();
          expect(await ledger.getWaiter(entry(25).clientToken)).toMatchObject({
            parkedAt: T0 + 7,
            since: T0,
          });
        });
      });
    });
  });
}
