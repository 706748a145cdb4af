/**
 * A message the scheduled redrive gives up on (EXHAUSTED) is announced to its publisher when its rules
 * ask (lib/redrive/rejections.ts): a task.rejected outcome in the ledger's outbox, naming the class,
 * code, reason and the DLQ message id of the EXHAUSTED copy; the contact events sweep publishes it.
 */
import { describe, expect, it } from 'vitest';
import { OUTBOX_PARTITION } from '#lib/ledger/codec.ts';
import { type RedriveDeps, runRedrive } from '#lib/redrive/redrive.ts';
import { outboxRejections } from '#lib/redrive/rejections.ts';
import { buildDlqMessage } from '#lib/retry/dlq-message.ts';
import type { RuleRecord } from '#lib/rules/store.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';
import { createInMemorySqsPort } from '#test/support/memory-sqs-port.ts';

const DLQ = 'https://sqs.test/000000000000/dlq';
const INGEST = 'https://sqs.test/000000000000/ingest';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');

const rule = (ruleId: string, document: Record<string, unknown>): RuleRecord => ({
  source: 'crm',
  ruleId,
  version: 1,
  updatedAt: '2025-03-01T00:00:00Z',
  document: { source: 'crm', ruleId, ...document },
});

async function giveUp(rules: RuleRecord[]) {
  const sqs = createInMemorySqsPort(() => T0);
  const ledger = new InMemoryLedger();
  sqs.put(
    DLQ,
    buildDlqMessage({
      body: '{"n":1}',
      attributes: {},
      messageId: 'm-1',
      failure: {
        class: 'OVER_QUOTA',
        code: 'ServiceQuotaExceededException',
        message: 'quota',
        source: 'crm',
        ruleId: 'opened',
        eventId: 'e-1',
      },
      // Older than REDRIVE_MAX_AGE_SECONDS: given up on.
      now: T0 - 10 * 86_400_000,
    }),
  );
  const deps: RedriveDeps = {
    sqs,
    dlqUrl: DLQ,
    ingestQueueUrl: INGEST,
    limits: { maxAttempts: 5, maxAgeSeconds: 86_400 },
    now: () => T0,
    rejections: outboxRejections({ rulesOf: async () => rules, outbox: ledger, now: () => T0 }),
  };
  const summary = await runRedrive(deps, { mode: 'scheduled' });
  const keys = await ledger.duePending(OUTBOX_PARTITION, Number.MAX_SAFE_INTEGER, 5);
  const effects = keys.length === 1 ? await ledger.pendingEffects(keys[0] as string) : [];
  return { summary, effects, dlq: sqs.messages(DLQ) };
}

describe('the redrive announces what it gives up on', () => {
  it('records task.rejected with the EXHAUSTED copy’s DLQ message id when the rule asks', async () => {
    // Act
    const { summary, effects, dlq } = await giveUp([rule('opened', { notify: {} })]);
    // Assess
    expect(summary).toMatchObject({ exhausted: 1, problems: [] });
    expect(effects).toHaveLength(1);
    const [effect] = effects;
    expect(effect?.kind === 'publish' && effect.outcome).toMatchObject({
      type: 'task.rejected',
      subject: 'crm/e-1',
      data: {
        ruleId: 'opened',
        failure: {
          class: 'EXHAUSTED',
          code: 'ServiceQuotaExceededException',
          dlqMessageId: dlq[0]?.messageId,
        },
      },
    });
  });

  it("uses its source's rule that asks for rejections when its own asks none, and records nothing when none asks", async () => {
    const sourceLevel = await giveUp([
      rule('opened', {}),
      rule('any', { notify: { outcomes: ['task.rejected'] } }),
    ]);
    expect(sourceLevel.effects).toHaveLength(1);
    const silent = await giveUp([
      rule('opened', {}),
      rule('other', { notify: { outcomes: ['task.created'] } }),
    ]);
    expect(silent.summary.exhausted).toBe(1);
    expect(silent.effects).toEqual([]);
  });
});
