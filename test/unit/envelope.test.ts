import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EnvelopeError } from '#lib/envelope/errors.ts';
import { type LambdaMessageAttributes, parseEnvelope } from '#lib/envelope/parse.ts';

interface SampleMessage {
  body: unknown;
  messageAttributes: Record<string, { DataType: string; StringValue?: string }>;
}

function sample(kind: 'cloudevents' | 'eventbridge' | 'sns' | 'raw'): {
  body: string;
  attributes: LambdaMessageAttributes;
} {
  const file = new URL(`../../events/messages/${kind}.json`, import.meta.url);
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as SampleMessage;
  const attributes: LambdaMessageAttributes = {};
  for (const [name, attr] of Object.entries(parsed.messageAttributes)) {
    attributes[name] = { dataType: attr.DataType, stringValue: attr.StringValue };
  }
  return { body: JSON.stringify(parsed.body), attributes };
}

const str = (value: string) => ({ dataType: 'String', stringValue: value });

function expectEnvelopeError(fn: () => unknown, code: EnvelopeError['code']): EnvelopeError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(EnvelopeError);
  const error = caught as EnvelopeError;
  expect(error.code).toBe(code);
  expect(error.name).toBe('EnvelopeError');
  return error;
}

describe('parseEnvelope: sample messages', () => {
  it('normalises the CloudEvents sample with its own identity and data', () => {
    // Prepare
    const { body, attributes } = sample('cloudevents');

    // Act
    const env = parseEnvelope({ body, messageId: 'sqs-1', attributes });

    // Assess
    expect(env).toMatchObject({
      kind: 'cloudevents',
      source: 'com.example.crm',
      id: 'case-1001-opened',
      type: 'com.example.crm.case.opened',
      time: '2024-05-01T09:30:00Z',
      attributes: { tenant: 'acme' },
    });
    expect(env.data).toMatchObject({ caseId: '1001' });
  });

  it('normalises the EventBridge sample: detail-type is the type, detail is the data', () => {
    // Prepare
    const { body, attributes } = sample('eventbridge');

    // Act
    const env = parseEnvelope({ body, messageId: 'sqs-1', attributes });

    // Assess
    expect(env).toMatchObject({
      kind: 'eventbridge',
      source: 'com.example.monitoring',
      id: '7bf73129-1428-4cd3-a780-95db273d1602',
      type: 'Alarm State Change',
      time: '2024-05-01T10:00:00Z',
    });
    expect(env.data).toMatchObject({ alarmName: 'checkout-latency' });
  });

  it('unwraps the SNS sample: TopicArn is the source, MessageId the id, the JSON Message the data', () => {
    // Prepare
    const { body, attributes } = sample('sns');

    // Act
    const env = parseEnvelope({ body, messageId: 'sqs-1', attributes });

    // Assess
    expect(env).toMatchObject({
      kind: 'sns',
      source: 'arn:aws:sns:us-east-1:000000000000:shipping-exceptions',
      id: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
      type: 'DeliveryFailed',
      time: '2024-05-01T11:15:00.000Z',
      data: { shipmentId: 'SH-778', orderId: '5001', reason: 'Address not found', attempts: 3 },
      attributes: { region: 'eu-west' },
    });
  });

  it('takes a raw message identity from its source, id and type attributes', () => {
    // Prepare
    const { body, attributes } = sample('raw');

    // Act
    const env = parseEnvelope({ body, messageId: 'sqs-1', attributes });

    // Assess
    expect(env).toMatchObject({
      kind: 'raw',
      source: 'com.example.orders',
      id: 'order-5001-delayed',
      type: 'order.delayed',
      time: '',
    });
    expect(env.data).toMatchObject({ orderId: '5001' });
  });
});

