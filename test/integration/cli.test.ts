import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { INSTANCE_ID as INSTANCE } from '#common/world.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { useSandbox } from '#test/support/sandbox-fixture.ts';

describe('task-ingest against the sandbox (loopback, real SDK clients)', () => {
  const f = useSandbox();
  /** Runs the CLI as an operator would: only --endpoint, no stage, no credentials in the environment. */
  const { cli } = f;

  it('puts, lists, gets and deletes a rule in the sandbox rules table (stage local by default)', async () => {
    // Act
    const put = await cli(['rules', 'put', 'events/rules/crm-case.json']);
    const putAgain = await cli(['rules', 'put', 'events/rules/crm-case.json']);
    const list = await cli(['rules', 'list', '--source', 'com.example.crm', '--json']);
    const get = await cli(['rules', 'get', 'com.example.crm', 'case-opened']);
    const removed = await cli(['rules', 'delete', 'com.example.crm', 'case-opened']);
    const gone = await cli(['rules', 'get', 'com.example.crm', 'case-opened']);

    // Assess
    expect(put).toMatchObject({
      code: 0,
      out: 'stored rule case-opened of source com.example.crm (version 1)\n',
    });
    expect(putAgain.out).toContain('(version 2)');
    expect(JSON.parse(list.out)).toEqual([
      expect.objectContaining({ ruleId: 'case-opened', version: 2, valid: true }),
    ]);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.out)).toMatchObject({ ruleId: 'case-opened', instanceId: INSTANCE, version: 2 });
    expect(removed).toMatchObject({ code: 0, out: 'deleted rule case-opened of source com.example.crm\n' });
    expect(gone.code).toBe(1);
    expect(gone.err).toContain('no rule case-opened for source com.example.crm');
  });

  it('puts back a rule saved by rules get only if nobody changed it in between', async () => {
    // Prepare
    await cli(['rules', 'put', 'events/rules/orders.json']);
    const saved = await cli(['rules', 'get', 'com.example.orders', 'order-delayed']);
    const dir = mkdtempSync(join(tmpdir(), 'cti-cli-it-'));
    const path = join(dir, 'order-delayed.json');
    writeFileSync(path, saved.out.replace('"priority": 100', '"priority": 50'));

    // Act
    const first = await cli(['rules', 'put', path]);
    const stale = await cli(['rules', 'put', path]);
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(first).toMatchObject({
      code: 0,
      out: 'stored rule order-delayed of source com.example.orders (version 2)\n',
    });
    expect(stale.code).toBe(1);
    expect(stale.err).toContain('expected version 1, stored version is 2');
  });

  it('tests a message against the stored rules of a source without calling Connect', async () => {
    // Prepare
    await cli(['rules', 'put', 'events/rules/crm-case.json']);

    // Act
    const result = await cli([
      'rules',
      'test',
      '--source',
      'com.example.crm',
      'events/messages/cloudevents.json',
      '--sample',
    ]);

    // Assess
    expect(result.code).toBe(0);
    const request = JSON.parse(result.out) as Record<string, unknown>;
    expect(request.ClientToken).toBe(taskClientToken(INSTANCE, 'com.example.crm', 'case-1001-opened'));
    expect(f.sandbox.connect.callCounts()).toEqual({});
    expect(f.sandbox.connect.contacts()).toEqual([]);
  });

  it('sends a message to the ingest queue that arrives byte-for-byte with its attributes', async () => {
    // Act
    const result = await cli(['send', 'events/messages/raw.json', '--sample', '--attr', 'channel=cli']);

    // Assess
    expect(result.code).toBe(0);
    const messageId = result.out.trim();
    const received = await f.sandbox.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: f.sandbox.environment.INGEST_QUEUE_URL,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    const message = received.Messages?.find((m) => m.MessageId === messageId);
    expect(message).toBeDefined();
    expect(JSON.parse(message?.Body ?? '')).toMatchObject({ orderId: '5001' });
    expect(message?.MessageAttributes?.source?.StringValue).toBe('com.example.orders');
    expect(message?.MessageAttributes?.channel?.StringValue).toBe('cli');
  });

  it('resolves the stage queue URLs before a dlq command runs', async () => {
    // Act
    const result = await cli(['dlq', 'list', '--json']);

    // Assess
    expect(result.code).toBe(0);
    expect(Array.isArray(JSON.parse(result.out))).toBe(true);
  });
});
