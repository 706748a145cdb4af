import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compileRule } from '#lib/rules/compile.ts';
import { createRuleProvider, type InvalidRuleReport } from '#lib/rules/provider.ts';
import type { RuleRecord, RuleStore } from '#lib/rules/store.ts';

vi.mock('#lib/rules/compile.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('#lib/rules/compile.ts')>();
  return { ...actual, compileRule: vi.fn(actual.compileRule) };
});

const SOURCE = 'com.example.crm';

function record(ruleId: string, document: Record<string, unknown> = {}): RuleRecord {
  return {
    source: SOURCE,
    ruleId,
    version: 1,
    updatedAt: '2024-05-01T10:00:00.000Z',
    document: {
      source: SOURCE,
      ruleId,
      instanceId: '11111111-2222-3333-4444-555555555555',
      target: { contactFlowId: 'f1a2b3c4-0000-4000-8000-000000000001' },
      mapping: { name: 'data.subject' },
      ...document,
    },
  };
}

/** An in-memory store port whose list() can be held open to observe concurrent callers. */
function fakeStore(records: RuleRecord[]) {
  const store = {
    records,
    calls: 0,
    hold: undefined as Promise<void> | undefined,
    failNext: undefined as Error | undefined,
    async list(source?: string): Promise<RuleRecord[]> {
      store.calls += 1;
      if (store.hold !== undefined) await store.hold;
      if (store.failNext !== undefined) {
        const error = store.failNext;
        store.failNext = undefined;
        throw error;
      }
      return store.records.filter((r) => source === undefined || r.source === source);
    },
  } satisfies Pick<RuleStore, 'list'> & Record<string, unknown>;
  return store;
}

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('createRuleProvider', () => {
  let clock: number;
  const now = () => clock;

  beforeEach(() => {
    clock = 1_000_000;
    vi.mocked(compileRule).mockClear();
  });
  afterEach(() => vi.restoreAllMocks());

  it('serves a source from the cache until the max age has passed, then fetches again', async () => {
    // Prepare
    const store = fakeStore([record('r1')]);
    const provider = createRuleProvider({ store, maxAgeMs: 30_000, now });

    // Act
    const first = await provider.rulesFor(SOURCE);
    clock += 29_999;
    const cached = await provider.rulesFor(SOURCE);
    clock += 1;
    const refreshed = await provider.rulesFor(SOURCE);

    // Assess
    expect(store.calls).toBe(2);
    expect(cached).toBe(first);
    expect(refreshed).not.toBe(first);
    expect(refreshed.map((c) => c.rule.ruleId)).toEqual(['r1']);
  });

  it('compiles each rule once per refresh, not once per call', async () => {
    // Prepare
    const store = fakeStore([record('r1'), record('r2')]);
    const provider = createRuleProvider({ store, maxAgeMs: 30_000, now });

    // Act
    for (let i = 0; i < 5; i += 1) await provider.rulesFor(SOURCE);
    const afterFirstRefresh = vi.mocked(compileRule).mock.calls.length;
    clock += 30_000;
    await provider.rulesFor(SOURCE);

    // Assess
    expect(afterFirstRefresh).toBe(2);
    expect(vi.mocked(compileRule).mock.calls.length).toBe(4);
  });

  it('lets concurrent misses for the same source share one fetch', async () => {
    // Prepare
    const store = fakeStore([record('r1')]);
    const gate = deferred();
    store.hold = gate.promise;
    const provider = createRuleProvider({ store, maxAgeMs: 30_000, now });

    // Act
    const calls = [provider.rulesFor(SOURCE), provider.rulesFor(SOURCE), provider.rulesFor(SOURCE)];
    gate.resolve();
    const results = await Promise.all(calls);

    // Assess
    expect(store.calls).toBe(1);
    expect(results[1]).toBe(results[0]);
    expect(results[2]).toBe(results[0]);
  });

  it('keeps sources apart: each has its own entry', async () => {
    // Prepare
    const other = { ...record('o1'), source: 'com.example.orders' };
    other.document = { ...other.document, source: 'com.example.orders' };
    const store = fakeStore([record('r1'), other]);
    const provider = createRuleProvider({ store, maxAgeMs: 30_000, now });

    // Act
    const crm = await provider.rulesFor(SOURCE);
    const orders = await provider.rulesFor('com.example.orders');

    // Assess
    expect(crm.map((c) => c.rule.ruleId)).toEqual(['r1']);
    expect(orders.map((c) => c.rule.ruleId)).toEqual(['o1']);
    expect(store.calls).toBe(2);
  });

  it('skips a stored rule that no longer validates and reports it, keeping the others', async () => {
    // Prepare
    const store = fakeStore([record('good'), record('broken', { mapping: { name: '"unterminated' } })]);
    const reports: InvalidRuleReport[] = [];
    const provider = createRuleProvider({
      store,
      maxAgeMs: 30_000,
      now,
      onInvalidRule: (r) => reports.push(r),
    });

    // Act
    const rules = await provider.rulesFor(SOURCE);
    await provider.rulesFor(SOURCE);

    // Assess
    expect(rules.map((c) => c.rule.ruleId)).toEqual(['good']);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ source: SOURCE, ruleId: 'broken', version: 1 });
    expect(reports[0]?.errors[0]).toMatch(/^mapping\.name: JSONata syntax error/);
  });

  it('reports a document whose source/ruleId disagree with its item key', async () => {
    // Prepare
    const mismatched = record('key-id', { ruleId: 'document-id' });
    const reports: InvalidRuleReport[] = [];
    const provider = createRuleProvider({
      store: fakeStore([mismatched]),
      maxAgeMs: 30_000,
      now,
      onInvalidRule: (r) => reports.push(r),
    });

    // Act
    const rules = await provider.rulesFor(SOURCE);

    // Assess
    expect(rules).toEqual([]);
    expect(reports[0]?.ruleId).toBe('key-id');
  });

  it('does not cache a failed fetch: every sharer sees the error and the next call fetches again', async () => {
    // Prepare
    const store = fakeStore([record('r1')]);
    store.failNext = new Error('DynamoDB unavailable');
    const provider = createRuleProvider({ store, maxAgeMs: 30_000, now });

    // Act
    const failures = await Promise.allSettled([provider.rulesFor(SOURCE), provider.rulesFor(SOURCE)]);
    const retried = await provider.rulesFor(SOURCE);

    // Assess
    expect(failures.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    expect(store.calls).toBe(2);
    expect(retried.map((c) => c.rule.ruleId)).toEqual(['r1']);
  });

  it('fetches again after invalidate(), and a fetch in flight during invalidate is not cached', async () => {
    // Prepare
    const store = fakeStore([record('r1')]);
    const gate = deferred();
    store.hold = gate.promise;
    const provider = createRuleProvider({ store, maxAgeMs: 30_000, now });

    // Act
    const inFlight = provider.rulesFor(SOURCE);
    provider.invalidate();
    gate.resolve();
    await inFlight;
    store.hold = undefined;
    store.records = [record('r1'), record('r2')];
    const after = await provider.rulesFor(SOURCE);

    // Assess
    expect(store.calls).toBe(2);
    expect(after.map((c) => c.rule.ruleId)).toEqual(['r1', 'r2']);
  });

  it("evaluates $millis() in a rule's expressions on the provider's clock", async () => {
    // Prepare: the provider's clock, far from the wall clock (the sandbox's may be days ahead).
    const store = fakeStore([record('r1', { mapping: { name: '$string($millis())' } })]);
    const provider = createRuleProvider({ store, maxAgeMs: 30_000, now });
    const [compiled] = await provider.rulesFor(SOURCE);
    clock += 5_000;

    // Act
    const name = await compiled?.mapping?.name.evaluate({
      source: SOURCE,
      id: 'evt-1',
      type: 'case.opened',
      time: '',
      data: {},
      attributes: {},
      kind: 'cloudevents',
    });

    // Assess
    expect(name).toBe('1005000');
  });
});