describe('parseEnvelope: raw identity across DLQ trips', () => {
  const body = JSON.stringify({ orderId: 'x' });

  it('uses the SQS message id when the raw message has no id attribute', () => {
    // Act
    const env = parseEnvelope({ body, messageId: 'sqs-first', attributes: { source: str('s') } });

    // Assess
    expect(env.id).toBe('sqs-first');
  });

  it('keeps the stamped id on a replay with a new SQS message id', () => {
    // Act
    const env = parseEnvelope({
      body,
      messageId: 'sqs-replayed',
      attributes: { source: str('s') },
      stampedEventId: 'sqs-first',
    });

    // Assess
    expect(env.id).toBe('sqs-first');
  });

  it('prefers the id attribute over the stamped id', () => {
    // Act
    const env = parseEnvelope({
      body,
      messageId: 'sqs-replayed',
      attributes: { source: str('s'), id: str('upstream-7') },
      stampedEventId: 'sqs-first',
    });

    // Assess
    expect(env.id).toBe('upstream-7');
  });

  it('ignores the stamped id for CloudEvents, whose identity is in the body', () => {
    // Prepare
    const { body: ce, attributes } = sample('cloudevents');

    // Act
    const env = parseEnvelope({ body: ce, messageId: 'sqs-2', attributes, stampedEventId: 'other' });

    // Assess
    expect(env.id).toBe('case-1001-opened');
  });

  it('accepts any JSON value as raw data, including arrays and scalars', () => {
    // Act
    const arrayEnv = parseEnvelope({ body: '[1,2]', messageId: 'm', attributes: { source: str('s') } });
    const scalarEnv = parseEnvelope({ body: '"text"', messageId: 'm', attributes: { source: str('s') } });

    // Assess
    expect(arrayEnv.data).toEqual([1, 2]);
    expect(scalarEnv.data).toBe('text');
  });
});

describe('parseEnvelope: message attributes', () => {
  it('keeps String and Number attributes and drops cti.* and Binary ones', () => {
    // Prepare
    const attributes: LambdaMessageAttributes = {
      source: str('s'),
      count: { dataType: 'Number', stringValue: '3' },
      label: { dataType: 'String.custom', stringValue: 'x' },
      blob: { dataType: 'Binary', binaryValue: 'AAE=' },
      'cti.failure': str('{"v":1}'),
    };

    // Act
    const env = parseEnvelope({ body: '{}', messageId: 'm', attributes });

    // Assess
    expect(env.attributes).toEqual({ source: 's', count: '3', label: 'x' });
  });

  it('merges SNS String message attributes, letting SQS attributes win', () => {
    // Prepare
    const body = JSON.stringify({
      Type: 'Notification',
      TopicArn: 'arn:t',
      MessageId: 'mid',
      Message: 'plain text',
      MessageAttributes: {
        a: { Type: 'String', Value: 'from-sns' },
        b: { Type: 'String', Value: 'from-sns' },
        bin: { Type: 'Binary', Value: 'AAE=' },
        'cti.x': { Type: 'String', Value: 'no' },
      },
    });

    // Act
    const env = parseEnvelope({ body, messageId: 'm', attributes: { b: str('from-sqs') } });

    // Assess
    expect(env.attributes).toEqual({ a: 'from-sns', b: 'from-sqs' });
    expect(env.data).toBe('plain text');
  });
});

describe('parseEnvelope: shapes inside SNS and CloudEvents', () => {
  it('uses a CloudEvent inside an SNS Message as the envelope', () => {
    // Prepare
    const inner = { specversion: '1.0', source: 'inner.src', id: 'inner-1', type: 't', data: { a: 1 } };
    const body = JSON.stringify({
      Type: 'Notification',
      TopicArn: 'arn:t',
      MessageId: 'mid',
      Message: JSON.stringify(inner),
    });

    // Act
    const env = parseEnvelope({ body, messageId: 'm', attributes: {} });

    // Assess
    expect(env).toMatchObject({ kind: 'cloudevents', source: 'inner.src', id: 'inner-1', data: { a: 1 } });
  });

  it('uses an EventBridge event inside an SNS Message as the envelope', () => {
    // Prepare
    const inner = { source: 'eb.src', id: 'eb-1', 'detail-type': 'X', detail: { b: 2 }, time: 't' };
    const body = JSON.stringify({
      Type: 'Notification',
      TopicArn: 'arn:t',
      MessageId: 'mid',
      Message: JSON.stringify(inner),
    });

    // Act
    const env = parseEnvelope({ body, messageId: 'm', attributes: {} });

    // Assess
    expect(env).toMatchObject({
      kind: 'eventbridge',
      source: 'eb.src',
      id: 'eb-1',
      type: 'X',
      data: { b: 2 },
    });
  });

  it('decodes CloudEvents data_base64 and parses it when the content type is JSON', () => {
    // Prepare
    const body = JSON.stringify({
      specversion: '1.0',
      source: 's',
      id: 'i',
      datacontenttype: 'application/cloudevents+json; charset=utf-8',
      data_base64: Buffer.from('{"k":"v"}').toString('base64'),
    });

    // Act
    const env = parseEnvelope({ body, messageId: 'm', attributes: {} });

    // Assess
    expect(env.data).toEqual({ k: 'v' });
    expect(env.type).toBe('');
  });

  it('hands non-JSON data_base64 to rules as UTF-8 text', () => {
    // Prepare
    const body = JSON.stringify({
      specversion: '1.0',
      source: 's',
      id: 'i',
      data_base64: Buffer.from('héllo').toString('base64'),
    });

    // Act
    const env = parseEnvelope({ body, messageId: 'm', attributes: {} });

    // Assess
    expect(env.data).toBe('héllo');
  });

  it('treats a payload with a Type "Notification" field but no TopicArn as raw JSON', () => {
    // Prepare
    const body = JSON.stringify({ Type: 'Notification', Message: 'business data' });

    // Act
    const env = parseEnvelope({ body, messageId: 'm', attributes: { source: str('app') } });

    // Assess
    expect(env.kind).toBe('raw');
    expect(env.source).toBe('app');
  });

  it('skips a leading byte order mark', () => {
    // Act
    const env = parseEnvelope({ body: '\uFEFF{"a":1}', messageId: 'm', attributes: { source: str('s') } });

    // Assess
    expect(env.data).toEqual({ a: 1 });
  });
});

