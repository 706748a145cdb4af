/**
 * The chaos run's PutEvents crashes (bench/chaos/faults.ts) on an EventBridge client whose HTTP layer
 * is a counter: a crash before the call sends nothing, a crash after sends and then throws, other
 * commands pass, and a rate of 0 crashes nothing. No network.
 */
import { Readable } from 'node:stream';
import { DescribeEventBusCommand, EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { crashPutEvents, PutEventsCrashError, type PutEventsCrashes } from '#bench/chaos/faults.ts';

/** A client whose every request reaches `sent` and is answered with an accepted entry. */
function countingClient() {
  const sent: string[] = [];
  const client = new EventBridgeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: {
      async handle(request: { headers: Record<string, string> }) {
        sent.push(request.headers['x-amz-target'] ?? '');
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.1' },
            body: Readable.from([
              Buffer.from(JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] })),
            ]),
          },
        };
      },
    },
  });
  return { client, sent };
}

const put = () =>
  new PutEventsCommand({
    Entries: [{ Source: 'chaos', DetailType: 'task.created', Detail: '{}', EventBusName: 'b' }],
  });

const crashes = (rate: number): PutEventsCrashes => ({ rate, calls: 0, crashedBefore: 0, crashedAfter: 0 });

describe('chaos PutEvents crashes', () => {
  it('crashes before the call reaches the bus when the draw falls in the first half of the rate', async () => {
    // Prepare
    const { client, sent } = countingClient();
    const c = crashes(0.5);
    crashPutEvents(client, c, () => 0.1);
    // Act + Assess
    await expect(client.send(put())).rejects.toMatchObject({ name: 'PutEventsCrashError', when: 'before' });
    expect(sent).toEqual([]);
    expect(c).toMatchObject({ calls: 1, crashedBefore: 1, crashedAfter: 0 });
  });

  it('crashes after the bus accepted the call when the draw falls in the second half of the rate', async () => {
    // Prepare
    const { client, sent } = countingClient();
    const c = crashes(0.5);
    crashPutEvents(client, c, () => 0.4);
    // Act
    const error = await client.send(put()).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(PutEventsCrashError);
    expect((error as PutEventsCrashError).when).toBe('after');
    expect(sent).toEqual(['AWSEvents.PutEvents']);
    expect(c).toMatchObject({ calls: 1, crashedBefore: 0, crashedAfter: 1 });
  });

  it('lets the call through above the rate, at rate 0 without drawing, and never touches other commands', async () => {
    // Prepare
    const { client, sent } = countingClient();
    const c = crashes(0.5);
    let draws = 0;
    crashPutEvents(client, c, () => {
      draws += 1;
      return 0.7;
    });
    // Act
    const accepted = await client.send(put());
    c.rate = 0;
    await client.send(put());
    await client.send(new DescribeEventBusCommand({ Name: 'b' })).catch(() => undefined);
    // Assess
    expect(accepted.Entries).toEqual([{ EventId: 'e1' }]);
    expect(draws).toBe(1);
    expect(sent).toEqual(['AWSEvents.PutEvents', 'AWSEvents.PutEvents', 'AWSEvents.DescribeEventBus']);
    expect(c).toMatchObject({ calls: 2, crashedBefore: 0, crashedAfter: 0 });
  });
});
