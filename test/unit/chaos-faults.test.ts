/**
 * The chaos run's PutEvents crashes (bench/chaos/faults.ts) on an EventBridge client whose HTTP layer
 * is a counter: a crash before the call sends nothing, a crash after sends and then throws, other
 * commands pass, and a rate of 0 crashes nothing. Then through the service's outbox
 * (lib/outcomes/drain.ts with lib/outcomes/publisher.ts on the in-memory ledger): a crash before the
 * bus leaves the outcome pending and a later drain publishes it; a crash after the bus leaves it
 * pending too, and the later drain sends it again under the same id, the same outcome. No network.
 */
import { Readable } from 'node:stream';
import { DescribeEventBusCommand, EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { crashPutEvents, PutEventsCrashError, type PutEventsCrashes } from '#bench/chaos/faults.ts';
import { drainEffects } from '#lib/outcomes/drain.ts';
import { publishEffect } from '#lib/outcomes/effects.ts';
import { buildOutcome } from '#lib/outcomes/outcome.ts';
import { EventBridgeOutcomePublisher } from '#lib/outcomes/publisher.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';

/**
 * A client whose every request reaches `sent` and is answered with an accepted entry; the entries of
 * each PutEvents request are kept in `entries`, as the bus would keep them.
 */
function countingClient() {
  const sent: string[] = [];
  const entries: Array<{ DetailType?: string; Detail?: string }> = [];
  const client = new EventBridgeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: {
      async handle(request: { headers: Record<string, string>; body?: unknown }) {
        const target = request.headers['x-amz-target'] ?? '';
        sent.push(target);
        const { body } = request;
        const text = body instanceof Uint8Array ? new TextDecoder().decode(body) : String(body);
        if (target === 'AWSEvents.PutEvents') entries.push(...JSON.parse(text).Entries);
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
  return { client, sent, entries };
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

describe('chaos PutEvents crashes through the outbox', () => {
  const T0 = Date.parse('2024-05-01T09:00:00Z');
  const KEY = 'task#t1';
  const created = buildOutcome('task.created', ['t1'], 'contact-t1', T0, {
    event: { source: 'chaos.crm', id: 'case-1-opened' },
  });

  /** The outcome recorded in the outbox, the crashing client, and a drain of what is pending. */
  async function outboxWithCrashes(draw: number) {
    const ledger = new InMemoryLedger();
    await ledger.putEffects(KEY, [publishEffect(created)], T0);
    const { client, entries } = countingClient();
    const c = crashes(0.5);
    crashPutEvents(client, c, () => draw);
    const deps = {
      outbox: ledger,
      publisher: new EventBridgeOutcomePublisher(client, 'outcomes'),
      log: { warn: () => {} },
      now: () => T0,
    };
    const drain = async () => drainEffects(KEY, await ledger.pendingEffects(KEY), deps);
    return { ledger, entries, c, drain };
  }

  it('publishes nothing when the function crashes before the bus, and the outbox delivers the outcome later', async () => {
    // Prepare
    const { ledger, entries, c, drain } = await outboxWithCrashes(0.1);
    // Act: the crashed drain, then the faults off and the sweep's drain.
    const crashed = await drain();
    const afterCrash = entries.length;
    const pendingAfterCrash = (await ledger.pendingEffects(KEY)).map((e) => e.id);
    c.rate = 0;
    const later = await drain();
    // Assess
    expect(c.crashedBefore).toBe(1);
    expect(crashed).toMatchObject({ done: [], left: 1 });
    expect(afterCrash).toBe(0);
    expect(pendingAfterCrash).toEqual([created.id]);
    expect(later.left).toBe(0);
    expect(entries.map((e) => JSON.parse(e.Detail ?? '{}').id)).toEqual([created.id]);
    expect(await ledger.pendingEffects(KEY)).toEqual([]);
  });

  it('publishes once when the function crashes after the bus, and the outbox sends it again under the same id, the same outcome', async () => {
    // Prepare
    const { ledger, entries, c, drain } = await outboxWithCrashes(0.4);
    // Act
    const crashed = await drain();
    const afterCrash = entries.length;
    const pendingAfterCrash = (await ledger.pendingEffects(KEY)).map((e) => e.id);
    c.rate = 0;
    await drain();
    // Assess
    expect(c.crashedAfter).toBe(1);
    expect(crashed).toMatchObject({ done: [], left: 1 });
    expect(afterCrash).toBe(1);
    expect(pendingAfterCrash).toEqual([created.id]);
    expect(entries).toHaveLength(2);
    const [first, again] = entries.map((e) => JSON.parse(e.Detail ?? '{}'));
    expect(first).toEqual(created);
    expect(again).toEqual(first);
    expect(entries.map((e) => e.DetailType)).toEqual(['task.created', 'task.created']);
    expect(await ledger.pendingEffects(KEY)).toEqual([]);
  });
});
