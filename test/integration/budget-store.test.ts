/**
 * The BudgetStore contract, run against the DynamoDB adapter on the sandbox (real SDK client,
 * dynalite) and against the in-memory double the unit tests use, so the two cannot drift; then
 * instances sharing the real table.
 */
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryBudgetStore } from '#common/memory-budget-store.ts';
import { createBudget } from '#lib/budget/budget.ts';
import { type BudgetStore, type ClaimInput, DynamoBudgetStore } from '#lib/budget/store.ts';
import { type Sandbox, startSandbox } from '#sandbox/index.ts';

let sandbox: Sandbox;
let table: string;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  table = sandbox.environment.BUDGET_TABLE as string;
});

afterAll(async () => {
  await sandbox?.stop();
});

const NOW = 1_800_000_000_000;
const claim = (over: Partial<ClaimInput>): ClaimInput => ({
  lane: 'normal',
  now: NOW,
  intervalMs: 500,
  ceiling: 2,
  mode: 'idle',
  latest: NOW + 1_000,
  higher: ['urgent'],
  floorDue: NOW - 5_000,
  ...over,
});

const stores: Array<[string, () => BudgetStore]> = [
  [
    'DynamoBudgetStore',
    () =>
      new DynamoBudgetStore({ client: sandbox.clients.dynamodb, tableName: table, operation: 'Contract' }),
  ],
  ['memory double', () => createMemoryBudgetStore()],
];

describe.each(stores)('BudgetStore contract: %s', (_name, make) => {
  let store: BudgetStore;
  beforeEach(async () => {
    await sandbox.clients.dynamodb.send(
      new DeleteItemCommand({ TableName: table, Key: marshall({ id: 'Contract' }) }),
    );
    store = make();
  });

  it('books a free schedule at once and moves the next slot one interval on', async () => {
    const result = await store.claim(claim({}));
    expect(result).toMatchObject({ granted: true, slot: NOW });
    expect(await store.read()).toMatchObject({ tat: NOW + 500, ceiling: 2, floorAt: { normal: NOW } });
  });

  it('books ahead at the next free slot, reading the slot before the update', async () => {
    await store.claim(claim({}));
    const result = await store.claim(claim({ mode: 'ahead', now: NOW + 100 }));
    expect(result).toMatchObject({ granted: true, slot: NOW + 500 });
    expect(await store.read()).toMatchObject({
      tat: NOW + 1_000,
      demandUntil: { normal: NOW + 750 },
      floorAt: { normal: NOW + 500 },
    });
  });

  it('refuses an idle claim when the schedule is booked, and a claim past the horizon', async () => {
    await store.claim(claim({}));
    await store.claim(claim({ mode: 'ahead', now: NOW + 1 }));
    expect(await store.claim(claim({ now: NOW + 2 }))).toEqual({ granted: false });
    expect(await store.claim(claim({ mode: 'ahead', now: NOW + 2, latest: NOW + 900 }))).toEqual({
      granted: false,
    });
  });

  it('refuses to book a lower lane ahead of a held urgent slot unless its floor is due', async () => {
    await store.claim(claim({ lane: 'urgent', higher: [] }));
    const blocked = claim({ lane: 'bulk', mode: 'ahead', now: NOW + 10, higher: ['urgent', 'normal'] });
    expect(await store.claim({ ...blocked, floorDue: NOW - 5_000 })).toEqual({
      granted: true,
      slot: NOW + 500,
      item: expect.anything(),
    });
    expect(
      await store.claim({ ...blocked, now: NOW + 20, latest: NOW + 2_000, floorDue: NOW - 5_000 }),
    ).toEqual({ granted: false });
  });

  it('records one decrease per cool-down and pauses the schedule', async () => {
    await store.claim(claim({}));
    const first = await store.throttled({
      now: NOW + 10,
      wmax: 0.9,
      since: NOW + 10 - 2_000,
      resumeAt: NOW + 1_010,
    });
    expect(first).toMatchObject({ wmax: 0.9, throttleAt: NOW + 10, tat: NOW + 1_010 });
    expect(
      await store.throttled({ now: NOW + 20, wmax: 0.5, since: NOW + 20 - 2_000, resumeAt: NOW + 1_020 }),
    ).toBeUndefined();
    const later = await store.throttled({
      now: NOW + 3_000,
      wmax: 0.6,
      since: NOW + 1_000,
      resumeAt: NOW + 500,
    });
    expect(later).toMatchObject({ wmax: 0.6, throttleAt: NOW + 3_000, tat: NOW + 1_010 });
  });
});

describe('instances sharing the budget table', () => {
  it('never book two slots closer than one interval, whatever the instances', async () => {
    // Prepare: four instances at a 20/s ceiling, each with five callers.
    await sandbox.clients.dynamodb.send(
      new DeleteItemCommand({ TableName: table, Key: marshall({ id: 'Shared' }) }),
    );
    const slots: number[] = [];
    const budgets = Array.from({ length: 4 }, () =>
      createBudget({
        store: new DynamoBudgetStore({
          client: sandbox.clients.dynamodb,
          tableName: table,
          operation: 'Shared',
        }),
        ceiling: 20,
        instances: 4,
        onGrant: (g) => {
          expect(g.shared).toBe(true);
          slots.push(g.slot);
        },
      }),
    );
    // Act: 60 calls.
    await Promise.all(budgets.flatMap((b) => Array.from({ length: 15 }, () => b.acquire())));
    // Assess
    const sorted = [...slots].sort((a, b) => a - b);
    expect(sorted).toHaveLength(60);
    const interval = 1000 / (20 * 0.99);
    // Epoch milliseconds keep about 0.001 ms of fraction as DynamoDB numbers.
    const gaps = sorted.slice(1).map((t, i) => t - (sorted[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(interval - 0.01);
  });

  it('keeps granting at the local rate when the table is unreachable', async () => {
    const fallbacks: unknown[] = [];
    const budget = createBudget({
      store: new DynamoBudgetStore({
        client: sandbox.clients.dynamodb,
        tableName: 'no-such-table',
        operation: 'Gone',
      }),
      ceiling: 20,
      instances: 2,
      onFallback: (e) => fallbacks.push(e),
    });
    await Promise.all(Array.from({ length: 5 }, () => budget.acquire()));
    expect(fallbacks).toHaveLength(1);
    expect((fallbacks[0] as Error).name).toBe('BudgetStoreError');
    expect(budget.snapshot()).toMatchObject({ calls: 5, fallback: true });
  });
});
