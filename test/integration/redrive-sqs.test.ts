import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runRedrive } from '#lib/redrive/redrive.ts';
import { createSqsPort } from '#lib/redrive/sqs-port.ts';
import { buildDlqMessage, type FailureInput, unwrapIngestRecord } from '#lib/retry/dlq-message.ts';
import { FAILURE_ATTRIBUTE } from '#lib/retry/failure-record.ts';
import { runCli } from '#test/support/cli.ts';
import { type LocalSqs, startLocalSqs } from '#test/support/local-sqs.ts';

const MINUTE = 60_000;
const overQuota: FailureInput = {
  class: 'OVER_QUOTA',
  code: 'ServiceQuotaExceededException',
  message: 'The service quota has been exceeded.',
  source: 'crm',
  eventId: 'evt-1',
  clientToken: 'tok-1',
};
const permanent: FailureInput = {
  class: 'PERMANENT',
  code: 'ValidationFailed',
  message: 'Name: too long',
  source: 'orders',
};

describe('redrive against the sandbox SQS emulator', () => {
  let local: LocalSqs;
  let sqs: SQSClient;
  let counter = 0;

  // A fresh emulator per test: each test starts with its clock at the wall clock.
  beforeEach(async () => {
    local = await startLocalSqs();
    sqs = local.sqs;
  });

  afterEach(async () => {
    await local?.stop();
  });

  const now = () => local.clock.now();

  /** A fresh DLQ and ingest queue per test. */
  function queues() {
    counter += 1;
    const dlqUrl = local.createQueue(`redrive-dlq-${counter}`);
    const ingestQueueUrl = local.createQueue(`redrive-ingest-${counter}`);
    return { dlqUrl, ingestQueueUrl };
  }

  async function park(
    dlqUrl: string,
    failure: FailureInput,
    options: { nextAttemptAt?: number; attributes?: SQSMessageAttributes; body?: string } = {},
  ) {
    const message = buildDlqMessage({
      body: options.body ?? '{"id":"evt-1","data":{"name":"Ada"}}',
      attributes: options.attributes ?? {
        source: { dataType: 'String', stringValue: failure.source ?? 'x' },
      },
      messageId: `first-${failure.source}`,
      failure,
      now: now(),
      ...(options.nextAttemptAt === undefined ? {} : { nextAttemptAt: new Date(options.nextAttemptAt) }),
    });
    const out = await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, ...message }));
    return out.MessageId as string;
  }

  async function visibleCount(queueUrl: string): Promise<number> {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessages);
  }

  /** Receives one message from the ingest queue in the shape Lambda hands the ingest handler. */
  async function receiveAsLambdaRecord(queueUrl: string): Promise<SQSRecord> {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MessageAttributeNames: ['All'],
        MaxNumberOfMessages: 1,
      }),
    );
    const m = out.Messages?.[0];
    if (!m?.MessageId || !m.ReceiptHandle || m.Body === undefined)
      throw new Error('no message in the ingest queue');
    const messageAttributes: SQSMessageAttributes = {};
    for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
      messageAttributes[name] = {
        dataType: value.DataType ?? 'String',
        ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
        ...(value.BinaryValue === undefined
          ? {}
          : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
      };
    }
    return {
      messageId: m.MessageId,
      receiptHandle: m.ReceiptHandle,
      body: m.Body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'x',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes,
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ingest',
      awsRegion: 'us-east-1',
    };
  }

  it('replays the due message, defers the early one and leaves permanent and unreadable ones visible', async () => {
    // Prepare
    const { dlqUrl, ingestQueueUrl } = queues();
    await park(dlqUrl, overQuota, {
      nextAttemptAt: now() + MINUTE,
      attributes: {
        source: { dataType: 'String', stringValue: 'crm' },
        blob: { dataType: 'Binary', binaryValue: Buffer.from([0, 1, 254, 255]).toString('base64') },
      },
    });
    await park(dlqUrl, { ...overQuota, eventId: 'evt-2' }, { nextAttemptAt: now() + 30 * MINUTE });
    await park(dlqUrl, permanent);
    await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: 'moved by maxReceiveCount' }));
    local.clock.advance(2 * MINUTE);
    // Act
    const summary = await runRedrive(
      {
        sqs: createSqsPort(sqs),
        dlqUrl,
        ingestQueueUrl,
        limits: { maxAttempts: 20, maxAgeSeconds: 86_400 },
        now,
      },
      { mode: 'scheduled' },
    );
    // Assess
    expect(summary).toMatchObject({
      scanned: 4,
      replayed: 1,
      deferred: 1,
      permanentUntouched: 1,
      exhausted: 0,
    });
    expect(summary.problems).toHaveLength(1);
    expect(await visibleCount(dlqUrl)).toBe(2);
    const record = await receiveAsLambdaRecord(ingestQueueUrl);
    const unwrapped = unwrapIngestRecord(record);
    expect(unwrapped.body).toBe('{"id":"evt-1","data":{"name":"Ada"}}');
    expect(unwrapped.attributes.blob?.binaryValue).toBe(Buffer.from([0, 1, 254, 255]).toString('base64'));
    expect(unwrapped.failure).toMatchObject({ redriveCount: 1, eventId: 'evt-1', clientToken: 'tok-1' });

    local.clock.advance(30 * MINUTE);
    expect(await visibleCount(dlqUrl)).toBe(3);
  });

  it('round-trips a message with 10 attributes through both queues wrapped', async () => {
    const { dlqUrl, ingestQueueUrl } = queues();
    const attributes: SQSMessageAttributes = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [
        `attr${i}`,
        { dataType: i % 2 ? 'Number' : 'String', stringValue: `${i}` },
      ]),
    );
    await park(dlqUrl, overQuota, { nextAttemptAt: now(), attributes, body: 'not even JSON \u00e9\r\n' });

    await runRedrive(
      {
        sqs: createSqsPort(sqs),
        dlqUrl,
        ingestQueueUrl,
        limits: { maxAttempts: 20, maxAgeSeconds: 86_400 },
        now,
      },
      { mode: 'scheduled' },
    );
    const record = await receiveAsLambdaRecord(ingestQueueUrl);
    const unwrapped = unwrapIngestRecord(record);

    expect(Object.keys(record.messageAttributes)).toEqual([FAILURE_ATTRIBUTE]);
    expect(unwrapped.body).toBe('not even JSON \u00e9\r\n');
    expect(Object.keys(unwrapped.attributes).sort()).toEqual(Object.keys(attributes).sort());
    expect(unwrapped.attributes.attr3).toMatchObject({ dataType: 'Number', stringValue: '3' });
  });

  describe('dlq commands', () => {
    /** The CLI with the test's queues and SQS client (no endpoint: this machine's clock; these tests leave the emulator's unmoved). */
    async function cli(argv: string[], target: { dlqUrl: string; ingestQueueUrl: string }) {
      return runCli(argv, {
        env: { DLQ_URL: target.dlqUrl, INGEST_QUEUE_URL: target.ingestQueueUrl, TASK_INGEST_STAGE: 'test' },
        clients: { sqs: () => sqs },
      });
    }

    it('lists, shows, replays with a filter and refuses a delete without one', async () => {
      const target = queues();
      await park(target.dlqUrl, overQuota, { nextAttemptAt: now() + 30 * MINUTE });
      const permanentId = await park(target.dlqUrl, permanent);

      const list = await cli(['dlq', 'list'], target);
      const show = await cli(['dlq', 'show', permanentId], target);
      const dryRun = await cli(['dlq', 'replay', '--class', 'PERMANENT', '--dry-run'], target);
      const afterDryRun = await visibleCount(target.dlqUrl);
      const replay = await cli(['dlq', 'replay', '--source', 'orders', '--rate', '50'], target);
      const refusedDelete = await cli(['dlq', 'delete'], target);

      expect(list.code).toBe(0);
      expect(list.out).toMatch(/OVER_QUOTA {2}ServiceQuotaExceededException {2}source=crm/);
      expect(list.out).toMatch(/PERMANENT {2}ValidationFailed {2}source=orders/);
      expect(list.out).not.toContain('Ada');
      expect(show.out).toContain('"code": "ValidationFailed"');
      expect(show.out).toContain('{"id":"evt-1","data":{"name":"Ada"}}');
      expect(dryRun.out).toMatch(new RegExp(`would replay {2}${permanentId} {2}PERMANENT`));
      expect(afterDryRun).toBe(2);
      expect(replay.code).toBe(0);
      expect(replay.out).toMatch(/replayed 1, skipped 1, problems 0/);
      expect(await visibleCount(target.ingestQueueUrl)).toBe(1);
      expect(await visibleCount(target.dlqUrl)).toBe(1);
      expect(refusedDelete.code).toBe(2);
      expect(refusedDelete.err).toMatch(/needs message ids or a filter/);
    });

    it('deletes a message by id and exits with an error when a replay leaves problems', async () => {
      const target = queues();
      const orphan = await sqs.send(
        new SendMessageCommand({ QueueUrl: target.dlqUrl, MessageBody: 'orphan' }),
      );

      const replay = await cli(['dlq', 'replay'], target);
      const del = await cli(['dlq', 'delete', orphan.MessageId as string], target);

      expect(replay.out).toMatch(/problem {2}.*no failure record/);
      expect(replay.code).toBe(1);
      expect(replay.err).toMatch(/1 message\(s\) were not replayed/);
      expect(del.out).toMatch(/deleted 1 message/);
      expect(await visibleCount(target.dlqUrl)).toBe(0);
    });
  });
});
