/**
 * The task lifecycle pieces that need no sandbox: the update/complete rule format, the default correlation
 * key, update validation, the replay cache hint, the fresh redrive budget and the classification of
 * the new calls' errors. The flows themselves run in test/integration/lifecycle.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import { validateContactUpdate } from '#lib/connect/validate-task.ts';
import { IngestRetryError } from '#lib/ingest/errors.ts';
import { correlatedCreateRule } from '#lib/ingest/lifecycle.ts';
import { classifyError } from '#lib/retry/classify.ts';
import { buildDlqMessage, readDlqMessage, toReplayMessage } from '#lib/retry/dlq-message.ts';
import type { FailureRecord } from '#lib/retry/failure-record.ts';
import { compileRule, validateRule } from '#lib/rules/compile.ts';
import { createRuleProvider } from '#lib/rules/provider.ts';
import type { RuleRecord } from '#lib/rules/store.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';

const create = (ruleId: string, priority: number, idempotencyKey?: string) => ({
  source: 'crm',
  ruleId,
  priority,
  instanceId: INSTANCE,
  target: { contactFlowId: 'flow' },
  mapping: { name: "'n'" },
  ...(idempotencyKey ? { idempotencyKey } : {}),
});
const update = {
  source: 'crm',
  ruleId: 'edited',
  action: 'update',
  instanceId: INSTANCE,
  mapping: { description: 'data.note', references: { file: { type: 'ATTACHMENT', value: 'data.file' } } },
};

function compiled(input: unknown) {
  const result = validateRule(input);
  if (!result.ok) throw new Error(result.errors.join('; '));
  return compileRule(result.rule);
}

describe('update and complete rules', () => {
  it('validates update and complete rules, with ATTACHMENT references allowed in an update only', () => {
    // Act
    const updateRule = validateRule(update);
    const completeRule = validateRule({
      source: 'crm',
      ruleId: 'closed',
      action: 'complete',
      instanceId: INSTANCE,
    });
    const attachmentAtCreation = validateRule({
      ...create('opened', 10),
      mapping: { name: "'n'", references: { file: { type: 'ATTACHMENT', value: 'data.file' } } },
    });

    // Assess
    expect(updateRule).toMatchObject({ ok: true, rule: { action: 'update', options: { truncate: false } } });
    expect(completeRule).toMatchObject({ ok: true, rule: { action: 'complete' } });
    expect(attachmentAtCreation.ok).toBe(false);
  });

  it('refuses an update rule that maps nothing, and names a bad correlationKey', () => {
    // Act
    const empty = validateRule({ ...update, mapping: {} });
    const bad = validateRule({ ...update, correlationKey: "'case-' &" });

    // Assess
    expect(empty).toMatchObject({ ok: false, errors: [expect.stringContaining('at least one of name')] });
    expect(bad).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^correlationKey: JSONata syntax error/)],
    });
  });

  it("takes the default correlation key from the source's first create rule of the same instance", () => {
    // Prepare
    const rules = [
      compiled(create('later', 50, "'late-' & data.id")),
      compiled(create('first', 10, "'case-' & data.id")),
      compiled({ ...create('other-instance', 1), instanceId: 'another' }),
    ];

    // Act
    const picked = correlatedCreateRule(compiled(update), rules);

    // Assess
    expect(picked?.rule.ruleId).toBe('first');
  });

  it('validates an UpdateContact request with the creation limits and truncates when told to', () => {
    // Act
    const tooLong = validateContactUpdate({ Name: 'x'.repeat(513) }, { limits: DEFAULT_TASK_LIMITS });
    const truncated = validateContactUpdate(
      { Name: 'x'.repeat(513) },
      { limits: DEFAULT_TASK_LIMITS, truncate: true },
    );
    const nothing = validateContactUpdate({}, { limits: DEFAULT_TASK_LIMITS });
    const badUrl = validateContactUpdate(
      { References: { link: { Type: 'URL', Value: 'not a url' } } },
      { limits: DEFAULT_TASK_LIMITS },
    );

    // Assess
    expect(tooLong).toMatchObject({ ok: false, issues: [{ field: 'Name', limit: 'nameMaxLength' }] });
    expect(truncated).toMatchObject({ ok: true, truncated: ['Name'] });
    expect(nothing.ok).toBe(false);
    expect(badUrl).toMatchObject({ ok: false, issues: [{ field: 'References.link' }] });
  });
});

describe('replays and the caches', () => {
  it("fetches a source's rules afresh once per replay id, and serves the cache otherwise", async () => {
    // Prepare
    let calls = 0;
    const store = {
      async list(): Promise<RuleRecord[]> {
        calls += 1;
        return [];
      },
    };
    const provider = createRuleProvider({ store, maxAgeMs: 30_000, now: () => 1_000 });

    // Act
    await provider.rulesFor('crm');
    await provider.rulesFor('crm');
    await provider.rulesFor('crm', { replayId: 'r1' });
    await provider.rulesFor('crm', { replayId: 'r1' });
    await provider.rulesFor('crm');
    await provider.rulesFor('crm', { replayId: 'r2' });

    // Assess: the first fetch, then one per new replay id.
    expect(calls).toBe(3);
  });
});

describe('the failure record on replays', () => {
  const exhausted: FailureRecord = {
    v: 1,
    class: 'EXHAUSTED',
    code: 'ServiceQuotaExceededException',
    message: 'redrive gave up',
    attempts: 20,
    redriveCount: 19,
    firstFailureAt: '2026-01-01T00:00:00.000Z',
    lastFailureAt: '2026-01-10T00:00:00.000Z',
    originalMessageId: 'm-1',
  };
  const parked = buildDlqMessage({
    body: '{}',
    attributes: {},
    messageId: 'm-2',
    previous: { ...exhausted, class: 'OVER_QUOTA' },
    failure: { class: 'EXHAUSTED', code: 'ServiceQuotaExceededException', message: 'gave up' },
    now: Date.parse('2026-01-10T00:00:00Z'),
  });

  it('stamps the replay id and, for a fresh budget, restarts attempts, redrives (this one the first) and age', () => {
    // Act
    const replay = toReplayMessage(readDlqMessage(parked), {
      redriveCount: 20,
      replayId: 'r-1',
      freshBudgetAt: '2026-02-01T00:00:00.000Z',
    });

    // Assess
    expect(readDlqMessage(replay).failure).toMatchObject({
      replayId: 'r-1',
      attempts: 0,
      redriveCount: 1,
      budgetFrom: '2026-02-01T00:00:00.000Z',
      firstFailureAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it('keeps the budget start but not the replay id when the replayed message is parked again', () => {
    // Prepare
    const replayed = readDlqMessage(
      toReplayMessage(readDlqMessage(parked), {
        redriveCount: 20,
        replayId: 'r-1',
        freshBudgetAt: '2026-02-01T00:00:00.000Z',
      }),
    ).failure as FailureRecord;

    // Act
    const again = buildDlqMessage({
      body: '{}',
      attributes: {},
      messageId: 'm-3',
      previous: replayed,
      failure: { class: 'OVER_QUOTA', code: 'ServiceQuotaExceededException', message: 'quota' },
      now: Date.parse('2026-02-01T00:01:00Z'),
    });

    // Assess
    const record = readDlqMessage(again).failure;
    expect(record).toMatchObject({ attempts: 1, budgetFrom: '2026-02-01T00:00:00.000Z' });
    expect(record).not.toHaveProperty('replayId');
  });
});

describe('classification of the lifecycle', () => {
  it('keeps the code of our own retryable conditions and classifies the new Connect errors', () => {
    // Act + Assess
    expect(classifyError(new IngestRetryError('TaskNotFound', 'not yet'))).toMatchObject({
      class: 'TRANSIENT',
      code: 'TaskNotFound',
    });
    for (const name of ['ContactNotFoundException', 'ConflictException']) {
      expect(classifyError(Object.assign(new Error('x'), { name })).class, name).toBe('PERMANENT');
    }
    expect(
      classifyError(Object.assign(new Error('x'), { name: 'Gone', $metadata: { httpStatusCode: 410 } }))
        .class,
    ).toBe('PERMANENT');
  });
});
