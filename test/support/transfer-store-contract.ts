/**
 * The contract of `TransferStore`: the same cases run against every implementation (the DynamoDB
 * adapter on dynalite, the in-memory test double), so the double cannot drift from the adapter.
 * test/integration/transfer-store-contract.test.ts runs it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { TransferCursorError } from '#lib/transfers/errors.ts';
import type { TransferItem, TransferStore } from '#lib/transfers/store/port.ts';

const CONTRACT_INSTANCE = '11111111-2222-3333-4444-555555555555';
const QUEUE = 'a0a0a0a0-0000-4000-8000-000000000002';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000002';
const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);

function plan(contactId: string, planId: string, dueAt: number): TransferItem {
  return {
    contactId,
    planId,
    instanceId: CONTRACT_INSTANCE,
    status: 'PENDING',
    dueAt,
    queueId: QUEUE,
    contactFlowId: FLOW,
    attempts: 0,
    createdAt: T0 - 60_000,
    updatedAt: T0 - 60_000,
    expiresAt: Math.ceil(T0 / 1000) + 86_400,
  };
}

/** Defines the contract's cases for the store `fresh()` makes (an empty one per case). */
export function transferStoreContract(name: string, fresh: () => Promise<TransferStore>): void {
  describe(`TransferStore contract: ${name}`, () => {
    let store: TransferStore;

    beforeEach(async () => {
      store = await fresh();
    });

    describe('schedule and claim', () => {
      it('writes a plan once; a redelivery writes nothing and keeps the first', async () => {
        // Prepare
        const first = plan('c-1', 'p', T0);
        // Act
        const outcomes = [await store.schedule(first), await store.schedule({ ...first, dueAt: T0 + 999 })];
        // Assess
        expect(outcomes).toEqual(['created', 'exists']);
        expect(await store.get('c-1', 'p')).toEqual(first);
      });

      it('lets exactly one of two owners claim a due plan, and nobody claim one not yet due', async () => {
        // Prepare
        await store.schedule(plan('c-1', 'due', T0));
        await store.schedule(plan('c-1', 'later', T0 + 1));
        // Act
        const claims = await Promise.all([
          store.claim({ contactId: 'c-1', planId: 'due' }, 'a', 1_000, T0),
          store.claim({ contactId: 'c-1', planId: 'due' }, 'b', 1_000, T0),
        ]);
        const early = await store.claim({ contactId: 'c-1', planId: 'later' }, 'a', 1_000, T0);
        // Assess
        expect(claims.filter(Boolean)).toHaveLength(1);
        expect(early).toBe(false);
        expect(await store.get('c-1', 'due')).toMatchObject({ status: 'CLAIMED', leaseUntil: T0 + 1_000 });
      });

      it('hands a claimed plan to another owner only after the lease expires, and only the owner records outcomes', async () => {
        // Prepare
        const key = { contactId: 'c-1', planId: 'p' };
        await store.schedule(plan('c-1', 'p', T0));
        await store.claim(key, 'crashed', 1_000, T0);
        // Act
        const duringLease = await store.claim(key, 'b', 1_000, T0 + 999);
        const afterLease = await store.claim(key, 'b', 1_000, T0 + 1_000);
        const staleFail = await store.fail(key, 'crashed', 'late', T0 + 1_001);
        const done = await store.complete(key, 'b', { ContactId: 'c-1', ContactArn: 'arn:c-1' }, T0 + 1_002);
        // Assess
        expect([duringLease, afterLease, staleFail, done]).toEqual([false, true, false, true]);
        const stored = await store.get('c-1', 'p');
        expect(stored).toMatchObject({ status: 'DONE', result: { ContactId: 'c-1', ContactArn: 'arn:c-1' } });
        expect(stored?.leaseOwner).toBeUndefined();
        expect(await store.countTransfers('c-1')).toBe(1);
      });

      it('reschedules back to PENDING with the new due time and one more attempt', async () => {
        // Prepare
        const key = { contactId: 'c-1', planId: 'p' };
        await store.schedule(plan('c-1', 'p', T0));
        await store.claim(key, 'a', 1_000, T0);
        // Act
        const ok = await store.reschedule(
          key,
          'a',
          T0 + 5_000,
          'ThrottlingException: Rate exceeded',
          T0 + 10,
        );
        // Assess
        expect(ok).toBe(true);
        expect(await store.get('c-1', 'p')).toMatchObject({
          status: 'PENDING',
          dueAt: T0 + 5_000,
          attempts: 1,
          reason: 'ThrottlingException: Rate exceeded',
        });
        expect(await store.claim(key, 'a', 1_000, T0 + 4_999)).toBe(false);
      });
    });

    describe('queryDue', () => {
      it('pages through due PENDING plans, then claimed plans whose lease expired, never the rest', async () => {
        // Prepare
        for (let i = 0; i < 7; i += 1) await store.schedule(plan(`c-${i}`, 'p', T0 - 100 + i));
        await store.schedule(plan('c-future', 'p', T0 + 1));
        await store.claim({ contactId: 'c-0', planId: 'p' }, 'crashed', 50, T0 - 100);
        await store.claim({ contactId: 'c-1', planId: 'p' }, 'alive', 60_000, T0);
        // Act
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.queryDue(T0, 3, cursor);
          seen.push(...page.items.map((item) => item.contactId));
          cursor = page.cursor;
          pages += 1;
        } while (cursor !== undefined && pages < 10);
        // Assess
        expect(seen).toEqual(['c-2', 'c-3', 'c-4', 'c-5', 'c-6', 'c-0']);
      });

      it('continues after the last item of a page even when that item was claimed meanwhile', async () => {
        // Prepare
        for (let i = 0; i < 5; i += 1) await store.schedule(plan(`c-${i}`, 'p', T0 - 100 + i));
        const first = await store.queryDue(T0, 2);
        for (const item of first.items) await store.claim(item, 'sweep', 60_000, T0);
        // Act
        const second = await store.queryDue(T0, 2, first.cursor);
        // Assess
        expect(first.items.map((item) => item.contactId)).toEqual(['c-0', 'c-1']);
        expect(second.items.map((item) => item.contactId)).toEqual(['c-2', 'c-3']);
      });

      it('refuses a cursor it did not produce', async () => {
        // Act / Assess
        await expect(store.queryDue(T0, 5, 'not-a-cursor')).rejects.toBeInstanceOf(TransferCursorError);
        await expect(store.list({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(TransferCursorError);
      });
    });

    describe('transfer slots and cancel', () => {
      it('gives at most 11 slots per contact, counts a retried plan once, and frees released slots', async () => {
        // Prepare
        for (let i = 0; i < 11; i += 1)
          expect(await store.reserveTransferSlot('c-1', `p${i}`, 11, T0)).toBe(true);
        // Act
        const twelfth = await store.reserveTransferSlot('c-1', 'p11', 11, T0);
        const retried = await store.reserveTransferSlot('c-1', 'p3', 11, T0);
        await store.releaseTransferSlot('c-1', 'p0', T0);
        const afterRelease = await store.reserveTransferSlot('c-1', 'p11', 11, T0);
        // Assess
        expect([twelfth, retried, afterRelease]).toEqual([false, true, true]);
        expect(await store.countTransfers('c-1')).toBe(11);
      });

      it('cancels a pending plan, refuses a finished one, and says when there is none', async () => {
        // Prepare
        await store.schedule(plan('c-1', 'pending', T0));
        await store.schedule(plan('c-1', 'done', T0));
        await store.claim({ contactId: 'c-1', planId: 'done' }, 'a', 1_000, T0);
        await store.complete(
          { contactId: 'c-1', planId: 'done' },
          'a',
          { ContactId: 'c-1', ContactArn: 'arn' },
          T0,
        );
        // Act
        const outcomes = [
          await store.cancel('c-1', 'pending', T0),
          await store.cancel('c-1', 'done', T0),
          await store.cancel('c-1', 'missing', T0),
        ];
        // Assess
        expect(outcomes).toEqual(['cancelled', 'not-cancellable', 'not-found']);
        expect((await store.get('c-1', 'pending'))?.status).toBe('CANCELLED');
        expect(await store.claim({ contactId: 'c-1', planId: 'pending' }, 'a', 1_000, T0)).toBe(false);
      });
    });

    describe('list', () => {
      it('lists by contact, by status and all, in pages, never showing the counter item', async () => {
        // Prepare
        for (let i = 0; i < 5; i += 1) await store.schedule(plan('c-1', `p${i}`, T0 + i));
        await store.schedule(plan('c-2', 'p0', T0));
        await store.reserveTransferSlot('c-1', 'p0', 11, T0);
        await store.claim({ contactId: 'c-1', planId: 'p0' }, 'a', 1_000, T0);
        // Act
        const byContact = await store.list({ contactId: 'c-1' });
        const claimed = await store.list({ status: 'CLAIMED' });
        const pendingOfC1 = await store.list({ contactId: 'c-1', status: 'PENDING' });
        const all: TransferItem[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.list({ limit: 2, ...(cursor ? { cursor } : {}) });
          all.push(...page.items);
          cursor = page.cursor;
        } while (cursor !== undefined);
        // Assess
        expect(byContact.items.map((i) => i.planId)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
        expect(claimed.items.map((i) => `${i.contactId}/${i.planId}`)).toEqual(['c-1/p0']);
        expect(pendingOfC1.items).toHaveLength(4);
        expect(all).toHaveLength(6);
      });
    });

    describe('records', () => {
      it('refuses the reserved counter plan id, and never answers it as a plan', async () => {
        // Act / Assess
        await expect(store.schedule(plan('c-1', '#count', T0))).rejects.toThrow(/reserved/);
        await store.reserveTransferSlot('c-1', 'p', 11, T0);
        expect(await store.get('c-1', '#count')).toBeUndefined();
        expect(await store.cancel('c-1', '#count', T0)).toBe('not-found');
      });

      it('fails a claimed plan with its reason and releases nothing by itself', async () => {
        // Prepare
        const key = { contactId: 'c-1', planId: 'p' };
        await store.schedule(plan('c-1', 'p', T0));
        await store.reserveTransferSlot('c-1', 'p', 11, T0);
        await store.claim(key, 'a', 1_000, T0);
        // Act
        const failed = await store.fail(key, 'a', 'ContactEnded: gone', T0 + 1);
        // Assess
        expect(failed).toBe(true);
        const stored = await store.get('c-1', 'p');
        expect(stored).toMatchObject({ status: 'FAILED', reason: 'ContactEnded: gone', updatedAt: T0 + 1 });
        expect(stored?.leaseOwner).toBeUndefined();
        expect(stored?.leaseUntil).toBeUndefined();
        expect(await store.countTransfers('c-1')).toBe(1);
      });
    });
  });
}
