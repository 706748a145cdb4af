/**
 * Exactly once under failure: a crash between StartTaskContact and the SQS delete, a response that
 * Connect lost, an over-quota park and a DLQ replay (even a replay sent twice) never create a second
 * task for one event.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { runRedrive } from '#lib/redrive/redrive.ts';
import { createSqsPort } from '#lib/redrive/sqs-port.ts';
import { toReplayMessage } from '#lib/retry/dlq-message.ts';
import {
  FLOW_ID,
  type Harness,
  INSTANCE_ID,
  type IngestHandler,
  startHarness,
} from '#test/support/harness.ts';

/** The ingest queue's VisibilityTimeout in serverless.yml: how long a crashed delivery stays hidden. */
const QUEUE_VISIBILITY_SECONDS = 360;

interface Seen {
  body: string;
  status: string;
  receiveCount: number;
}

function ruleFor(source: string) {
  return {
    source,
    ruleId: `${source}-rule`,
    instanceId: INSTANCE_ID,
    target: { contactFlowId: FLOW_ID },
    mapping: { name: "'Follow up ' & data.ref", attributes: { ref: 'data.ref' } },
  };
}

function cloudEvent(source: string, id: string): string {
  return JSON.stringify({ specversion: '1.0', source, id, type: 'follow-up', data: { ref: id } });
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  // A guard against a hang, not a timing assertion.
  const deadline = performance.now() + 20_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('ingest exactly once', () => {
  let h: Harness;
  const seen: Seen[] = [];
  /** Bodies whose next invocation crashes after the handler did its work (before the poller deletes). */
  const crashAfter = new Set<string>();
  const crashed: string[] = [];

  const statuses = (body: string) => seen.filter((s) => s.body === body).map((s) => s.status);
  const tasksWith = (token: string) => h.tasks().filter((t) => t.ClientToken === token);
  const startCalls = (outcome: string) => h.sandbox.connect.callCounts().StartTaskContact?.[outcome] ?? 0;

  beforeAll(async () => {
    h = await startHarness({
      env: { START_TASK_RATE: '1000' },
      onOutcome: (record, outcome) =>
        seen.push({
          body: record.body,
          status: outcome.status,
          receiveCount: Number(record.attributes.ApproximateReceiveCount),
        }),
      wrapIngest:
        (handler: IngestHandler): IngestHandler =>
        async (event, context) => {
          const response = await handler(event, context);
          const victim = event.Records.find((r) => crashAfter.delete(r.body));
          if (victim) {
            crashed.push(victim.body);
            throw new Error('simulated crash: the function died before the poller deleted the batch');
          }
          return response;
        },
    });
    await h.putRules(['crash', 'lost', 'quota', 'replay'].map((name) => ruleFor(`com.example.${name}`)));
  });
  afterAll(async () => {
    await h.stop();
  });

  it('creates no second task when the function crashes after StartTaskContact and before the delete', async () => {
    // Prepare
    const body = cloudEvent('com.example.crash', 'crash-1');
    const token = taskClientToken(INSTANCE_ID, 'com.example.crash', 'crash-1');
    const callsBefore = startCalls('200');
    crashAfter.add(body);

    // Act: the first delivery creates the task, then the invocation dies; SQS delivers it again.
    await h.send(body);
    await waitFor(() => crashed.includes(body), 'the simulated crash');
    await h.advanceClock(QUEUE_VISIBILITY_SECONDS + 1);
    await h.idle();

    // Assess
    expect(statuses(body)).toEqual(['created', 'duplicate']);
    expect(seen.filter((s) => s.body === body).map((s) => s.receiveCount)).toEqual([1, 2]);
    expect(tasksWith(token)).toHaveLength(1);
    // The idempotency record answered the redelivery: Connect was called once.
    expect(startCalls('200') - callsBefore).toBe(1);
  });

  it('creates no second task when Connect created the task but lost the response', async () => {
    // Prepare
    const body = cloudEvent('com.example.lost', 'lost-1');
    const token = taskClientToken(INSTANCE_ID, 'com.example.lost', 'lost-1');
    const lostBefore = startCalls('LostResponse');
    await h.connectConfig({ lostResponseRate: { StartTaskContact: 1 }, lostResponseMode: 'error' });

    // Act: every response of the first delivery is lost; the retry in place finds the task by its token.
    await h.send(body);
    await waitFor(() => statuses(body).includes('retry'), 'the retry after the lost response');
    await h.connectConfig({ lostResponseRate: { StartTaskContact: 0 } });
    await h.advanceClock(2);
    await h.idle();

    // Assess
    expect(startCalls('LostResponse') - lostBefore).toBeGreaterThanOrEqual(1);
    expect(statuses(body)).toEqual(['retry', 'created']);
    expect(tasksWith(token)).toHaveLength(1);
    expect(tasksWith(token)[0]?.Name).toBe('Follow up lost-1');
  });

  it('parks a 402 over the active-task quota in the DLQ with nextAttemptAt and the ClientToken', async () => {
    // Prepare
    const body = cloudEvent('com.example.quota', 'quota-1');
    await h.connectConfig({ activeTaskQuota: 0 });

    // Act
    try {
      await h.send(body);
      await h.idle();
    } finally {
      await h.connectConfig({ activeTaskQuota: 2500 });
    }

    // Assess
    expect(statuses(body)).toEqual(['parked']);
    const entry = (await h.dlq()).find((e) => e.body === body);
    expect(entry?.failure).toMatchObject({
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
      source: 'com.example.quota',
      eventId: 'quota-1',
      clientToken: taskClientToken(INSTANCE_ID, 'com.example.quota', 'quota-1'),
      attempts: 1,
    });
    // First park: due between the base (60 s) and twice the base after the failure.
    const failedAt = Date.parse(entry?.failure?.lastFailureAt ?? '');
    const dueAt = Date.parse(entry?.failure?.nextAttemptAt ?? '');
    expect(dueAt - failedAt).toBeGreaterThanOrEqual(60_000);
    expect(dueAt - failedAt).toBeLessThanOrEqual(120_000);
    expect(h.tasks().filter((t) => t.Name === 'Follow up quota-1')).toEqual([]);
  });

  it('keeps the ClientToken of a parked message through a DLQ replay, and a second replay creates no second task', async () => {
    // Prepare: park it over quota.
    const body = cloudEvent('com.example.replay', 'replay-1');
    const token = taskClientToken(INSTANCE_ID, 'com.example.replay', 'replay-1');
    await h.connectConfig({ activeTaskQuota: 0 });
    try {
      await h.send(body);
      await h.idle();
    } finally {
      await h.connectConfig({ activeTaskQuota: 2500 });
    }
    const parked = (await h.dlq()).find((e) => e.body === body);
    if (!parked?.failure) throw new Error('expected the over-quota message in the DLQ');

    // Act: the scheduled redrive replays it once due; then the same replay arrives again (a redrive
    // that crashed between its send and its delete).
    await h.advanceClock(121);
    const summary = await runRedrive(
      {
        sqs: createSqsPort(h.clients.sqs),
        dlqUrl: h.dlqUrl,
        ingestQueueUrl: h.ingestQueueUrl,
        limits: { maxAttempts: 5, maxAgeSeconds: 86_400 },
      },
      { mode: 'scheduled', filter: { source: 'com.example.replay' } },
    );
    await h.idle();
    await h.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: h.ingestQueueUrl, ...toReplayMessage(parked, { redriveCount: 1 }) }),
    );
    await h.idle();

    // Assess
    expect(parked.failure.clientToken).toBe(token);
    expect(summary.replayed).toBe(1);
    expect(statuses(body)).toEqual(['parked', 'created', 'duplicate']);
    expect(tasksWith(token)).toHaveLength(1);
    expect((await h.dlq()).filter((e) => e.body === body)).toEqual([]);
  });
});