describe('parseEnvelope: refusals', () => {
  it('refuses a non-JSON body as MalformedJson even with a source attribute, without quoting it', () => {
    // Act
    const error = expectEnvelopeError(
      () => parseEnvelope({ body: 'secret-customer-text', messageId: 'm', attributes: { source: str('s') } }),
      'MalformedJson',
    );

    // Assess
    expect(error.message).toMatch(/not valid JSON \(20 bytes\)/);
    expect(error.message).not.toContain('secret');
    expect(error.cause).toBeUndefined();
  });

  it('refuses a raw message without a source attribute as MissingSource', () => {
    expectEnvelopeError(
      () => parseEnvelope({ body: '{"a":1}', messageId: 'm', attributes: {} }),
      'MissingSource',
    );
  });

  it('refuses a CloudEvent without source as MissingSource and without id as MissingId', () => {
    expectEnvelopeError(
      () => parseEnvelope({ body: '{"specversion":"1.0","id":"i"}', messageId: 'm', attributes: {} }),
      'MissingSource',
    );
    expectEnvelopeError(
      () =>
        parseEnvelope({ body: '{"specversion":"1.0","source":"s","id":""}', messageId: 'm', attributes: {} }),
      'MissingId',
    );
  });

  it('refuses an EventBridge event without id as MissingId', () => {
    expectEnvelopeError(
      () =>
        parseEnvelope({
          body: '{"source":"s","detail-type":"t","detail":{}}',
          messageId: 'm',
          attributes: {},
        }),
      'MissingId',
    );
  });

  it('refuses an SNS notification without MessageId as MissingId', () => {
    const body = JSON.stringify({ Type: 'Notification', TopicArn: 'arn:t', Message: 'x' });
    expectEnvelopeError(() => parseEnvelope({ body, messageId: 'm', attributes: {} }), 'MissingId');
  });

  it.each([
    ['a numeric CloudEvents id', { specversion: '1.0', source: 's', id: 7 }],
    ['both data and data_base64', { specversion: '1.0', source: 's', id: 'i', data: 1, data_base64: 'AA==' }],
    ['invalid base64', { specversion: '1.0', source: 's', id: 'i', data_base64: '***' }],
    [
      'JSON-typed data_base64 that is not JSON',
      { specversion: '1.0', source: 's', id: 'i', datacontenttype: 'application/json', data_base64: 'eyJh' },
    ],
    ['a non-string specversion', { specversion: 1, source: 's', id: 'i' }],
    ['a non-string EventBridge time', { source: 's', id: 'i', 'detail-type': 't', detail: {}, time: 5 }],
  ])('refuses %s as InvalidEnvelope', (_label, body) => {
    expectEnvelopeError(
      () => parseEnvelope({ body: JSON.stringify(body), messageId: 'm', attributes: {} }),
      'InvalidEnvelope',
    );
  });
});
