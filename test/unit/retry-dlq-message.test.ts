import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildDlqMessage,
  type FailureInput,
  readDlqMessage,
  toReplayMessage,
  unwrapIngestRecord,
} from '#lib/retry/dlq-message.ts';
import { FAILURE_ATTRIBUTE, type FailureRecord, WRAPPED_MARKER } from '#lib/retry/failure-record.ts';

const NOW = Date.parse('2025-03-01T10:00:00.000Z');

const attributeName = fc
  .stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,19}$/)
  .filter((name) => name !== FAILURE_ATTRIBUTE);

const lambdaAttribute = fc.oneof(
  fc
    .string({ minLength: 1, maxLength: 40, unit: 'binary' })
    .map((v) => ({ dataType: 'String', stringValue: v })),
  fc.integer().map((n) => ({ dataType: 'Number', stringValue: String(n) })),
  fc
    .uint8Array({ minLength: 1, maxLength: 32 })
    .map((bytes) => ({ dataType: 'Binary', binaryValue: Buffer.from(bytes).toString('base64') })),
  fc.string({ minLength: 1, maxLength: 10 }).map((v) => ({ dataType: 'String.custom', stringValue: v })),
);

const attributes = (maxKeys: number) =>
  fc.dictionary(attributeName, lambdaAttribute, { maxKeys }) as fc.Arbitrary<SQSMessageAttributes>;

const body = fc.string({ maxLength: 300, unit: 'binary' });

const overQuota: FailureInput = {
  class: 'OVER_QUOTA',
  code: 'ServiceQuotaExceededException',
  message: 'The service quota has been exceeded.',
  source: 'crm',
  ruleId: 'r1',
  eventId: 'evt-1',
  clientToken: 'tok-1',
};

/** What Lambda hands the handler for a message SQS received with these SDK-shaped attributes. */
function asLambdaRecord(
  messageId: string,
  message: { MessageBody: string; MessageAttributes: Record<string, MessageAttributeValue> },
): SQSRecord {
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes)) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined
        ? {}
        : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: message.MessageBody,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(NOW),
      SenderId: 'AIDA',
      ApproximateFirstReceiveTimestamp: String(NOW),
    },
    messageAttributes,
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ingest',
    awsRegion: 'us-east-1',
  };
}

/** Attributes compared in one canonical shape: name → [DataType, string value or base64]. */
function canonicalLambda(attrs: SQSMessageAttributes): Record<string, [string, string | undefined]> {
  return Object.fromEntries(
    Object.entries(attrs).map(([name, a]) => [name, [a.dataType, a.stringValue ?? a.binaryValue]]),
  );
}
function canonicalSdk(
  attrs: Record<string, MessageAttributeValue>,
): Record<string, [string, string | undefined]> {
  return Object.fromEntries(
    Object.entries(attrs).map(([name, a]) => [
      name,
      [
        a.DataType ?? '',
        a.StringValue ?? (a.BinaryValue ? Buffer.from(a.BinaryValue).toString('base64') : undefined),
      ],
    ]),
  );
}

