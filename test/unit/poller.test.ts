import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  type ReceiveMessageCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EventSourcePollerOptions,
  failedMessageIds,
  InvalidBatchResponseError,
  MalformedSqsMessageError,
  startEventSourcePoller,
  toSqsRecord,
} from '#sandbox/poller.ts';
import { sqsRecord } from '#test/support/lambda.ts';

const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:ingest';
const QUEUE_URL = 'http://127.0.0.1:1/123456789012/ingest';

function message(id: string, overrides: Partial<Message> = {}): Message {
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: `body-${id}`,
    MD5OfBody: '0123456789abcdef0123456789abcdef',
    Attributes: {
      ApproximateReceiveCount: '3',
      SentTimestamp: '1700000000000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1700000000100',
    },
    ...overrides,
  };
}

describe('toSqsRecord', () => {
  it("converts a ReceiveMessage result to Lambda's record shape", () => {
    // Prepare
    const received = message('m-1', {
      MD5OfMessageAttributes: 'fedcba9876543210fedcba9876543210',
      Attributes: {
        ApproximateReceiveCount: '3',
        SentTimestamp: '1700000000000',
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: '1700000000100',
        AWSTraceHeader: 'Root=1-abc',
      },
      MessageAttributes: {
        source: { DataType: 'String', StringValue: 'crm' },
        raw: { DataType: 'Binary.gzip', BinaryValue: new Uint8Array([104, 105]) },
      },
    });

    // Act
    const record = toSqsRecord(received, QUEUE_ARN, 'eu-west-1');

    // Assess
    expect(record).toEqual({
      messageId: 'm-1',
      receiptHandle: 'rh-m-1',
      body: 'body-m-1',
      attributes: {
        ApproximateReceiveCount: '3',
        SentTimestamp: '1700000000000',
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: '1700000000100',
        AWSTraceHeader: 'Root=1-abc',
      },
      messageAttributes: {
        source: { stringValue: 'crm', stringListValues: [], binaryListValues: [], dataType: 'String' },
        raw: { binaryValue: 'aGk=', stringListValues: [], binaryListValues: [], dataType: 'Binary.gzip' },
      },
      md5OfBody: '0123456789abcdef0123456789abcdef',
      md5OfMessageAttributes: 'fedcba9876543210fedcba9876543210',
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE_ARN,
      awsRegion: 'eu-west-1',
    });
  });

  it.each([
    ['a receipt handle', { ReceiptHandle: undefined }],
    ['a body', { Body: undefined }],
    [
      'ApproximateReceiveCount',
      { Attributes: { SentTimestamp: '1', SenderId: 'x', ApproximateFirstReceiveTimestamp: '1' } },
    ],
  ])('refuses a message without %s', (_label, overrides) => {
    expect(() => toSqsRecord(message('m-1', overrides), QUEUE_ARN, 'eu-west-1')).toThrow(
      MalformedSqsMessageError,
    );
  });
});

describe('failedMessageIds', () => {
  const records = [
    sqsRecord({ messageId: 'a' }),
    sqsRecord({ messageId: 'b' }),
    sqsRecord({ messageId: 'c' }),
  ];

  it.each([
    ['nothing', undefined],
    ['null', null],
    ['an empty object', {}],
    ['an empty list', { batchItemFailures: [] }],
    ['a null list', { batchItemFailures: null }],
  ])('treats %s as a complete success', (_label, response) => {
    expect([...failedMessageIds(records, response, true)]).toEqual([]);
  });

  it('fails exactly the listed records', () => {
    const response = { batchItemFailures: [{ itemIdentifier: 'c' }, { itemIdentifier: 'a' }] };
    expect([...failedMessageIds(records, response, true)].sort()).toEqual(['a', 'c']);
  });

  it.each([
    ['a string response', 'done'],
    ['a list response', []],
    ['a non-list batchItemFailures', { batchItemFailures: { itemIdentifier: 'a' } }],
    ['a null entry', { batchItemFailures: [null] }],
    ['an entry with a bad key name', { batchItemFailures: [{ id: 'a' }] }],
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a numeric itemIdentifier', { batchItemFailures: [{ itemIdentifier: 1 }] }],
    ['an itemIdentifier from another batch', { batchItemFailures: [{ itemIdentifier: 'z' }] }],
  ])('fails the whole batch on %s', (_label, response) => {
    expect(() => failedMessageIds(records, response, true)).toThrow(InvalidBatchResponseError);
  });

  it('ignores the response when ReportBatchItemFailures is off', () => {
    const response = { batchItemFailures: [{ itemIdentifier: 'z' }] };
    expect([...failedMessageIds(records, response, false)]).toEqual([]);
  });
});

/**
 * An empty long poll for the mocked client, which ignores the poller's abort signal: it stays parked
 * until the test stops the poller (`release`), then answers empty, as a real long poll would end.
 */
