/**
 * Lambda fixtures for tests: a Context, SQS records and events in the exact shape the event source
 * mapping delivers (see sandbox/poller.ts), and the sample files under events/.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context, SQSMessageAttribute, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { now } from '#lib/clock.ts';
import { createLambdaContext, type LambdaContextOptions } from '#sandbox/lambda-context.ts';

const TEST_REGION = 'us-east-1';
const TEST_ACCOUNT = '000000000000';
const INGEST_QUEUE_ARN = `arn:aws:sqs:${TEST_REGION}:${TEST_ACCOUNT}:connect-task-ingest-dev-ingest`;

const EVENTS_DIR = new URL('../../events/', import.meta.url);

/** A Context for one invocation; defaults: the ingest function, 60 s timeout, 512 MB. */
export function lambdaContext(overrides: Partial<LambdaContextOptions> = {}): Context {
  return createLambdaContext({
    functionName: 'connect-task-ingest-dev-ingest',
    timeoutMs: 60_000,
    memoryMB: 512,
    region: TEST_REGION,
    accountId: TEST_ACCOUNT,
    ...overrides,
  });
}

/** Reads a JSON sample under events/, e.g. `readSample('messages/cloudevent.json')`. */
export function readSample<T = unknown>(path: string): T {
  const url = new URL(path.replace(/^\/+/, '').replace(/^events\//, ''), EVENTS_DIR);
  return JSON.parse(readFileSync(url, 'utf8')) as T;
}

/** A String message attribute as Lambda delivers it. */
export function stringAttribute(value: string, dataType = 'String'): SQSMessageAttribute {
  return { stringValue: value, stringListValues: [], binaryListValues: [], dataType };
}

/** A Binary message attribute as Lambda delivers it (base64). */
export function binaryAttribute(value: Uint8Array | string, dataType = 'Binary'): SQSMessageAttribute {
  return {
    binaryValue: Buffer.from(value).toString('base64'),
    stringListValues: [],
    binaryListValues: [],
    dataType,
  };
}

export type SqsRecordInput = Omit<Partial<SQSRecord>, 'attributes' | 'body'> & {
  /** A string is used as is; anything else is JSON-encoded. */
  body?: unknown;
  attributes?: Partial<SQSRecordAttributes>;
};

/**
 * An SQS record in Lambda's shape. Defaults: a fresh messageId and receiptHandle, body `{}`, first
 * delivery sent now (the movable clock), the ingest queue; md5OfBody always matches the body.
 */
export function sqsRecord(partial: SqsRecordInput = {}): SQSRecord {
  const { body: rawBody, attributes, ...rest } = partial;
  const body = rawBody === undefined ? '{}' : typeof rawBody === 'string' ? rawBody : JSON.stringify(rawBody);
  const sent = String(now());
  const messageId = rest.messageId ?? randomUUID();
  return {
    messageId,
    receiptHandle: `${messageId}#${randomUUID()}`,
    messageAttributes: {},
    eventSource: 'aws:sqs',
    eventSourceARN: INGEST_QUEUE_ARN,
    awsRegion: TEST_REGION,
    ...rest,
    body,
    md5OfBody: createHash('md5').update(body, 'utf8').digest('hex'),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: sent,
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: sent,
      ...attributes,
    },
  };
}
