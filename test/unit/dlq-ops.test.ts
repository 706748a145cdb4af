import { describe, expect, it } from 'vitest';
import { deleteDlqMessages, listDlq, showDlqMessage } from '#lib/redrive/dlq-ops.ts';
import { buildDlqMessage, type FailureInput } from '#lib/retry/dlq-message.ts';
import { createInMemorySqsPort } from '#test/support/memory-sqs-port.ts';

const DLQ = 'https://sqs.test/000000000000/dlq';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');

const failures: Record<string, FailureInput> = {
  quota: {
    class: 'OVER_QUOTA',
    code: 'ServiceQuotaExceededException',
    message: 'quota',
    source: 'crm',
    ruleId: 'r1',
  },
  invalid: {
    class: 'PERMANENT',
    code: 'ValidationFailed',
    message: 'Name: longer than 512',
    source: 'orders',
    ruleId: 'r2',
  },
};

function world() {
  const sqs = createInMemorySqsPort(() => T0);
  const deps = { sqs, dlqUrl: DLQ, now: () => T0 };
  const quota = sqs.put(
    DLQ,
    buildDlqMessage({
      body: '{"secret":"customer data"}',
      attributes: { source: { dataType: 'String', stringValue: 'crm' } },
      messageId: 'first-quota',
      failure: failures.quota as FailureInput,
      now: T0,
    }),
  );
  const invalid = sqs.put(
    DLQ,
    buildDlqMessage({
      body: '{"n":2}',
      attributes: {},
      messageId: 'first-invalid',
      failure: failures.invalid as FailureInput,
      now: T0,
    }),
  );
  const orphan = sqs.put(DLQ, { MessageBody: 'orphan', MessageAttributes: {} });
  return { sqs, deps, quota, invalid, orphan };
}

describe('listDlq', () => {
  it('lists every message with its record and leaves them all visible', async () => {
    const { sqs, deps, quota, orphan } = world();

    const { entries, scanned } = await listDlq(deps);

    expect(scanned).toBe(3);
    expect(entries.map((e) => e.failure?.class ?? e.problem)).toEqual([
      'OVER_QUOTA',
      'PERMANENT',
      expect.stringMatching(/no failure record/),
    ]);
    expect(entries[0]).toMatchObject({
      messageId: quota.messageId,
      attributeNames: ['source'],
      bodyBytes: 26,
    });
    expect(entries[2]?.messageId).toBe(orphan.messageId);
    expect(await sqs.approximateCount(DLQ)).toBe(3);
  });

  it('lists no message contents', async () => {
    const { deps } = world();

    const { entries } = await listDlq(deps);

    expect(JSON.stringify(entries)).not.toContain('customer data');
  });

  it('filters by class and rule', async () => {
    const { deps, invalid } = world();

    const { entries } = await listDlq(deps, { filter: { class: 'PERMANENT', ruleId: 'r2' } });

    expect(entries.map((e) => e.messageId)).toEqual([invalid.messageId]);
  });
});

describe('showDlqMessage', () => {
  it('finds a message by its first delivery id and returns the original body and attributes', async () => {
    const { sqs, deps } = world();

    const shown = await showDlqMessage(deps, 'first-quota');

    expect(shown?.body).toBe('{"secret":"customer data"}');
    expect(shown?.attributes.source?.StringValue).toBe('crm');
    expect(shown?.failure?.code).toBe('ServiceQuotaExceededException');
    expect(await sqs.approximateCount(DLQ)).toBe(3);
  });

  it('returns undefined for an id that is not in the DLQ', async () => {
    const { deps } = world();

    expect(await showDlqMessage(deps, 'nope')).toBeUndefined();
  });
});

describe('deleteDlqMessages', () => {
  it('refuses to delete without an id or a filter', async () => {
    const { deps } = world();

    await expect(deleteDlqMessages(deps, { filter: {} })).rejects.toThrow(/refusing to delete/);
  });

  it('deletes a message without a record by its id', async () => {
    const { sqs, deps, orphan } = world();

    const result = await deleteDlqMessages(deps, { filter: { messageIds: [orphan.messageId] } });

    expect(result.deleted.map((e) => e.messageId)).toEqual([orphan.messageId]);
    expect(sqs.messages(DLQ).map((m) => m.messageId)).not.toContain(orphan.messageId);
    expect(await sqs.approximateCount(DLQ)).toBe(2);
  });

  it('deletes nothing in a dry run but says what it would delete', async () => {
    const { sqs, deps, quota } = world();

    const result = await deleteDlqMessages(deps, { filter: { source: 'crm' }, dryRun: true });

    expect(result.deleted.map((e) => e.messageId)).toEqual([quota.messageId]);
    expect(sqs.messages(DLQ)).toHaveLength(3);
    expect(await sqs.approximateCount(DLQ)).toBe(3);
  });
});
