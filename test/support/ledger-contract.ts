/**
 * The contract of the ledger (lib/ledger/port.ts): the same cases run against every implementation
 * (the DynamoDB adapter on dynalite, the in-memory test double), so the double cannot drift from the
 * adapter. test/integration/ledger-contract.test.ts runs it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { taskClientToken } from '#lib/idempotency/token.ts';
import type { Ledger, LedgerEntry } from '#lib/ledger/port.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const OTHER_INSTANCE = '99999999-2222-3333-4444-555555555555';
const PREVIOUS = 'c0ffee00-0000-4000-8000-000000000001';
const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);
const RETENTION_S = 30 * 86_400;

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
    });
  });
}
