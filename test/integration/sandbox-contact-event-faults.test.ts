/**
 * The contact events fault mode (`contactEvents` in the Connect emulator config): drops, repeats,
 * real-time delays with and without reordering, reproducible from a seed; delayed events on stop
 * and reset. The events are read from the contact events queue with the real SQS client.
 */
import { ConnectClient, StartTaskContactCommand } from '@aws-sdk/client-connect';
import { describe, expect, it } from 'vitest';
import { FLOW_ID, INSTANCE_ID } from '#common/world.ts';
import type { ContactEventsFaults } from '#sandbox/connect/emulator.ts';
import type { EventEnvelope } from '#sandbox/events/envelope.ts';
import { startSandbox } from '#sandbox/index.ts';
import { loopbackClientConfig } from '#test/support/loopback.ts';
import { useEventsSandbox } from '#test/support/sandbox-events.ts';

const f = useEventsSandbox();
const drainContactEvents = () => f.drain();

/** Starts `count` tasks one after the other; their ContactIds in start order. */
async function startTasks(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const out = await f.connect.send(
      new StartTaskContactCommand({ InstanceId: INSTANCE_ID, ContactFlowId: FLOW_ID, Name: `task ${i}` }),
    );
    ids.push(out.ContactId as string);
  }
  return ids;
}

/** Each delivered event as "<task index> <eventType>", in arrival order. */
function arrivals(events: EventEnvelope[], ids: string[]): string[] {
  return events.map((e) => `${ids.indexOf(String(e.detail.contactId))} ${String(e.detail.eventType)}`);
}

/** Starts `tasks` tasks under `faults` and returns what arrived, once every delayed event is in. */
async function run(faults: Partial<ContactEventsFaults>, tasks: number) {
  f.sandbox.connect.reset();
  f.sandbox.connect.configure({ contactEvents: faults });
  const ids = await startTasks(tasks);
  await f.sandbox.connect.contactEvents.flush();
  const events = await drainContactEvents();
  return { ids, events, arrived: arrivals(events, ids), stats: f.sandbox.connect.contactEvents.stats() };
}

describe('contact event faults', () => {
  it('drops and repeats contact events as the seed draws them, the same on every run', async () => {
    // Act
    const first = await run({ dropRate: 0.25, repeatRate: 0.25, seed: 11 }, 20);
    const second = await run({ dropRate: 0.25, repeatRate: 0.25, seed: 11 }, 20);

    // Assess
    expect(first.stats.emitted).toBe(40);
    expect(first.stats.dropped).toBeGreaterThan(0);
    expect(first.stats.repeated).toBeGreaterThan(0);
    expect(first.events).toHaveLength(40 - first.stats.dropped + first.stats.repeated);
    expect(second.arrived).toEqual(first.arrived);
    expect(second.stats).toEqual(first.stats);
    const byId = new Map<string, EventEnvelope[]>();
    for (const e of first.events) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
    const repeats = [...byId.values()].filter((copies) => copies.length === 2);
    expect(repeats).toHaveLength(first.stats.repeated);
    for (const [a, b] of repeats) expect(b).toEqual(a);
  });

  it('with delays and reorder, lets a later event overtake an earlier one; flush waits for all', async () => {
    // Act
    const { events, arrived, stats } = await run(
      { delayMs: { min: 0, max: 50 }, reorder: true, seed: 3 },
      10,
    );

    // Assess
    expect(events).toHaveLength(20);
    expect(stats.pending).toBe(0);
    const overtaken = arrived
      .filter((a) => a.endsWith('QUEUED'))
      .some((queued) => {
        const task = queued.split(' ')[0];
        return arrived.indexOf(queued) < arrived.indexOf(`${task} INITIATED`);
      });
    expect(overtaken).toBe(true);
  });

  it('with delays and no reorder, delivers in the order the events happened', async () => {
    // Act
    const { arrived } = await run({ delayMs: { min: 0, max: 50 }, reorder: false, seed: 3 }, 10);

    // Assess
    const emitted = Array.from({ length: 10 }, (_, i) => [`${i} INITIATED`, `${i} QUEUED`]).flat();
    expect(arrived).toEqual(emitted);
  });

  it('drops the delayed events on reset and counts them as discarded', async () => {
    // Prepare
    f.sandbox.connect.configure({ contactEvents: { delayMs: { min: 60_000, max: 60_000 } } });
    await startTasks(1);

    // Act
    f.sandbox.connect.reset();
    await f.sandbox.connect.contactEvents.flush();

    // Assess
    expect(f.sandbox.connect.contactEvents.stats()).toMatchObject({ pending: 0, discarded: 2, delivered: 0 });
    expect(await drainContactEvents()).toEqual([]);
  });

  it('refuses rates outside 0..1 and reorder without a delay with a 400 naming the field', async () => {
    // Act
    const put = (contactEvents: unknown) =>
      fetch(`${f.sandbox.endpoint}/_sandbox/config`, {
        method: 'PUT',
        body: JSON.stringify({ contactEvents }),
      });
    const badRate = await put({ dropRate: 1.5 });
    const reorderAlone = await put({ reorder: true });
    const badDelay = await put({ delayMs: { min: 10, max: 5 } });

    // Assess
    expect(badRate.status).toBe(400);
    expect(await badRate.text()).toMatch(/dropRate/);
    expect(reorderAlone.status).toBe(400);
    expect(await reorderAlone.text()).toMatch(/reorder needs contactEvents.delayMs/);
    expect(badDelay.status).toBe(400);
    expect(f.sandbox.connect.config().contactEvents).toEqual({
      repeatRate: 0,
      dropRate: 0,
      delayMs: null,
      reorder: false,
    });
  });
});

describe('delayed contact events when the sandbox stops', () => {
  it('delivers them before stopping instead of losing them', async () => {
    // Prepare
    const own = await startSandbox({ port: 0 });
    own.connect.configure({ contactEvents: { delayMs: { min: 60_000, max: 60_000 } } });
    const client = new ConnectClient(loopbackClientConfig(own.endpoint));
    await client.send(
      new StartTaskContactCommand({ InstanceId: INSTANCE_ID, ContactFlowId: FLOW_ID, Name: 't' }),
    );
    client.destroy();
    const pendingBefore = own.connect.contactEvents.stats().pending;

    // Act
    await own.stop();

    // Assess
    expect(pendingBefore).toBe(2);
    expect(own.connect.contactEvents.stats()).toMatchObject({ pending: 0, delivered: 2 });
    expect(own.events.kept('default').events.map((k) => k.event.detail.eventType)).toEqual([
      'INITIATED',
      'QUEUED',
    ]);
    expect(own.sqs.stats().find((q) => q.name.endsWith('-contact-events'))?.visible).toBe(2);
  });
});