function parkedUntilStop(): { emptyPoll: () => Promise<ReceiveMessageCommandOutput>; release: () => void } {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { emptyPoll: () => released.then(() => ({ $metadata: {} })), release };
}

describe('startEventSourcePoller', () => {
  const sqsMock = mockClient(SQSClient);
  afterEach(() => {
    sqsMock.reset();
  });

  const base = (): EventSourcePollerOptions => ({
    sqs: new SQSClient({ region: 'eu-west-1' }),
    queueUrl: QUEUE_URL,
    queueArn: QUEUE_ARN,
    functionName: 'ingest',
    handler: async () => undefined,
    batchSize: 10,
    maximumBatchingWindowSeconds: 0,
    maximumConcurrency: 2,
    functionTimeoutSeconds: 60,
    reportBatchItemFailures: true,
  });

  it.each([
    ['batchSize 0', { batchSize: 0 }],
    ['batchSize 1.5', { batchSize: 1.5 }],
    ['maximumConcurrency 0', { maximumConcurrency: 0 }],
    ['a negative batching window', { maximumBatchingWindowSeconds: -1 }],
    ['a batching window over 300 s', { maximumBatchingWindowSeconds: 301 }],
    ['a zero function timeout', { functionTimeoutSeconds: 0 }],
    ['a long poll over 20 s', { waitTimeSeconds: 21 }],
    ['a kill rate over 1', { faults: { killAfterRate: 1.5 } }],
    ['a queue URL missing', { queueUrl: '' }],
    ['a queue ARN that is not SQS', { queueArn: 'arn:aws:sns:us-east-1:1:topic' }],
  ])('refuses %s with a TypeError before polling', (_label, overrides) => {
    expect(() => startEventSourcePoller({ ...base(), ...overrides })).toThrow(TypeError);
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('asks SQS for every attribute and deletes the successes in batches of at most 10', async () => {
    // Prepare
    const batch = Array.from({ length: 12 }, (_, i) => message(`m-${i}`));
    const receives: ReceiveMessageCommandInput[] = [];
    const stopping = parkedUntilStop();
    let served = false;
    sqsMock.on(ReceiveMessageCommand).callsFake(async (input: ReceiveMessageCommandInput) => {
      receives.push(input);
      if (!served) {
        served = true;
        return { Messages: batch.slice(0, 10) };
      }
      if (receives.length === 2) return { Messages: batch.slice(10) };
      return stopping.emptyPoll();
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    let events = 0;
    const invoked = new Promise<void>((resolve) => {
      const poller = startEventSourcePoller({
        ...base(),
        batchSize: 12,
        maximumBatchingWindowSeconds: 1,
        maximumConcurrency: 1,
        waitTimeSeconds: 7,
        handler: async (event) => {
          events++;
          return { batchItemFailures: [{ itemIdentifier: event.Records[0]?.messageId }] };
        },
        onInvocation: () => {
          stopping.release();
          poller.stop().then(resolve, resolve);
        },
      });
    });

    // Act
    await invoked;

    // Assess
    expect(events).toBe(1);
    expect(receives[0]).toEqual({
      QueueUrl: QUEUE_URL,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 7,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    });
    expect(receives[1]?.MaxNumberOfMessages).toBe(2);
    const deletes = sqsMock.commandCalls(DeleteMessageBatchCommand).map((call) => call.args[0].input);
    expect(deletes.map((d) => d.Entries?.length)).toEqual([10, 1]);
    const deleted = deletes.flatMap((d) => d.Entries?.map((e) => e.ReceiptHandle) ?? []);
    expect(deleted).toEqual(batch.slice(1).map((m) => m.ReceiptHandle));
  });

  it('counts entries SQS refused to delete and reports them', async () => {
    // Prepare
    const stopping = parkedUntilStop();
    let served = false;
    sqsMock.on(ReceiveMessageCommand).callsFake(async () => {
      if (!served) {
        served = true;
        return { Messages: [message('a'), message('b')] };
      }
      return stopping.emptyPoll();
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({
      Successful: [{ Id: '0' }],
      Failed: [{ Id: '1', Code: 'ReceiptHandleIsInvalid', SenderFault: true }],
    });
    const errors: Error[] = [];

    // Act
    const stats = await new Promise<ReturnType<ReturnType<typeof startEventSourcePoller>['stats']>>(
      (resolve) => {
        const poller = startEventSourcePoller({
          ...base(),
          maximumConcurrency: 1,
          onError: (error) => errors.push(error),
          onInvocation: () => {
            stopping.release();
            poller.stop().then(() => resolve(poller.stats()));
          },
        });
      },
    );

    // Assess
    expect(stats).toMatchObject({ recordsDeleted: 1, deleteErrors: 1 });
    expect(errors).toHaveLength(1);
  });
});
