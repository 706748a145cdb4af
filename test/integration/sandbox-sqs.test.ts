import {
  BatchEntryIdsNotDistinct,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  EmptyBatchRequest,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  InvalidAttributeName,
  InvalidMessageContents,
  ListDeadLetterSourceQueuesCommand,
  ListQueuesCommand,
  MessageNotInflight,
  QueueDoesNotExist,
  QueueNameExists,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
  TooManyEntriesInBatchRequest,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMovableClock } from '#sandbox/clock.ts';
import { serveHandler } from '#sandbox/serve.ts';
import { createSqsEmulator, type SqsEmulator } from '#sandbox/sqs/emulator.ts';
import { loopbackClientConfig } from '#test/support/loopback.ts';

describe('sandbox SQS emulator', () => {
  let emulator: SqsEmulator;
  let server: Awaited<ReturnType<typeof serveHandler>>;
  let sqs: SQSClient;
  let queueCounter = 0;
  /** A fresh clock per test (the emulator reads whichever is current): each test starts at the wall clock. */
  let clock = createMovableClock();
  const advanceClock = (ms: number) => clock.advance(ms);

  beforeAll(async () => {
    emulator = createSqsEmulator({ accountId: '123456789012', region: 'us-east-1', now: () => clock.now() });
    server = await serveHandler(emulator.handle);
    sqs = new SQSClient(loopbackClientConfig(server.endpoint));
  });

  afterAll(async () => {
    sqs.destroy();
    await server.close();
  });

  beforeEach(() => {
    emulator.setFaults({ duplicateDeliveryRate: 0 });
    clock = createMovableClock();
  });

  /** A fresh queue per test, so tests never see each other's messages. */
  async function newQueue(attributes: Record<string, string> = {}): Promise<{ url: string; name: string }> {
    queueCounter += 1;
    const name = `q-${queueCounter}`;
    const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    return { url: out.QueueUrl as string, name };
  }

  async function counts(url: string) {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    return {
      visible: Number(out.Attributes?.ApproximateNumberOfMessages),
      notVisible: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
      delayed: Number(out.Attributes?.ApproximateNumberOfMessagesDelayed),
    };
  }

  async function receiveOne(
    url: string,
    extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {},
  ) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, ...extra }));
    return out.Messages ?? [];
  }

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (error) {
      return error;
    }
    throw new Error('expected the call to fail');
  }

  it('returns queue URLs built from the Host header and resolves a QueueUrl by its last path segment', async () => {
    // Prepare
    const { url, name } = await newQueue();

    // Act
    const byName = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl: `http://elsewhere.invalid/123456789012/${name}`, MessageBody: 'x' }),
    );

    // Assess
    expect(url).toBe(`${server.endpoint}/123456789012/${name}`);
    expect(byName.QueueUrl).toBe(url);
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await counts(url)).toEqual({ visible: 1, notVisible: 0, delayed: 0 });
  });

  it('passes MD5 validation with String, Number and Binary attributes on send and receive', async () => {
    // Prepare
    const { url } = await newQueue();
    const binary = Uint8Array.from([0, 1, 2, 250, 255]);

    // Act: the SDK checks MD5OfMessageBody / MD5OfBody itself and throws on a mismatch
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"hello":"wörld ✓"}',
        MessageAttributes: {
          SellerName: { DataType: 'String', StringValue: 'Example Store' },
          Price: { DataType: 'Number', StringValue: '1.99' },
          Blob: { DataType: 'Binary', BinaryValue: binary },
        },
      }),
    );
    const [message] = await receiveOne(url, { MessageAttributeNames: ['All'] });
    const [again] = await (async () => {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: message?.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      return receiveOne(url, { MessageAttributeNames: ['SellerName'] });
    })();

    // Assess
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(message?.Body).toBe('{"hello":"wörld ✓"}');
    expect(message?.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(message?.MessageAttributes?.Price).toEqual({ DataType: 'Number', StringValue: '1.99' });
    expect(message?.MessageAttributes?.Blob?.BinaryValue).toEqual(binary);
    // Only the returned attributes are digested: the SQS Developer Guide's vector for SellerName alone.
    expect(Object.keys(again?.MessageAttributes ?? {})).toEqual(['SellerName']);
    expect(again?.MD5OfMessageAttributes).toBe('cd28f3b68aeee4b2eac9c66f2f694b58');
  });

  it('returns MD5OfMessageSystemAttributes for an AWSTraceHeader and delivers the header as a system attribute', async () => {
    // Prepare
    const { url } = await newQueue();
    const trace = 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1';

    // Act
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'traced',
        MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: trace } },
      }),
    );
    const [message] = await receiveOne(url, { MessageSystemAttributeNames: ['AWSTraceHeader'] });

    // Assess
    expect(sent.MD5OfMessageSystemAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(message?.Attributes).toEqual({ AWSTraceHeader: trace });
  });

  it('long poll wakes as soon as a message is sent', async () => {
    // Prepare
    const { url, name } = await newQueue();
    const polling = sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }));

    // Act: send once the poll is parked in the emulator, so the send is what wakes it
    await emulator.whenLongPolling(name);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake up' }));
    const out = await polling;

    // Assess: a poll that did not wake would outlive this test's 5 s limit
    expect(out.Messages?.map((m) => m.Body)).toEqual(['wake up']);
  }, 5_000);

  it('long poll returns no messages after WaitTimeSeconds when nothing is sent', async () => {
    // Prepare
    const { url } = await newQueue();

    // Act: a real 1 s wait; WaitTimeSeconds is wall-clock time on the socket, and no event marks its end
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));

    // Assess
    expect(out.Messages ?? []).toEqual([]);
  });

  it('uses the queue default ReceiveMessageWaitTimeSeconds for a long poll', async () => {
    // Prepare
    const { url, name } = await newQueue({ ReceiveMessageWaitTimeSeconds: '20' });
    const polling = sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));

    // Act: the poll waits only if the queue's default wait applies
    await emulator.whenLongPolling(name);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'late' }));
    const out = await polling;

    // Assess
    expect(out.Messages?.map((m) => m.Body)).toEqual(['late']);
  }, 5_000);

  it('changing visibility does not change the receive count', async () => {
    // Prepare
    const { url } = await newQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'count me' }));
    const [first] = await receiveOne(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });

    // Act
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: first?.ReceiptHandle,
        VisibilityTimeout: 120,
      }),
    );
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: first?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const [second] = await receiveOne(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });

    // Assess
    expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(second?.ReceiptHandle).not.toBe(first?.ReceiptHandle);
  });

  it('counts visible, in-flight and delayed messages at every step', async () => {
    // Prepare
    const { url, name } = await newQueue();

    // Act + Assess
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'a' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'b' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 60 }));
    expect(await counts(url)).toEqual({ visible: 2, notVisible: 0, delayed: 1 });

    const [received] = await receiveOne(url, { VisibilityTimeout: 30 });
    expect(await counts(url)).toEqual({ visible: 1, notVisible: 1, delayed: 1 });
    expect(emulator.stats().find((s) => s.name === name)).toEqual({
      name,
      visible: 1,
      notVisible: 1,
      delayed: 1,
    });

    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: received?.ReceiptHandle }));
    expect(await counts(url)).toEqual({ visible: 1, notVisible: 0, delayed: 1 });

    advanceClock(60_000);
    expect(await counts(url)).toEqual({ visible: 2, notVisible: 0, delayed: 0 });
  });

  it('moves a message to the DLQ instead of its (maxReceiveCount + 1)th receive', async () => {
    // Prepare
    const dlq = await newQueue();
    const dlqArn = emulator.queueArn(dlq.name);
    const source = await newQueue({
      VisibilityTimeout: '0',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
    });
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: source.url,
        MessageBody: 'poison',
        MessageAttributes: { source: { DataType: 'String', StringValue: 'crm' } },
      }),
    );

    // Act
    const first = await receiveOne(source.url);
    const second = await receiveOne(source.url);
    const third = await receiveOne(source.url);
    const [parked] = await receiveOne(dlq.url, {
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    });
    const sources = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq.url }));

    // Assess
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(third).toEqual([]);
    expect(parked?.MessageId).toBe(sent.MessageId);
    expect(parked?.Body).toBe('poison');
    expect(parked?.MessageAttributes?.source?.StringValue).toBe('crm');
    expect(parked?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(parked?.Attributes?.DeadLetterQueueSourceArn).toBe(emulator.queueArn(source.name));
    expect(sources.queueUrls).toEqual([source.url]);
  });

  it('returns system attributes requested by legacy AttributeNames and by MessageSystemAttributeNames', async () => {
    // Prepare
    const { url } = await newQueue({ VisibilityTimeout: '0' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'attrs' }));

    // Act: the legacy member is typed as queue attribute names; 'All' is what callers send through it
    const [legacy] = await receiveOne(url, { AttributeNames: ['All'] });
    const [modern] = await receiveOne(url, {
      MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
    });

    // Assess
    expect(legacy?.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: 'test' });
    expect(Number(legacy?.Attributes?.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(legacy?.Attributes?.SentTimestamp),
    );
    expect(modern?.Attributes).toEqual({
      ApproximateReceiveCount: '2',
      SentTimestamp: legacy?.Attributes?.SentTimestamp,
    });
  });

  it('selects message attributes by name, by prefix.* and by All', async () => {
    // Prepare
    const { url } = await newQueue({ VisibilityTimeout: '0' });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'x',
        MessageAttributes: {
          'cti.failure': { DataType: 'String', StringValue: '{}' },
          'cti.kind': { DataType: 'String', StringValue: 'k' },
          source: { DataType: 'String', StringValue: 'crm' },
        },
      }),
    );

    // Act
    const [byPrefix] = await receiveOne(url, { MessageAttributeNames: ['cti.*'] });
    const [byName] = await receiveOne(url, { MessageAttributeNames: ['source'] });
    const [none] = await receiveOne(url);

    // Assess
    expect(Object.keys(byPrefix?.MessageAttributes ?? {}).sort()).toEqual(['cti.failure', 'cti.kind']);
    expect(Object.keys(byName?.MessageAttributes ?? {})).toEqual(['source']);
    expect(none?.MessageAttributes).toBeUndefined();
    expect(none?.MD5OfMessageAttributes).toBeUndefined();
  });

  it('reports per-entry failures in batches and succeeds the other entries', async () => {
    // Prepare
    const { url } = await newQueue();

    // Act
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'ok', MessageBody: 'fine' },
          {
            Id: 'bad-number',
            MessageBody: 'x',
            MessageAttributes: { n: { DataType: 'Number', StringValue: 'abc' } },
          },
          { Id: 'bad-delay', MessageBody: 'x', DelaySeconds: 901 },
        ],
      }),
    );
    const [message] = await receiveOne(url);
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'real', ReceiptHandle: message?.ReceiptHandle },
          { Id: 'forged', ReceiptHandle: 'not-a-handle' },
        ],
      }),
    );

    // Assess
    expect(sent.Successful?.map((e) => e.Id)).toEqual(['ok']);
    expect(sent.Failed?.map((e) => [e.Id, e.Code, e.SenderFault])).toEqual([
      ['bad-number', 'InvalidParameterValue', true],
      ['bad-delay', 'InvalidParameterValue', true],
    ]);
    expect(deleted.Successful?.map((e) => e.Id)).toEqual(['real']);
    expect(deleted.Failed?.map((e) => [e.Id, e.Code])).toEqual([['forged', 'ReceiptHandleIsInvalid']]);
    expect(await counts(url)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
  });

  it('rejects whole batches that are empty, too large, or have repeated ids with the SDK exception classes', async () => {
    // Prepare
    const { url } = await newQueue();
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' }));

    // Act
    const empty = await rejection(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] })));
    const tooMany = await rejection(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: eleven })),
    );
    const repeated = await rejection(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: 'same', MessageBody: 'a' },
            { Id: 'same', MessageBody: 'b' },
          ],
        }),
      ),
    );
    const tooLong = await rejection(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: 'a', MessageBody: 'a'.repeat(200_000) },
            { Id: 'b', MessageBody: 'b'.repeat(200_000) },
          ],
        }),
      ),
    );

    // Assess
    expect(empty).toBeInstanceOf(EmptyBatchRequest);
    expect(tooMany).toBeInstanceOf(TooManyEntriesInBatchRequest);
    expect(repeated).toBeInstanceOf(BatchEntryIdsNotDistinct);
    expect((tooLong as Error).name).toBe('BatchRequestTooLong');
    expect(await counts(url)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
  });

  it('maps errors to the SDK exception classes', async () => {
    // Prepare
    const { url, name } = await newQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }));
    const [message] = await receiveOne(url, { VisibilityTimeout: 0 });

    // Act
    const missing = await rejection(sqs.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' })));
    const missingByUrl = await rejection(
      sqs.send(
        new SendMessageCommand({ QueueUrl: `${server.endpoint}/123456789012/nope`, MessageBody: 'x' }),
      ),
    );
    const exists = await rejection(
      sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '99' } })),
    );
    const forged = await rejection(
      sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'forged' })),
    );
    const notInflight = await rejection(
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: message?.ReceiptHandle,
          VisibilityTimeout: 5,
        }),
      ),
    );
    const badAttribute = await rejection(
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['Nope' as 'All'] })),
    );
    const badCharacters = await rejection(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'bell \u0007' })),
    );
    const tooManyAttributes = await rejection(
      sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: 'x',
          MessageAttributes: Object.fromEntries(
            Array.from({ length: 11 }, (_, i) => [`a${i}`, { DataType: 'String', StringValue: 'v' }]),
          ),
        }),
      ),
    );
    const tooLong = await rejection(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(262_145) })),
    );
    const badMax = await rejection(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })),
    );

    // Assess
    expect(missing).toBeInstanceOf(QueueDoesNotExist);
    expect(missingByUrl).toBeInstanceOf(QueueDoesNotExist);
    expect(exists).toBeInstanceOf(QueueNameExists);
    expect(forged).toBeInstanceOf(ReceiptHandleIsInvalid);
    expect(notInflight).toBeInstanceOf(MessageNotInflight);
    expect(badAttribute).toBeInstanceOf(InvalidAttributeName);
    expect(badCharacters).toBeInstanceOf(InvalidMessageContents);
    for (const error of [tooManyAttributes, tooLong, badMax]) {
      expect(error).toBeInstanceOf(SQSServiceException);
      expect((error as Error).name).toBe('InvalidParameterValue');
    }
    expect((tooLong as Error).message).toContain('Message must be shorter than 262144 bytes');
    expect((missing as QueueDoesNotExist).$metadata.httpStatusCode).toBe(400);
    // Query-compatible code, from the x-amzn-query-error header, for callers that check legacy codes.
    expect((missing as { Code?: string }).Code).toBe('AWS.SimpleQueueService.NonExistentQueue');
    expect((tooLong as { Code?: string }).Code).toBe('InvalidParameterValue');
  });

  it('invalidates an older receipt handle for visibility changes but still deletes with it', async () => {
    // Prepare
    const { url } = await newQueue({ VisibilityTimeout: '0' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'twice' }));
    const [first] = await receiveOne(url);
    await receiveOne(url, { VisibilityTimeout: 30 });

    // Act
    const stale = await rejection(
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: first?.ReceiptHandle,
          VisibilityTimeout: 10,
        }),
      ),
    );
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first?.ReceiptHandle }));
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first?.ReceiptHandle }));

    // Assess
    expect(stale).toBeInstanceOf(ReceiptHandleIsInvalid);
    expect(await counts(url)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
  });

  it('moving the clock makes in-flight messages visible again', async () => {
    // Prepare
    const { url } = await newQueue({ VisibilityTimeout: '360' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'in flight' }));
    const [first] = await receiveOne(url);
    const whileInFlight = await receiveOne(url);

    // Act
    advanceClock(360_000);
    const [again] = await receiveOne(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });

    // Assess
    expect(first?.Body).toBe('in flight');
    expect(whileInFlight).toEqual([]);
    expect(again?.MessageId).toBe(first?.MessageId);
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('wakes a long poll when a clock move makes an in-flight message visible', async () => {
    // Prepare
    const { url, name } = await newQueue({ VisibilityTimeout: '600' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'retry me' }));
    await receiveOne(url);
    const polling = sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }));

    // Act
    await emulator.whenLongPolling(name);
    advanceClock(600_000);
    const out = await polling;

    // Assess
    expect(out.Messages?.map((m) => m.Body)).toEqual(['retry me']);
  }, 5_000);

  it('drops messages older than MessageRetentionPeriod', async () => {
    // Prepare
    const { url } = await newQueue({ MessageRetentionPeriod: '60' });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'short-lived' }));

    // Act
    advanceClock(60_000);
    const received = await receiveOne(url);

    // Assess
    expect(received).toEqual([]);
    expect(await counts(url)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
  });

  it('delivers a message twice when the duplicate-delivery fault is on', async () => {
    // Prepare
    const { url } = await newQueue();
    emulator.setFaults({ duplicateDeliveryRate: 1 });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'dup' }));

    // Act
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );

    // Assess
    const messages = out.Messages ?? [];
    expect(messages.map((m) => m.Body)).toEqual(['dup', 'dup']);
    expect(messages.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(new Set(messages.map((m) => m.ReceiptHandle)).size).toBe(2);
  });

  it('creates queues idempotently, lists them by prefix and notifies send listeners', async () => {
    // Prepare
    const heard: string[] = [];
    const unsubscribe = emulator.onSend((queueName) => heard.push(queueName));
    const ref = emulator.createQueue('listed-one', { VisibilityTimeout: '45' });

    // Act
    const again = await sqs.send(
      new CreateQueueCommand({ QueueName: 'listed-one', Attributes: { VisibilityTimeout: '45' } }),
    );
    emulator.createQueue('listed-two');
    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'listed-' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: again.QueueUrl, MessageBody: 'hi' }));
    unsubscribe();
    await sqs.send(new SendMessageCommand({ QueueUrl: again.QueueUrl, MessageBody: 'unheard' }));

    // Assess
    expect(again.QueueUrl).toBe(ref.url(server.endpoint));
    expect(ref.arn).toBe('arn:aws:sqs:us-east-1:123456789012:listed-one');
    expect(listed.QueueUrls).toEqual([
      `${server.endpoint}/123456789012/listed-one`,
      `${server.endpoint}/123456789012/listed-two`,
    ]);
    expect(heard).toEqual(['listed-one']);
  });

  it('answers a malformed JSON body with an AWS-shaped SerializationException', async () => {
    // Act
    const response = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessage' },
      body: '{"QueueUrl": ',
    });
    const body = (await response.json()) as Record<string, unknown>;

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.__type).toBe('com.amazon.coral.service#SerializationException');
    expect(typeof body.message).toBe('string');
  });

  it('answers an unknown action with UnsupportedOperation and the query error header', async () => {
    // Act
    const response = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.FlyToTheMoon' },
      body: '{}',
    });
    const body = (await response.json()) as Record<string, unknown>;

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-query-error')).toBe(
      'AWS.SimpleQueueService.UnsupportedOperation;Sender',
    );
    expect(body.__type).toBe('com.amazonaws.sqs#UnsupportedOperation');
  });

  it('refuses a redrive policy whose dead-letter target does not exist', async () => {
    // Act
    const error = await rejection(
      sqs.send(
        new CreateQueueCommand({
          QueueName: 'orphan-source',
          Attributes: {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: 'arn:aws:sqs:us-east-1:123456789012:missing',
              maxReceiveCount: 3,
            }),
          },
        }),
      ),
    );

    // Assess
    expect((error as Error).name).toBe('InvalidParameterValue');
  });
});
