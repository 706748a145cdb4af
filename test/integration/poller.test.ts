import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type EventSourcePoller,
  type EventSourcePollerOptions,
  HandlerTimeoutError,
  InvalidBatchResponseError,
  type InvocationInfo,
  startEventSourcePoller,
} from '#sandbox/poller.ts';
import { serveHandler } from '#sandbox/serve.ts';
import { createSqsEmulator, type SqsEmulator } from '#sandbox/sqs/emulator.ts';

// The emulator's business clock, moved forward to let visibility timeouts expire without waiting.
let clockOffsetMs = 0;
let emulator: SqsEmulator;
let server: Awaited<ReturnType<typeof serveHandler>>;
let sqs: SQSClient;
const pollers: EventSourcePoller[] = [];

beforeAll(async () => {
  emulator = createSqsEmulator({ now: () => Date.now() + clockOffsetMs });
  server = await serveHandler(emulator.handle);
  sqs = new SQSClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
  clockOffsetMs = 0;
});

afterAll(async () => {
  sqs.destroy();
  await server.close();
});

interface Queue {
  name: string;
  url: string;
  arn: string;
}

function createQueue(attributes: Record<string, string> = {}): Queue {
  const name = `poller-${randomUUID()}`;
  const ref = emulator.createQueue(name, { VisibilityTimeout: '30', ...attributes });
  return { name, url: ref.url(server.endpoint), arn: ref.arn };
}

function queueCounts(queue: Queue) {
  const stats = emulator.stats().find((s) => s.name === queue.name);
  if (!stats) throw new Error(`queue ${queue.name} is gone`);
  return { visible: stats.visible, notVisible: stats.notVisible, delayed: stats.delayed };
}

async function sendBodies(queue: Queue, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: `m${i + j}`, MessageBody: body })),
      }),
    );
  }
}

type Handler = EventSourcePollerOptions['handler'];

/** A promise the test settles itself. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function start(queue: Queue, handler: Handler, overrides: Partial<EventSourcePollerOptions> = {}) {
  const invocations: InvocationInfo[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const poller = startEventSourcePoller({
    sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    functionName: 'ingest',
    handler,
    batchSize: 10,
    maximumBatchingWindowSeconds: 0,
    maximumConcurrency: 1,
    functionTimeoutSeconds: 10,
    reportBatchItemFailures: true,
    ...overrides,
    onInvocation: (info) => {
      invocations.push(info);
      for (const waiter of waiters.filter((w) => invocations.length >= w.count)) waiter.resolve();
    },
  });
  pollers.push(poller);
  /** Resolves once `count` invocations have completed (deletes included). */
  const invoked = (count: number) =>
    new Promise<void>((resolve) => {
      if (invocations.length >= count) resolve();
      else waiters.push({ count, resolve });
    });
  return { poller, invocations, invoked };
}

