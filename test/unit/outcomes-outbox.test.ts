/**
 * The outbox (lib/outcomes/drain.ts) and the release of waiting OVER_QUOTA events
 * (lib/capacity/release.ts) on the in-memory ledger: an effect is acknowledged only once performed,
 * a release sends the oldest waiters of the instance, one per slot, and never one whose task exists.
 */
import { describe, expect, it } from 'vitest';
import { INSTANCE_ID } from '#common/world.ts';
import { releaseWaiters } from '#lib/capacity/release.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import type { Lane } from '#lib/lanes.ts';
import { OUTBOX_PARTITION } from '#lib/ledger/codec.ts';
import { drainEffects } from '#lib/outcomes/drain.ts';
import { publishEffect, releaseEffect } from '#lib/outcomes/effects.ts';
import { buildOutcome, type Outcome } from '#lib/outcomes/outcome.ts';
import type { OutcomePublisher } from '#lib/outcomes/publisher.ts';
import { buildDlqMessage, type OutgoingMessage, readDlqMessage } from '#lib/retry/dlq-message.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';

const T0 = Date.parse('2024-05-01T09:00:00Z');
const token = (n: number) => taskClientToken(INSTANCE_ID, 'com.example.crm', `case-${n}`);
const quiet = { warn: () => {} };

function outcome(n: number): Outcome {
  return buildOutcome('task.created', [token(n)], `contact-${n}`, T0, {
    event: { source: 'crm', id: `e-${n}` },
  });
}

/** A publisher that refuses the ids in `refuse`, or throws when `down`. */
function publisher(options: { refuse?: string[]; down?: boolean } = {}) {
  const published: Outcome[] = [];
  const port: OutcomePublisher = {
    async publish(outcomes) {
      if (options.down) throw new Error('EventBridge is down');
      const failed = outcomes.filter((o) => options.refuse?.includes(o.id)).map((o) => o.id);
      published.push(...outcomes.filter((o) => !failed.includes(o.id)));
      return { failed };
    },
  };
  return { port, published };
}

describe('drainEffects', () => {
  it('publishes, acknowledges, and settles an item whose effects are all done', async () => {
    // Prepare
    const ledger = new InMemoryLedger();
    const effects = [publishEffect(outcome(1)), publishEffect(outcome(2))];
    await ledger.putEffects('outcome#1', effects, T0);
    const { port, published } = publisher();
    // Act
    const result = await drainEffects('outcome#1', effects, {
      outbox: ledger,
      publisher: port,
      log: quiet,
      now: () => T0,
    });
    // Assess
    expect(result.left).toBe(0);
    expect(published.map((o) => o.id)).toEqual(effects.map((e) => e.id));
    expect(await ledger.pendingEffects('outcome#1')).toEqual([]);
    expect(await ledger.duePending(OUTBOX_PARTITION, Number.MAX_SAFE_INTEGER, 5)).toEqual([]);
  });

  it('leaves what the bus refused, or everything when it is down, for the sweep', async () => {
    const ledger = new InMemoryLedger();
    const effects = [publishEffect(outcome(1)), publishEffect(outcome(2))];
    await ledger.putEffects('outcome#2', effects, T0);
    const refused = await drainEffects('outcome#2', effects, {
      outbox: ledger,
      publisher: publisher({ refuse: [outcome(2).id] }).port,
      log: quiet,
      now: () => T0,
    });
    expect(refused.left).toBe(1);
    expect((await ledger.pendingEffects('outcome#2')).map((e) => e.id)).toEqual([outcome(2).id]);
    const down = await drainEffects('outcome#2', await ledger.pendingEffects('outcome#2'), {
      outbox: ledger,
      publisher: publisher({ down: true }).port,
      log: quiet,
      now: () => T0,
    });
    expect(down.left).toBe(1);
    expect(await ledger.duePending(OUTBOX_PARTITION, Number.MAX_SAFE_INTEGER, 5)).toEqual(['outcome#2']);
  });

  it('leaves a release for the sweep when the function cannot release, and performs it when it can', async () => {
    const ledger = new InMemoryLedger();
    const release = releaseEffect(token(3), INSTANCE_ID);
    await ledger.putEffects('outcome#3', [release], T0);
    const without = await drainEffects('outcome#3', [release], { outbox: ledger, log: quiet, now: () => T0 });
    const released: Array<[string, number]> = [];
    const withRelease = await drainEffects('outcome#3', [release], {
      outbox: ledger,
      log: quiet,
      now: () => T0,
      release: async (instanceId, slots) => released.push([instanceId, slots]),
    });
    expect([without.left, withRelease.left]).toEqual([1, 0]);
    expect(released).toEqual([[INSTANCE_ID, 1]]);
  });
});

