import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '#lib/observability/logger.ts';
import {
  handleRedriveInvocation,
  parseRedriveEvent,
  type RedriveObservability,
} from '#lib/redrive/invocation.ts';
import type { RedriveDeps } from '#lib/redrive/redrive.ts';
import { buildDlqMessage } from '#lib/retry/dlq-message.ts';
import { createInMemorySqsPort } from '#test/support/memory-sqs-port.ts';

const DLQ = 'https://sqs.test/000000000000/dlq';
const INGEST = 'https://sqs.test/000000000000/ingest';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');

function recorder() {
  const counts: Record<string, number> = {};
  const warnings: Record<string, unknown>[] = [];
  const observe: RedriveObservability = {
    count: (name, value) => {
      counts[name] = (counts[name] ?? 0) + value;
    },
    logger: {
      ...silentLogger,
      warn: (_message, ...fields) => {
        warnings.push(...fields);
      },
    },
  };
  return { counts, warnings, observe };
}

function dueMessage() {
  return buildDlqMessage({
    body: '{"id":"e"}',
    attributes: {},
    messageId: 'm-1',
    failure: { class: 'OVER_QUOTA', code: 'ServiceQuotaExceededException', message: 'quota' },
    now: T0,
    nextAttemptAt: new Date(T0),
  });
}

describe('parseRedriveEvent', () => {
  it('reads the schedule input as a scheduled run', () => {
    expect(parseRedriveEvent({ action: 'redrive' })).toEqual({ mode: 'scheduled' });
  });

  it('reads an ops input with a filter as an ops replay', () => {
    expect(
      parseRedriveEvent({ filter: { class: 'PERMANENT', source: 'crm' }, max: 5, dryRun: true }),
    ).toEqual({
      mode: 'ops-replay',
      filter: { class: 'PERMANENT', source: 'crm' },
      max: 5,
      dryRun: true,
    });
  });

  it.each([
    ['an empty event', {}],
    ['an unknown class', { filter: { class: 'BROKEN' } }],
    ['an unknown filter key', { filter: { colour: 'red' } }],
    ['a zero max', { action: 'redrive', max: 0 }],
    ['no event at all', undefined],
  ])('refuses %s', (_label, event) => {
    expect(() => parseRedriveEvent(event)).toThrow(/expected \{"action":"redrive"\}/);
  });
});

describe('handleRedriveInvocation', () => {
  it('emits Replayed, Deferred, Exhausted and Superseded counts for a real run', async () => {
    const sqs = createInMemorySqsPort(() => T0);
    sqs.put(DLQ, dueMessage());
    const deps: RedriveDeps = {
      sqs,
      dlqUrl: DLQ,
      ingestQueueUrl: INGEST,
      limits: { maxAttempts: 5, maxAgeSeconds: 3_600 },
      now: () => T0,
    };
    const { counts, observe } = recorder();

    const summary = await handleRedriveInvocation(deps, { action: 'redrive' }, { observe });

    expect(summary.replayed).toBe(1);
    expect(counts).toEqual({ Replayed: 1, Deferred: 0, Exhausted: 0, Superseded: 0, RedriveProblems: 0 });
  });

  it('emits no replay metrics for a dry run and warns once per problem message', async () => {
    const sqs = createInMemorySqsPort(() => T0);
    sqs.put(DLQ, dueMessage());
    sqs.put(DLQ, { MessageBody: 'orphan', MessageAttributes: {} });
    const deps: RedriveDeps = { sqs, dlqUrl: DLQ, ingestQueueUrl: INGEST, now: () => T0 };
    const { counts, warnings, observe } = recorder();

    const summary = await handleRedriveInvocation(deps, { filter: {}, dryRun: true }, { observe });

    expect(summary).toMatchObject({ mode: 'ops-replay', dryRun: true, replayed: 1 });
    expect(counts).toEqual({ RedriveProblems: 1 });
    expect(warnings).toEqual([
      { messageId: expect.any(String), problem: expect.stringMatching(/no failure record/) },
    ]);
  });
});

describe('functions/redrive', () => {
  const env = {
    DLQ_URL: DLQ,
    INGEST_QUEUE_URL: INGEST,
    INGEST_URGENT_QUEUE_URL: `${INGEST}-urgent`,
    INGEST_BULK_QUEUE_URL: `${INGEST}-bulk`,
    REDRIVE_MAX_ATTEMPTS: '20',
    REDRIVE_MAX_AGE_SECONDS: '1036800',
    OVER_QUOTA_BACKOFF_BASE_SECONDS: '60',
    OVER_QUOTA_BACKOFF_MAX_SECONDS: '3600',
  };
  const context = {
    functionName: 'redrive',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:redrive',
    memoryLimitInMB: '512',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/redrive',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 100_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  } as Context;

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('fails the cold start when a required variable is missing', async () => {
    for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
    vi.stubEnv('DLQ_URL', undefined);

    await expect(import('#functions/redrive.ts')).rejects.toThrow(/DLQ_URL must be set/);
  });

  it('fails the cold start when a lane queue URL is missing', async () => {
    for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
    vi.stubEnv('INGEST_URGENT_QUEUE_URL', undefined);

    await expect(import('#functions/redrive.ts')).rejects.toThrow(/INGEST_URGENT_QUEUE_URL must be set/);
  });

  it('runs the scheduled redrive against the configured DLQ', async () => {
    for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
    const sqsMock = mockClient(SQSClient);
    sqsMock.on(ReceiveMessageCommand).resolves({ Messages: [] });
    const { handler } = await import('#functions/redrive.ts');

    const summary = await handler({ action: 'redrive' }, context);

    expect(summary).toMatchObject({ mode: 'scheduled', scanned: 0, stoppedBy: 'empty' });
    expect(sqsMock.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toMatchObject({
      QueueUrl: DLQ,
      MessageAttributeNames: ['All'],
    });
    sqsMock.restore();
  });
});
