/**
 * The ingest handler against its invocation's time (lib/ingest/handler.ts): the Lambda context's
 * remaining time becomes every record's deadline. SDK clients are mocked: no network.
 */
import { ConnectClient } from '@aws-sdk/client-connect';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ingestFunctionConfigFromEnv } from '#lib/config.ts';
import { createIngestHandler, INGEST_DEADLINE_MARGIN_MS } from '#lib/ingest/handler.ts';
import { silentLogger } from '#lib/observability/logger.ts';
import { FAILURE_ATTRIBUTE } from '#lib/retry/failure-record.ts';
import { TEST_INGEST_ENV } from '#test/support/env.ts';
import { lambdaContext, readSample, sqsRecord } from '#test/support/lambda.ts';

const sqsMock = mockClient(SQSClient);
const dynamoMock = mockClient(DynamoDBClient);
const connectMock = mockClient(ConnectClient);

afterEach(() => {
  sqsMock.reset();
  dynamoMock.reset();
  connectMock.reset();
});

const ENV = TEST_INGEST_ENV;

describe('the ingest handler within its invocation’s time', () => {
  it('sends every record of an invocation with less than its margin left back to its queue, calling neither DynamoDB nor Connect', async () => {
    // Prepare: a 60-s function invoked with the margin less one second left.
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'copy' });
    const handler = createIngestHandler({
      config: ingestFunctionConfigFromEnv(ENV),
      clients: { connect: new ConnectClient({}), sqs: new SQSClient({}), dynamodb: new DynamoDBClient({}) },
      log: silentLogger,
      budgetMetrics: { put: () => {} },
    });
    const body = JSON.stringify(readSample<{ body: unknown }>('messages/cloudevents.json').body);
    const event: SQSEvent = { Records: [sqsRecord({ body }), sqsRecord({ body })] };
    const context = lambdaContext({ timeoutMs: INGEST_DEADLINE_MARGIN_MS - 1_000 });

    // Act
    const response = await handler(event, context);

    // Assess: both records done (the originals are deleted), each sent back as a delayed copy.
    expect(response).toEqual({ batchItemFailures: [] });
    const sends = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sends).toHaveLength(2);
    for (const send of sends) {
      expect(send.QueueUrl).toBe(ENV.INGEST_QUEUE_URL);
      expect(send.MessageBody).toBe(body);
      expect(send.DelaySeconds).toBeGreaterThanOrEqual(1);
      expect(send.DelaySeconds).toBeLessThanOrEqual(5);
      expect(JSON.parse(send.MessageAttributes?.[FAILURE_ATTRIBUTE]?.StringValue ?? '{}')).toMatchObject({
        code: 'NotAttempted',
      });
    }
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
    expect(dynamoMock.calls()).toHaveLength(0);
    expect(connectMock.calls()).toHaveLength(0);
  });
});