function parked(n: number, at: number): OutgoingMessage {
  return buildDlqMessage({
    body: JSON.stringify({ n }),
    attributes: {},
    messageId: `m-${n}`,
    failure: {
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
      message: 'quota',
      clientToken: token(n),
    },
    now: at,
  });
}

async function waitersOf(ledger: InMemoryLedger, ns: number[]) {
  for (const n of ns) {
    await ledger.putWaiter({
      clientToken: token(n),
      instanceId: INSTANCE_ID,
      lane: 'normal',
      message: parked(n, T0 + n),
      parkedAt: T0 + n,
      firstParkedAt: T0 + n,
    });
  }
}

describe('releaseWaiters', () => {
  it('sends the oldest waiting events of the instance back as replays, one per freed slot', async () => {
    // Prepare
    const ledger = new InMemoryLedger();
    await waitersOf(ledger, [3, 1, 2]);
    const sent: Array<[Lane, OutgoingMessage]> = [];
    // Act
    const out = await releaseWaiters(INSTANCE_ID, 2, {
      waiters: ledger,
      entries: ledger,
      now: () => T0 + 10,
      send: async (lane, message) => void sent.push([lane, message]),
    });
    // Assess
    expect(out).toEqual({ released: [token(1), token(2)], dropped: 0 });
    expect(sent.map(([lane, m]) => [lane, JSON.parse(m.MessageBody).n])).toEqual([
      ['normal', 1],
      ['normal', 2],
    ]);
    expect(
      readDlqMessage({ Body: sent[0]?.[1].MessageBody, MessageAttributes: sent[0]?.[1].MessageAttributes })
        .failure,
    ).toMatchObject({ class: 'OVER_QUOTA', redriveCount: 1, clientToken: token(1) });
    expect((await ledger.oldestWaiters(INSTANCE_ID, 5, T0 + 10)).map((w) => w.clientToken)).toEqual([
      token(3),
    ]);
  });

  it('drops a waiter whose task exists and takes the next one in its place', async () => {
    const ledger = new InMemoryLedger();
    await waitersOf(ledger, [1, 2]);
    await ledger.put({
      clientToken: token(1),
      contactId: 'contact-1',
      instanceId: INSTANCE_ID,
      source: 'com.example.crm',
      eventId: 'e-1',
      idempotencyKey: 'case-1',
      ruleId: 'r',
      createdAt: T0,
    });
    const sent: OutgoingMessage[] = [];
    const out = await releaseWaiters(INSTANCE_ID, 1, {
      waiters: ledger,
      entries: ledger,
      now: () => T0 + 10,
      send: async (_lane, message) => void sent.push(message),
    });
    expect(out).toEqual({ released: [token(2)], dropped: 1 });
    expect(await ledger.oldestWaiters(INSTANCE_ID, 5, T0 + 10)).toEqual([]);
  });

  it('keeps a waiter whose send failed, claimed until its claim runs out', async () => {
    const ledger = new InMemoryLedger();
    await waitersOf(ledger, [1]);
    const failing = releaseWaiters(INSTANCE_ID, 1, {
      waiters: ledger,
      entries: ledger,
      now: () => T0,
      send: async () => {
        throw new Error('SQS is down');
      },
    });
    await expect(failing).rejects.toThrow('SQS is down');
    expect(await ledger.oldestWaiters(INSTANCE_ID, 5, T0 + 1)).toEqual([]);
    expect((await ledger.oldestWaiters(INSTANCE_ID, 5, T0 + 120_000)).map((w) => w.clientToken)).toEqual([
      token(1),
    ]);
  });
});
