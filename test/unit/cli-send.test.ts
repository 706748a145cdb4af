import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueUrlCommand, QueueDoesNotExist, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Env } from '#cli/context.ts';
import { runCli } from '#test/support/cli.ts';

const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/connect-task-ingest-local-ingest';

describe('task-ingest send (in process)', () => {
  const sqs = mockClient(SQSClient);
  let dir: string;

  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const cli = (argv: string[], env: Env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }) =>
    runCli(argv, { env, clients: { sqs: () => new SQSClient({ region: 'us-east-1' }) } });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cti-cli-send-'));
  });
  beforeEach(() => {
    sqs.reset();
    sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: QUEUE_URL });
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  });
  afterAll(() => {
    sqs.restore();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the body byte-for-byte to the stage ingest queue with the source, type and id attributes', async () => {
    // Prepare
    const body = '{ "orderId" : "5001",\n  "note": "keep   spacing" }\n';
    const path = file('raw.json', body);

    // Act
    const result = await cli([
      'send',
      path,
      '--source',
      'com.example.orders',
      '--type',
      'order.delayed',
      '--id',
      'o-1',
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.out).toBe('m-1\n');
    expect(sqs.commandCalls(GetQueueUrlCommand)[0]?.args[0].input).toEqual({
      QueueName: 'connect-task-ingest-local-ingest',
    });
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE_URL,
      MessageBody: body,
      MessageAttributes: {
        source: { DataType: 'String', StringValue: 'com.example.orders' },
        type: { DataType: 'String', StringValue: 'order.delayed' },
        id: { DataType: 'String', StringValue: 'o-1' },
      },
    });
  });

  it('uses INGEST_QUEUE_URL instead of looking the queue up', async () => {
    // Prepare
    const path = file('raw-env.json', '{"a":1}');

    // Act
    const result = await cli(['send', path, '--source', 's', '--json'], {
      INGEST_QUEUE_URL: 'https://sqs/q',
    });

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toEqual({ MessageId: 'm-1' });
    expect(sqs.commandCalls(GetQueueUrlCommand)).toHaveLength(0);
    expect(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.QueueUrl).toBe('https://sqs/q');
  });

  it("publishes to a lane's queue with --lane, found by name or by its variable", async () => {
    // Prepare
    const path = file('lane.json', '{"a":1}');

    // Act
    const urgent = await cli(['send', path, '--source', 's', '--lane', 'urgent']);
    const bulk = await cli(['send', path, '--source', 's', '--lane', 'bulk'], {
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      INGEST_BULK_QUEUE_URL: 'https://sqs/bulk',
    });
    const normal = await cli(['send', path, '--source', 's', '--lane', 'normal']);
    const refused = await cli(['send', path, '--source', 's', '--lane', 'express']);

    // Assess
    expect([urgent.code, bulk.code, normal.code]).toEqual([0, 0, 0]);
    expect(sqs.commandCalls(GetQueueUrlCommand).map((c) => c.args[0].input.QueueName)).toEqual([
      'connect-task-ingest-local-ingest-urgent',
      'connect-task-ingest-local-ingest',
    ]);
    expect(sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input.QueueUrl)).toEqual([
      QUEUE_URL,
      'https://sqs/bulk',
      QUEUE_URL,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain("argument 'express' is invalid. Allowed choices are urgent, normal, bulk.");
  });

  it('refuses a plain JSON message without a source, which could only end in the DLQ', async () => {
    // Prepare
    const path = file('no-source.json', '{"a":1}');

    // Act
    const refused = await cli(['send', path]);
    const forced = await cli(['send', path, '--no-check']);

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('would be parked in the DLQ');
    expect(forced.code).toBe(0);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
  });

  it('sends a sample message with its attributes, --attr adding to them', async () => {
    // Act
    const result = await cli(['send', 'events/messages/raw.json', '--sample', '--attr', 'region=eu']);

    // Assess
    expect(result.code).toBe(0);
    const input = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    expect(JSON.parse(input?.MessageBody ?? '')).toMatchObject({ orderId: '5001' });
    expect(input?.MessageAttributes?.source?.StringValue).toBe('com.example.orders');
    expect(input?.MessageAttributes?.region?.StringValue).toBe('eu');
  });

  it('refuses a sample message whose attribute has no StringValue, naming the field', async () => {
    // Prepare
    const path = file(
      'bad-sample.json',
      '{"body":{"a":1},"messageAttributes":{"source":{"DataType":"String"}}}',
    );

    // Act
    const result = await cli(['send', path, '--sample']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/messageAttributes\.source\.StringValue/);
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it("is a usage error to set the service's own cti. attributes", async () => {
    // Prepare
    const path = file('reserved.json', '{"a":1}');

    // Act
    const result = await cli(['send', path, '--source', 's', '--attr', 'cti.failure=x']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toContain('belong to the service');
    expect(sqs.calls()).toHaveLength(0);
  });

  it('is a usage error to give a malformed --attr', async () => {
    // Prepare
    const path = file('malformed-attr.json', '{"a":1}');

    // Act
    const result = await cli(['send', path, '--source', 's', '--attr', 'novalue']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toContain('expected key=value');
  });

  it('exits 1 naming the queue when it does not exist', async () => {
    // Prepare
    sqs.on(GetQueueUrlCommand).rejects(new QueueDoesNotExist({ message: 'no queue', $metadata: {} }));
    const path = file('missing-queue.json', '{"a":1}');

    // Act
    const result = await cli(['send', path, '--source', 's', '--stage', 'prod']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.err).toContain('cannot find queue connect-task-ingest-prod-ingest');
  });
});
