/**
 * The scheduled redrive and the OVER_QUOTA copies a freed slot made redundant (lib/redrive/settled.ts):
 * a copy whose task exists, or whose event parked again since, is deleted instead of replayed; a copy
 * whose event still waits is replayed when due; an ops replay and a dry run delete nothing.
 */
import { describe, expect, it } from 'vitest';
import { INSTANCE_ID } from '#common/world.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { type RedriveDeps, runRedrive } from '#lib/redrive/redrive.ts';
import { ledgerSettledCheck } from '#lib/redrive/settled.ts';
import { buildDlqMessage, type OutgoingMessage } from '#lib/retry/dlq-message.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';
import { createInMemorySqsPort } from '#test/support/memory-sqs-port.ts';

const DLQ = 'https://sqs.test/000000000000/dlq';
const INGEST = 'https://sqs.test/000000000000/ingest';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const token = (n: number) => taskClientToken(INSTANCE_ID, 'crm', `case-${n}`);

function parkedCopy(n: number, at: number): OutgoingMessage {
  return buildDlqMessage({
    body: JSON.stringify({ n }),
    attributes: {},
    messageId: `m-${n}`,
    failure: {
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
      message: 'quota',
      source: 'crm',
      eventId: `e-${n}`,
      clientToken: token(n),
    },
    now: at,
    nextAttemptAt: new Date(at + 60_000),
  });
}

async function world() {
  const clock = { t: T0 + 120_000 };
  const sqs = createInMemorySqsPort(() => clock.t);
  const ledger = new InMemoryLedger();
  // 1: released and created since. 2: released, met the quota again, parked anew. 3: still waiting.
  for (const n of [1, 2, 3]) sqs.put(DLQ, parkedCopy(n, T0));
  await ledger.put({
    clientToken: token(1),
    contactId: 'contact-1',
    instanceId: INSTANCE_ID,
    source: 'crm',
    eventId: 'e-1',
    idempotencyKey: 'case-1',
    ruleId: 'r',
    createdAt: T0 + 10_000,
  });
  for (const [n, at] of [
    [2, T0 + 20_000],
    [3, T0],
  ] as const) {
    await ledger.putWaiter({
      clientToken: token(n),
      instanceId: INSTANCE_ID,
      lane: 'normal',
      message: parkedCopy(n, at),
      parkedAt: at,
      firstParkedAt: T0,
    });
  }
  const deps: RedriveDeps = {
    sqs,
    dlqUrl: DLQ,
    ingestQueueUrl: INGEST,
    limits: { maxAttempts: 5, maxAgeSeconds: 86_400 },
    now: () => clock.t,
    settled: ledgerSettledCheck(ledger),
  };
  return { sqs, deps };
}

const bodies = (messages: Array<{ body: string }>) => messages.map((m) => JSON.parse(m.body).n).sort();

describe('the scheduled redrive and copies a freed slot made redundant', () => {
  it('deletes the copies whose task exists or whose event parked again, and replays the one still waiting', async () => {
    // Prepare
    const { sqs, deps } = await world();
    // Act
    const summary = await runRedrive(deps, { mode: 'scheduled' });
    // Assess
    expect(summary).toMatchObject({ superseded: 2, replayed: 1 });
    expect(summary.actions.filter((a) => a.action === 'drop').map((a) => a.reason)).toEqual([
      expect.stringMatching(/its task exists/),
      expect.stringMatching(/parked again since/),
    ]);
    expect(bodies(sqs.messages(INGEST))).toEqual([3]);
    expect(sqs.messages(DLQ)).toEqual([]);
  });

  it('deletes nothing in a dry run or an ops replay', async () => {
    const dry = await world();
    const summary = await runRedrive(dry.deps, { mode: 'scheduled', dryRun: true });
    expect(summary).toMatchObject({ superseded: 2, replayed: 1 });
    expect(dry.sqs.messages(DLQ)).toHaveLength(3);
    const ops = await world();
    const replay = await runRedrive(ops.deps, { mode: 'ops-replay', filter: {} });
    expect(replay).toMatchObject({ superseded: 0, replayed: 3 });
  });
});