describe('SQS event-source poller against the SQS emulator', () => {
  it("delivers records in Lambda's shape and deletes the whole batch when the handler returns nothing", async () => {
    // Prepare
    const queue = createQueue();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: '{"hello":"world"}',
        MessageAttributes: {
          source: { DataType: 'String', StringValue: 'crm' },
          priority: { DataType: 'Number', StringValue: '5' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2, 250]) },
        },
      }),
    );
    const events: SQSEvent[] = [];
    const contexts: Context[] = [];

    // Act
    const { poller } = start(queue, async (event, context) => {
      events.push(event);
      contexts.push(context);
    });
    await poller.idle({ timeoutMs: 10_000 });

    // Assess
    expect(events).toHaveLength(1);
    const record = events[0]?.Records[0] as SQSRecord;
    expect(record).toMatchObject({
      body: '{"hello":"world"}',
      md5OfBody: 'fbc24bcc7a1794758fc1327fcfebdaf6',
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'us-east-1',
    });
    expect(record.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record.receiptHandle).not.toBe('');
    expect(record.attributes.ApproximateReceiveCount).toBe('1');
    expect(record.attributes.SenderId).toBe('test');
    expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(Number(record.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(record.attributes.SentTimestamp),
    );
    expect(record.messageAttributes).toEqual({
      source: { stringValue: 'crm', stringListValues: [], binaryListValues: [], dataType: 'String' },
      priority: { stringValue: '5', stringListValues: [], binaryListValues: [], dataType: 'Number' },
      blob: { binaryValue: 'AAEC+g==', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
    });
    expect(record.md5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(contexts[0]?.functionName).toBe('ingest');
    expect(queueCounts(queue)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
    expect(poller.stats()).toMatchObject({
      invocations: 1,
      recordsReceived: 1,
      recordsDeleted: 1,
      recordsFailed: 0,
    });
  });

  it('gives the handler a context whose remaining time counts down from the function timeout', async () => {
    // Prepare
    const queue = createQueue();
    await sendBodies(queue, ['a']);
    const remaining: number[] = [];
    let monotonicMs = 1_000;

    // Act: the handler "works" 20 ms on the poller's injected monotonic clock
    const { invoked } = start(
      queue,
      async (_event, context) => {
        remaining.push(context.getRemainingTimeInMillis());
        monotonicMs += 20;
        remaining.push(context.getRemainingTimeInMillis());
      },
      { functionTimeoutSeconds: 7, monotonicNow: () => monotonicMs },
    );
    await invoked(1);

    // Assess
    expect(remaining[0]).toBeLessThanOrEqual(7_000);
    expect(remaining[0]).toBeGreaterThan(6_000);
    expect(remaining[1]).toBeLessThan(remaining[0] as number);
    expect(remaining).toEqual([7_000, 6_980]);
  });

  it('deletes only the successes when the handler reports batch item failures', async () => {
    // Prepare
    const queue = createQueue();
    await sendBodies(queue, ['ok-1', 'fail', 'ok-2']);

    // Act
    const { poller, invocations, invoked } = start(queue, async (event) => ({
      batchItemFailures: event.Records.filter((r) => r.body === 'fail').map((r) => ({
        itemIdentifier: r.messageId,
      })),
    }));
    await invoked(1);

    // Assess
    expect(invocations[0]).toMatchObject({ records: 3, failures: 1 });
    expect(invocations[0]?.error).toBeUndefined();
    expect(queueCounts(queue)).toEqual({ visible: 0, notVisible: 1, delayed: 0 });
    expect(poller.stats()).toMatchObject({ recordsDeleted: 2, recordsFailed: 1 });
  });

  it('keeps every record when the handler throws, and they come back after the visibility timeout', async () => {
    // Prepare
    const queue = createQueue();
    await sendBodies(queue, ['a', 'b']);
    const receiveCounts: string[][] = [];
    let calls = 0;

    // Act
    const { poller, invocations, invoked } = start(queue, async (event) => {
      receiveCounts.push(event.Records.map((r) => r.attributes.ApproximateReceiveCount));
      calls++;
      if (calls === 1) throw new Error('downstream unavailable');
    });
    await invoked(1);
    const afterFailure = queueCounts(queue);
    clockOffsetMs += 31_000;
    await invoked(2);

    // Assess
    expect(afterFailure).toEqual({ visible: 0, notVisible: 2, delayed: 0 });
    expect(invocations[0]).toMatchObject({ records: 2, failures: 2 });
    expect(invocations[0]?.error).toMatchObject({ message: 'downstream unavailable' });
    expect(receiveCounts).toEqual([
      ['1', '1'],
      ['2', '2'],
    ]);
    expect(queueCounts(queue)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
    expect(poller.stats()).toMatchObject({ handlerErrors: 1, recordsDeleted: 2, recordsFailed: 2 });
  });

  it.each([
    ['an unknown itemIdentifier', { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] }],
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a batchItemFailures that is not a list', { batchItemFailures: 'all of them' }],
  ])('fails the whole batch on %s, as Lambda does', async (_label, response) => {
    // Prepare
    const queue = createQueue();
    await sendBodies(queue, ['a', 'b']);

    // Act
    const { poller, invocations, invoked } = start(queue, async () => response);
    await invoked(1);

    // Assess
    expect(invocations[0]?.error).toBeInstanceOf(InvalidBatchResponseError);
    expect(invocations[0]?.failures).toBe(2);
    expect(queueCounts(queue).notVisible).toBe(2);
    expect(poller.stats()).toMatchObject({ invalidResponses: 1, recordsDeleted: 0 });
  });

  it('deletes the whole batch when ReportBatchItemFailures is off, whatever the handler returns', async () => {
    // Prepare
    const queue = createQueue();
    await sendBodies(queue, ['a', 'b']);

    // Act
    const { poller } = start(
      queue,
      async (event) => ({ batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] }),
      { reportBatchItemFailures: false },
    );
    await poller.idle({ timeoutMs: 10_000 });

    // Assess
    expect(poller.stats()).toMatchObject({ recordsDeleted: 2, recordsFailed: 0 });
  });

  it('keeps the batch when the handler outlives the function timeout', async () => {
    // Prepare
    const queue = createQueue();
    await sendBodies(queue, ['slow']);

    // Act: the handler runs until released, well past the 50 ms function timeout
    const stray = deferred();
    const { poller, invocations, invoked } = start(queue, () => stray.promise, {
      functionTimeoutSeconds: 0.05,
    });
    await invoked(1);
    stray.resolve();

    // Assess
    expect(invocations[0]?.error).toBeInstanceOf(HandlerTimeoutError);
    expect(queueCounts(queue)).toEqual({ visible: 0, notVisible: 1, delayed: 0 });
    expect(poller.stats()).toMatchObject({ timeouts: 1, recordsDeleted: 0 });
  });

  it('never runs more handlers at once than maximumConcurrency', async () => {
    // Prepare
    const queue = createQueue();
    await sendBodies(
      queue,
      Array.from({ length: 24 }, (_, i) => `m${i}`),
    );
    let running = 0;
    let peak = 0;
    // Handlers hold their slot until three run at once; after that they pass straight through.
    const allSlotsTaken = deferred();

    // Act
    const { poller } = start(
      queue,
      async () => {
        running++;
        peak = Math.max(peak, running);
        if (running === 3) allSlotsTaken.resolve();
        await allSlotsTaken.promise;
        running--;
      },
      { batchSize: 1, maximumConcurrency: 3 },
    );
    await poller.idle({ timeoutMs: 20_000 });

    // Assess
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBe(3);
    expect(poller.stats()).toMatchObject({ invocations: 24, recordsDeleted: 24 });
    expect(poller.stats().peakConcurrency).toBe(peak);
  });

  it('gathers messages that arrive within the batching window into one batch', async () => {
    // Prepare
    const queue = createQueue();
    const sizes: number[] = [];

    // Act
    const { invoked } = start(
      queue,
      async (event) => {
        sizes.push(event.Records.length);
      },
      { batchSize: 10, maximumBatchingWindowSeconds: 1 },
    );
    const firstReceived = new Promise<void>((resolve) => {
      const off = emulator.onReceive((name) => {
        if (name !== queue.name) return;
        off();
        resolve();
      });
    });
    await sendBodies(queue, ['first']);
    // The window opens when the poller receives 'first'; the others arrive within it.
    await firstReceived;
    await sendBodies(queue, ['second', 'third']);
    await invoked(1);

    // Assess
    expect(sizes).toEqual([3]);
  });

  it('invokes as soon as the batch is full, without waiting for the window', async () => {
    // Prepare
    const queue = createQueue();
    await sendBodies(queue, ['a', 'b', 'c', 'd']);
    const sizes: number[] = [];

    // Act: a 300 s window; were the poller to wait for it, the test would time out.
    const { invoked } = start(
      queue,
      async (event) => {
        sizes.push(event.Records.length);
      },
      { batchSize: 2, maximumBatchingWindowSeconds: 300 },
    );
    await invoked(2);

    // Assess
    expect(sizes).toEqual([2, 2]);
  });

  it('redelivers a batch whose deletes were lost to a crash (killAfterRate)', async () => {
    // Prepare
    const queue = createQueue();
    await sendBodies(queue, ['a', 'b', 'c']);
    const seen: Array<{ id: string; count: string }> = [];
    const draws = [0, 0.99];

    // Act
    const { poller, invocations, invoked } = start(
      queue,
      async (event) => {
        for (const r of event.Records)
          seen.push({ id: r.messageId, count: r.attributes.ApproximateReceiveCount });
      },
      { faults: { killAfterRate: 0.5 }, random: () => draws.shift() ?? 0.99 },
    );
    await invoked(1);
    const afterCrash = queueCounts(queue);
    clockOffsetMs += 31_000;
    await invoked(2);

    // Assess
    expect(invocations[0]).toMatchObject({ records: 3, failures: 0, killed: true });
    expect(afterCrash).toEqual({ visible: 0, notVisible: 3, delayed: 0 });
    const firstIds = seen.slice(0, 3).map((s) => s.id);
    expect(seen.slice(3).map((s) => s.id)).toEqual(firstIds);
    expect(seen.slice(3).map((s) => s.count)).toEqual(['2', '2', '2']);
    expect(queueCounts(queue)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
    expect(poller.stats()).toMatchObject({ killed: 1, recordsDeleted: 3 });
  });

  it('stops promptly while a 20 s long poll is waiting', async () => {
    // Prepare
    const queue = createQueue();
    const { poller } = start(queue, async () => undefined, { maximumConcurrency: 2, waitTimeSeconds: 20 });
    await emulator.whenLongPolling(queue.name, 2);

    // Act
    const started = performance.now();
    await poller.stop();
    const stopMs = performance.now() - started;

    // Assess: far less than the 20 s the polls would otherwise wait
    expect(stopMs).toBeLessThan(5_000);
    expect(poller.stats().receiveErrors).toBe(0);
  }, 10_000);

  it('lets an invocation in progress finish and delete before stop() resolves', async () => {
    // Prepare
    const queue = createQueue();
    await sendBodies(queue, ['a']);
    const entered = deferred();
    const release = deferred();
    const { poller } = start(queue, async () => {
      entered.resolve();
      await release.promise;
    });
    await entered.promise;

    // Act
    const stopping = poller.stop();
    release.resolve();
    await stopping;

    // Assess
    expect(poller.stats()).toMatchObject({ invocations: 1, recordsDeleted: 1 });
    expect(queueCounts(queue)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
  });

  it('is idle without includeInvisible while a message is only delayed, and not idle with it', async () => {
    // Prepare: one message hidden by DelaySeconds (a copy sent back to wait), nothing else.
    const queue = createQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'later', DelaySeconds: 600 }));
    const { poller } = start(queue, async () => {});

    // Act
    const visibleOnly = await poller.idle({ includeInvisible: false, timeoutMs: 5_000 }).then(
      () => 'idle',
      (error: unknown) => (error as Error).name,
    );
    const hiddenToo = await poller.idle({ timeoutMs: 500 }).then(
      () => 'idle',
      (error: unknown) => (error as Error).name,
    );

    // Assess
    expect(visibleOnly).toBe('idle');
    expect(hiddenToo).toBe('PollerIdleTimeoutError');
    expect(queueCounts(queue)).toEqual({ visible: 0, notVisible: 0, delayed: 1 });
  });
});
