/**
 * Failure routing on the sandbox: transient errors retried in place with a growing visibility, a DLQ
 * that cannot be written keeping the message on the ingest queue, and the 12-task PreviousContactId
 * chain limit handled as each rule asks.
 */
import {
  ConnectClient,
  StartTaskContactCommand,
  type StartTaskContactCommandOutput,
} from '@aws-sdk/client-connect';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FLOW_ID, INSTANCE_ID } from '#common/world.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { RecordNotDoneError } from '#lib/ingest/errors.ts';
import { sqsServiceError } from '#test/support/failures.ts';
import {
  followUpEvent,
  followUpRule,
  QUEUE_VISIBILITY_SECONDS,
  useHarness,
} from '#test/support/sandbox-fixture.ts';

const SANDBOX_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

const ruleFor = (source: string, options: Record<string, unknown> = {}) =>
  followUpRule(source, { mapping: { previousContactId: 'data.previous' }, options });
const cloudEvent = followUpEvent;

describe('ingest failure routing', () => {
  const visibilityChanges: Array<{ receiptHandle: string; seconds: number }> = [];
  const faults = { dlqDown: false };

  // The ingest function's own clients, built without an endpoint: like the deployed function they
  // reach the sandbox through AWS_ENDPOINT_URL, which startHarness sets before the first call.
  const ingestSqs = new SQSClient({ region: 'us-east-1', credentials: SANDBOX_CREDENTIALS });
  // One attempt per delivery: each failure the emulator injects reaches the handler as it is.
  const ingestConnect = new ConnectClient({
    region: 'us-east-1',
    credentials: SANDBOX_CREDENTIALS,
    maxAttempts: 1,
  });
  ingestSqs.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { QueueUrl?: string; ReceiptHandle?: string; VisibilityTimeout?: number };
      if (context.commandName === 'ChangeMessageVisibilityCommand') {
        visibilityChanges.push({
          receiptHandle: input.ReceiptHandle ?? '',
          seconds: input.VisibilityTimeout ?? -1,
        });
      }
      if (context.commandName === 'SendMessageCommand' && faults.dlqDown && input.QueueUrl === f.h.dlqUrl) {
        throw sqsServiceError('ServiceUnavailable', 503, 'the DLQ is unavailable (injected by the test)');
      }
      const result = await next(args);
      if (context.commandName === 'ChangeMessageVisibilityCommand') f.h.notify();
      return result;
    },
    { step: 'initialize', name: 'ingestSqsProbe' },
  );

  const f = useHarness(
    { env: { START_TASK_RATE: '1000' }, ingestClients: { sqs: ingestSqs, connect: ingestConnect } },
    (h) =>
      h.putRules([
        ruleFor('com.example.flaky'),
        ruleFor('com.example.chain-related', { onChainLimit: 'related' }),
        ruleFor('com.example.chain-park', { onChainLimit: 'park' }),
      ]),
  );
  afterAll(() => {
    ingestSqs.destroy();
    ingestConnect.destroy();
  });
  /** What each delivery ended as: its status, the code of a retry, its receive count and receipt handle. */
  const seen = () =>
    f.h.outcomes.map(({ record, outcome }) => ({
      body: record.body,
      status: outcome.status,
      ...(outcome.status === 'retry' && outcome.error instanceof RecordNotDoneError
        ? { code: outcome.error.code }
        : {}),
      receiveCount: Number(record.attributes.ApproximateReceiveCount),
      receiptHandle: record.receiptHandle,
    }));
  const statuses = (body: string) => f.h.statuses(body);
  const tasksWith = (token: string) => f.tasksWith(token);
  const startCalls = (outcome: string) => f.calls(outcome);

  it('retries 429 and 500 in place with a visibility that grows with the receive count, ending as one task', async () => {
    // Prepare: 429, 500, 429, then success; the backoff jitter pinned to the top of its window.
    const body = cloudEvent('com.example.flaky', 'flaky-1');
    const token = taskClientToken(INSTANCE_ID, 'com.example.flaky', 'flaky-1');
    const errors = ['ThrottlingException', 'InternalServiceException', 'ThrottlingException'];
    const injected = (name: string | undefined) => ({ StartTaskContact: name ? { [name]: 1 } : {} });
    const before = {
      throttled: startCalls('ThrottlingException'),
      failed: startCalls('InternalServiceException'),
    };
    const changesBefore = visibilityChanges.length;
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);

    // Act: after each retry is pushed out, set the next error and move the clock past the visibility.
    try {
      await f.h.connectConfig({ errorRates: injected(errors[0]) });
      await f.h.send(body);
      for (let attempt = 1; attempt <= errors.length; attempt += 1) {
        await f.h.until(() => visibilityChanges.length - changesBefore >= attempt, `retry ${attempt}`);
        await f.h.connectConfig({ errorRates: injected(errors[attempt]) });
        await f.h.advanceClock(visibilityChanges.at(-1)?.seconds ?? 0);
      }
      await f.h.idle();
    } finally {
      random.mockRestore();
      await f.h.connectConfig({ errorRates: { StartTaskContact: {} } });
    }

    // Assess: visibility 2, 4, 8 s for receives 1, 2, 3 (full jitter window [0, 2 · 2^(n-1)]).
    const retries = seen().filter((s) => s.body === body && s.status === 'retry');
    const growth = visibilityChanges.slice(changesBefore).map((change) => ({
      receiveCount: retries.find((r) => r.receiptHandle === change.receiptHandle)?.receiveCount,
      seconds: change.seconds,
    }));
    expect(growth).toEqual([
      { receiveCount: 1, seconds: 2 },
      { receiveCount: 2, seconds: 4 },
      { receiveCount: 3, seconds: 8 },
    ]);
    expect(retries.map((r) => r.code)).toEqual(errors);
    expect(startCalls('ThrottlingException') - before.throttled).toBe(2);
    expect(startCalls('InternalServiceException') - before.failed).toBe(1);
    expect(statuses(body)).toEqual(['retry', 'retry', 'retry', 'created']);
    expect(tasksWith(token)).toHaveLength(1);
    expect((await f.h.dlq()).filter((e) => e.body === body)).toEqual([]);
  });

  it('keeps a message on the ingest queue as a batch item failure while the DLQ cannot be written, and parks it once the DLQ works again', async () => {
    // Prepare: no rule for this source, so the message must be parked.
    const body = cloudEvent('com.example.unrouted', 'unrouted-1');
    faults.dlqDown = true;

    // Act
    let hiddenWhileDown: string | undefined;
    try {
      await f.h.send(body);
      await f.h.until(() => statuses(body).includes('retry'), 'the failed park');
      const attributes = await f.h.clients.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: f.h.ingestQueueUrl,
          AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      hiddenWhileDown = attributes.Attributes?.ApproximateNumberOfMessagesNotVisible;
    } finally {
      faults.dlqDown = false;
    }
    await f.h.advanceClock(QUEUE_VISIBILITY_SECONDS + 1);
    await f.h.idle();

    // Assess
    expect(
      seen()
        .filter((s) => s.body === body)
        .map((s) => [s.status, s.code]),
    ).toEqual([
      ['retry', 'DlqSendFailed'],
      ['parked', undefined],
    ]);
    expect(hiddenWhileDown).toBe('1');
    const parked = (await f.h.dlq()).filter((e) => e.body === body);
    expect(parked).toHaveLength(1);
    expect(parked[0]?.failure).toMatchObject({ class: 'PERMANENT', code: 'NoMatchingRule', attempts: 1 });
  });

  describe('with a full 12-task PreviousContactId chain', () => {
    let rootId: string;
    beforeAll(async () => {
      // Twelve linked tasks: the root and eleven tasks that name it as PreviousContactId.
      const start = (previous?: string): Promise<StartTaskContactCommandOutput> =>
        f.h.clients.connect.send(
          new StartTaskContactCommand({
            InstanceId: INSTANCE_ID,
            ContactFlowId: FLOW_ID,
            Name: 'chain link',
            ...(previous ? { PreviousContactId: previous } : {}),
          }),
        );
      rootId = (await start()).ContactId ?? '';
      for (let i = 0; i < 11; i += 1) await start(rootId);
    });

    it("falls back to RelatedContactId when the rule's onChainLimit is 'related'", async () => {
      // Prepare
      const body = cloudEvent('com.example.chain-related', 'link-13a', { previous: rootId });
      const token = taskClientToken(INSTANCE_ID, 'com.example.chain-related', 'link-13a');
      const quotaBefore = startCalls('ServiceQuotaExceededException');

      // Act
      await f.h.send(body);
      await f.h.idle();

      // Assess
      expect(statuses(body)).toEqual(['created']);
      expect(startCalls('ServiceQuotaExceededException') - quotaBefore).toBe(1);
      const [task] = tasksWith(token);
      expect(task?.RelatedContactId).toBe(rootId);
      expect(task?.PreviousContactId).toBeUndefined();
      expect(tasksWith(token)).toHaveLength(1);
    });

    it("parks the event OVER_QUOTA when the rule's onChainLimit is 'park'", async () => {
      // Prepare
      const body = cloudEvent('com.example.chain-park', 'link-13b', { previous: rootId });
      const token = taskClientToken(INSTANCE_ID, 'com.example.chain-park', 'link-13b');

      // Act
      await f.h.send(body);
      await f.h.idle();

      // Assess
      expect(statuses(body)).toEqual(['parked']);
      expect(tasksWith(token)).toEqual([]);
      const parked = (await f.h.dlq()).filter((e) => e.body === body);
      expect(parked).toHaveLength(1);
      expect(parked[0]?.failure).toMatchObject({
        class: 'OVER_QUOTA',
        code: 'ServiceQuotaExceededException',
        clientToken: token,
      });
      expect(parked[0]?.failure?.nextAttemptAt).toBeDefined();
    });
  });
});