describe('buildDlqMessage / readDlqMessage round trip', () => {
  it('keeps the body byte-for-byte and every original attribute, wrapped or not', () => {
    fc.assert(
      fc.property(body, attributes(10), (originalBody, originalAttributes) => {
        // Prepare / Act
        const parked = buildDlqMessage({
          body: originalBody,
          attributes: originalAttributes,
          messageId: 'm-1',
          failure: overQuota,
          now: NOW,
        });
        const read = readDlqMessage({
          Body: parked.MessageBody,
          MessageAttributes: parked.MessageAttributes,
        });
        // Assess
        expect(read.problem).toBeUndefined();
        expect(read.body).toBe(originalBody);
        expect(canonicalSdk(read.attributes)).toEqual(canonicalLambda(originalAttributes));
        expect(read.failure).toMatchObject({ class: 'OVER_QUOTA', attempts: 1, originalMessageId: 'm-1' });
        expect(Object.keys(parked.MessageAttributes).length).toBeLessThanOrEqual(10);
      }),
      { numRuns: 200 },
    );
  });

  it('wraps exactly when the original uses all 10 attribute slots', () => {
    fc.assert(
      fc.property(body, attributes(10), (originalBody, originalAttributes) => {
        const count = Object.keys(originalAttributes).length;

        const parked = buildDlqMessage({
          body: originalBody,
          attributes: originalAttributes,
          messageId: 'm-1',
          failure: overQuota,
          now: NOW,
        });

        const record = JSON.parse(
          parked.MessageAttributes[FAILURE_ATTRIBUTE]?.StringValue ?? '',
        ) as FailureRecord;
        if (count === 10) {
          expect(Object.keys(parked.MessageAttributes)).toEqual([FAILURE_ATTRIBUTE]);
          expect(record.wrapped).toBe(true);
          expect(JSON.parse(parked.MessageBody).marker).toBe(WRAPPED_MARKER);
        } else {
          expect(Object.keys(parked.MessageAttributes).length).toBe(count + 1);
          expect(record.wrapped).toBeUndefined();
          expect(parked.MessageBody).toBe(originalBody);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('wraps a message with 10 attributes and gives back every byte, binary included', () => {
    const ten: SQSMessageAttributes = Object.fromEntries(
      Array.from({ length: 9 }, (_, i) => [`attr${i}`, { dataType: 'String', stringValue: `value ${i} ✓` }]),
    );
    ten.blob = { dataType: 'Binary', binaryValue: Buffer.from([0, 255, 10, 13]).toString('base64') };
    const originalBody = '{"id":"e-1",\r\n "x":"é"}';

    const parked = buildDlqMessage({
      body: originalBody,
      attributes: ten,
      messageId: 'm-1',
      failure: overQuota,
      now: NOW,
    });
    const read = readDlqMessage({ Body: parked.MessageBody, MessageAttributes: parked.MessageAttributes });

    expect(Object.keys(parked.MessageAttributes)).toEqual([FAILURE_ATTRIBUTE]);
    expect(read.failure?.wrapped).toBe(true);
    expect(read.body).toBe(originalBody);
    expect(Buffer.from(read.attributes.blob?.BinaryValue ?? new Uint8Array()).toString('hex')).toBe(
      '00ff0a0d',
    );
    expect(canonicalSdk(read.attributes)).toEqual(canonicalLambda(ten));
  });

  it('replaces an old cti.failure attribute instead of keeping two records', () => {
    const parked = buildDlqMessage({
      body: '{}',
      attributes: {
        [FAILURE_ATTRIBUTE]: { dataType: 'String', stringValue: '{"old":true}' },
        source: { dataType: 'String', stringValue: 'crm' },
      },
      messageId: 'm-1',
      failure: overQuota,
      now: NOW,
    });

    expect(Object.keys(parked.MessageAttributes).sort()).toEqual([FAILURE_ATTRIBUTE, 'source']);
    expect(parked.MessageAttributes[FAILURE_ATTRIBUTE]?.StringValue).toContain('"v":1');
  });
});

describe('buildDlqMessage failure record', () => {
  it('stamps the first SQS message id as eventId when the envelope had none', () => {
    const parked = buildDlqMessage({
      body: 'not json',
      attributes: {},
      messageId: 'sqs-123',
      failure: { class: 'PERMANENT', code: 'MalformedJson', message: 'body is not JSON' },
      now: NOW,
    });

    const { failure } = readDlqMessage({
      Body: parked.MessageBody,
      MessageAttributes: parked.MessageAttributes,
    });

    expect(failure).toMatchObject({
      eventId: 'sqs-123',
      originalMessageId: 'sqs-123',
      firstFailureAt: '2025-03-01T10:00:00.000Z',
      lastFailureAt: '2025-03-01T10:00:00.000Z',
      attempts: 1,
      redriveCount: 0,
    });
  });

  it('carries attempts, firstFailureAt, originalMessageId, redriveCount and identity from the previous record', () => {
    const previous: FailureRecord = {
      v: 1,
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
      message: 'quota',
      source: 'crm',
      eventId: 'sqs-first',
      clientToken: 'tok-1',
      attempts: 3,
      redriveCount: 2,
      firstFailureAt: '2025-02-28T10:00:00.000Z',
      lastFailureAt: '2025-02-28T12:00:00.000Z',
      nextAttemptAt: '2025-02-28T12:05:00.000Z',
      originalMessageId: 'sqs-first',
    };
    const nextAttemptAt = new Date(NOW + 120_000);

    const parked = buildDlqMessage({
      body: '{}',
      attributes: {},
      messageId: 'sqs-replayed',
      previous,
      failure: { class: 'OVER_QUOTA', code: 'ServiceQuotaExceededException', message: 'quota again' },
      now: NOW,
      nextAttemptAt,
    });
    const { failure } = readDlqMessage({
      Body: parked.MessageBody,
      MessageAttributes: parked.MessageAttributes,
    });

    expect(failure).toEqual({
      v: 1,
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
      message: 'quota again',
      source: 'crm',
      eventId: 'sqs-first',
      clientToken: 'tok-1',
      attempts: 4,
      redriveCount: 2,
      firstFailureAt: '2025-02-28T10:00:00.000Z',
      lastFailureAt: '2025-03-01T10:00:00.000Z',
      nextAttemptAt: nextAttemptAt.toISOString(),
      originalMessageId: 'sqs-first',
    });
  });
});

describe('readDlqMessage with a bad record', () => {
  it.each([
    ['missing', {}, /no failure record/],
    ['not JSON', { [FAILURE_ATTRIBUTE]: { DataType: 'String', StringValue: '{oops' } }, /not JSON/],
    ['wrong version', { [FAILURE_ATTRIBUTE]: { DataType: 'String', StringValue: '{"v":2}' } }, /invalid/],
    [
      'binary',
      { [FAILURE_ATTRIBUTE]: { DataType: 'Binary', BinaryValue: new Uint8Array([1]) } },
      /no string value/,
    ],
  ])('reports a %s record as a problem and leaves failure undefined', (_label, attrs, expected) => {
    const read = readDlqMessage({
      Body: 'original',
      MessageAttributes: attrs as Record<string, MessageAttributeValue>,
    });

    expect(read.failure).toBeUndefined();
    expect(read.problem).toMatch(expected);
    expect(read.body).toBe('original');
  });

  it('reports a record that says wrapped over a body that is not a wrapper', () => {
    const parked = buildDlqMessage({
      body: 'x',
      attributes: Object.fromEntries(
        Array.from({ length: 10 }, (_, i) => [`a${i}`, { dataType: 'String', stringValue: 'v' }]),
      ),
      messageId: 'm-1',
      failure: overQuota,
      now: NOW,
    });

    const read = readDlqMessage({ Body: 'tampered', MessageAttributes: parked.MessageAttributes });

    expect(read.problem).toMatch(/wrapped/);
    expect(read.body).toBe('tampered');
  });

  it('never throws, whatever the attribute holds', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (value, messageBody) => {
        const read = readDlqMessage({
          Body: messageBody,
          MessageAttributes: { [FAILURE_ATTRIBUTE]: { DataType: 'String', StringValue: value } },
        });
        expect(read.failure !== undefined || read.problem !== undefined).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('toReplayMessage and unwrapIngestRecord', () => {
  it('gives the ingest handler the original body, attributes and the record with the new redrive count', () => {
    fc.assert(
      fc.property(body, attributes(10), (originalBody, originalAttributes) => {
        const parked = buildDlqMessage({
          body: originalBody,
          attributes: originalAttributes,
          messageId: 'm-1',
          failure: overQuota,
          now: NOW,
        });
        const read = readDlqMessage({
          Body: parked.MessageBody,
          MessageAttributes: parked.MessageAttributes,
        });

        const replay = toReplayMessage(read, { redriveCount: 1 });
        const unwrapped = unwrapIngestRecord(asLambdaRecord('m-2', replay));

        expect(unwrapped.problem).toBeUndefined();
        expect(unwrapped.body).toBe(originalBody);
        expect(canonicalLambda(unwrapped.attributes)).toEqual(canonicalLambda(originalAttributes));
        expect(unwrapped.failure).toMatchObject({
          redriveCount: 1,
          eventId: 'evt-1',
          clientToken: 'tok-1',
          originalMessageId: 'm-1',
        });
        expect(Object.keys(replay.MessageAttributes).length).toBeLessThanOrEqual(10);
      }),
      { numRuns: 200 },
    );
  });

  it('passes a first delivery through untouched, without a record', () => {
    const record = asLambdaRecord('m-1', {
      MessageBody: '{"a":1}',
      MessageAttributes: { source: { DataType: 'String', StringValue: 'crm' } },
    });

    const unwrapped = unwrapIngestRecord(record);

    expect(unwrapped).toEqual({ body: '{"a":1}', attributes: record.messageAttributes });
  });

  it('processes a message with an unreadable record as new and says why', () => {
    const record = asLambdaRecord('m-1', {
      MessageBody: '{}',
      MessageAttributes: { [FAILURE_ATTRIBUTE]: { DataType: 'String', StringValue: 'garbage' } },
    });

    const unwrapped = unwrapIngestRecord(record);

    expect(unwrapped.failure).toBeUndefined();
    expect(unwrapped.problem).toMatch(/not JSON/);
    expect(unwrapped.attributes).toEqual({});
  });

  it('refuses to replay a message without a readable record', () => {
    const read = readDlqMessage({ Body: 'x' });

    expect(() => toReplayMessage(read, { redriveCount: 1 })).toThrow(/cannot replay/);
  });
});
