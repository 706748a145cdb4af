/**
 * The sandbox EventBridge, driven by the real EventBridgeClient over loopback: PutEvents and the read
 * operations, the buses and rules of serverless.yml, rule delivery to the contact events queue, and
 * the events kept per bus behind GET /_sandbox/events.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StartTaskContactCommand } from '@aws-sdk/client-connect';
import {
  DescribeEventBusCommand,
  DescribeRuleCommand,
  InvalidEventPatternException,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
  ResourceNotFoundException,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, describe, expect, it } from 'vitest';
import { FLOW_ID, INSTANCE_ID, OTHER_INSTANCE_ID } from '#common/world.ts';
import { loadWorld } from '#sandbox/connect/emulator.ts';
import type { EventEnvelope } from '#sandbox/events/envelope.ts';
import { useEventsSandbox } from '#test/support/sandbox-events.ts';

const OUTCOME_BUS = 'connect-task-ingest-local-outcomes';
const OUTCOME_BUS_ARN = `arn:aws:events:us-east-1:000000000000:event-bus/${OUTCOME_BUS}`;
const CONTACT_EVENTS_RULE = 'connect-task-ingest-local-ContactEventsRule';

const worldDir = mkdtempSync(join(tmpdir(), 'world-'));
afterAll(() => rmSync(worldDir, { recursive: true, force: true }));

/** The sandbox world with a second instance, whose ARN the contact events rule does not name. */
function worldWithOtherInstance(): string {
  const world = loadWorld();
  const [first] = world.instances;
  if (!first) throw new Error('the sandbox world has no instance');
  world.instances.push({ ...first, id: OTHER_INSTANCE_ID, alias: 'other', taskTemplates: [] });
  const path = join(worldDir, 'world.json');
  writeFileSync(path, JSON.stringify(world));
  return path;
}

const f = useEventsSandbox(() => ({ worldPath: worldWithOtherInstance() }));
const { admin } = f;

type KeptBody = {
  bus: string;
  lastSeq: number;
  events: Array<{ seq: number; event: EventEnvelope; matchedRules: string[] }>;
};
const kept = async (query: string) => (await (await admin(`events?${query}`)).json()) as KeptBody;

const outcome = (type: string, detail: Record<string, unknown> = {}): PutEventsRequestEntry => ({
  Source: 'connect-task-ingest',
  DetailType: type,
  Detail: JSON.stringify({ specversion: '1.0', type, ...detail }),
  EventBusName: OUTCOME_BUS,
});

const drainQueue = (logicalId: string) => f.drain(logicalId);

describe('PutEvents', () => {
  it('puts events on the outcome bus, by name or ARN, kept in order with a sequence number', async () => {
    // Act
    const out = await f.eventbridge.send(
      new PutEventsCommand({
        Entries: [
          outcome('task.created', { id: 'a' }),
          { ...outcome('task.completed', { id: 'b' }), EventBusName: OUTCOME_BUS_ARN, Resources: ['arn:r'] },
        ],
      }),
    );
    const all = await kept(`bus=${OUTCOME_BUS}`);
    const since = await kept(`bus=${OUTCOME_BUS}&since=${all.events[0]?.seq}`);

    // Assess
    expect(out.FailedEntryCount).toBe(0);
    expect(all.events.map((k) => k.event.id)).toEqual(out.Entries?.map((e) => e.EventId));
    expect(all.events[1]).toMatchObject({
      seq: (all.events[0]?.seq ?? 0) + 1,
      matchedRules: [],
      event: {
        version: '0',
        source: 'connect-task-ingest',
        'detail-type': 'task.completed',
        account: '000000000000',
        region: 'us-east-1',
        resources: ['arn:r'],
        detail: { specversion: '1.0', type: 'task.completed', id: 'b' },
      },
    });
    expect(all.events[1]?.event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(since.events.map((k) => k.event.detail.id)).toEqual(['b']);
    expect(since.lastSeq).toBe(all.events[1]?.seq);
  });

  it('takes Time from the entry (epoch seconds on the wire) to the second', async () => {
    // Act
    await f.eventbridge.send(
      new PutEventsCommand({
        Entries: [{ ...outcome('task.updated'), Time: new Date('2025-03-04T05:06:07.890Z') }],
      }),
    );

    // Assess
    expect((await kept(`bus=${OUTCOME_BUS}`)).events[0]?.event.time).toBe('2025-03-04T05:06:07Z');
  });

  it('answers each entry on its own: an EventId, or ErrorCode and ErrorMessage as EventBridge names them', async () => {
    // Act
    const out = await f.eventbridge.send(
      new PutEventsCommand({
        Entries: [
          outcome('task.created'),
          { ...outcome('x'), Source: undefined },
          { ...outcome('x'), Detail: undefined },
          { ...outcome('x'), Detail: '[1, 2]' },
          { ...outcome('x'), Detail: '{not json' },
          { ...outcome('x'), Source: 'aws.connect' },
          { ...outcome('x'), EventBusName: 'no-such-bus' },
        ],
      }),
    );

    // Assess
    expect(out.FailedEntryCount).toBe(6);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'InvalidArgument',
      'InvalidArgument',
      'MalformedDetail',
      'MalformedDetail',
      'NotAuthorizedForSourceException',
      'InvalidArgument',
    ]);
    expect(out.Entries?.[1]?.ErrorMessage).toMatch(/Source is a required argument/);
    expect(out.Entries?.[6]?.ErrorMessage).toBe('Event bus no-such-bus does not exist.');
    expect((await kept(`bus=${OUTCOME_BUS}`)).events).toHaveLength(1);
  });

  it('refuses no entries, more than 10, a total over 256 KB, or a malformed bus name with ValidationException', async () => {
    // Prepare
    const big = JSON.stringify({ pad: 'x'.repeat(200_000) });
    const attempts = [
      [],
      Array.from({ length: 11 }, () => outcome('x')),
      [
        { ...outcome('x'), Detail: big },
        { ...outcome('x'), Detail: big },
      ],
      [{ ...outcome('x'), EventBusName: 'bad name!' }],
    ];

    // Act
    const errors = await Promise.all(
      attempts.map((Entries) => f.eventbridge.send(new PutEventsCommand({ Entries })).catch((e: Error) => e)),
    );

    // Assess
    expect(errors.map((e) => (e as Error).name)).toEqual(Array(4).fill('ValidationException'));
    expect((errors[2] as Error).message).toBe('Total size of the entries in the request is over the limit.');
    expect((errors[1] as Error).message).toMatch(/less than or equal to 10/);
    expect((await kept(`bus=${OUTCOME_BUS}`)).events).toEqual([]);
  });

  it('takes one entry of exactly 256 KB', async () => {
    // Prepare: Source and DetailType count too
    const entry = outcome('x');
    const fixed = Buffer.byteLength(`${entry.Source}${entry.DetailType}{"p":""}`);
    const detail = JSON.stringify({ p: 'y'.repeat(256 * 1024 - fixed) });

    // Act
    const out = await f.eventbridge.send(new PutEventsCommand({ Entries: [{ ...entry, Detail: detail }] }));

    // Assess
    expect(out.FailedEntryCount).toBe(0);
  });
});

describe('rules from serverless.yml', () => {
  const contactEvent = (detail: Record<string, unknown>): EventEnvelope => ({
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Amazon Connect Contact Event',
    source: 'aws.connect',
    account: '000000000000',
    time: '2025-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      eventType: 'QUEUED',
      channel: 'TASK',
      instanceArn: `arn:aws:connect:us-east-1:000000000000:instance/${INSTANCE_ID}`,
      ...detail,
    },
  });

  it('delivers an event the contact events rule matches to the contact events queue, and not one of another channel or instance', async () => {
    // Act
    const matching = f.sandbox.events.publish('default', contactEvent({ contactId: 'task' }));
    f.sandbox.events.publish('default', contactEvent({ contactId: 'voice', channel: 'VOICE' }));
    f.sandbox.events.publish(
      'default',
      contactEvent({
        contactId: 'other',
        instanceArn: `arn:aws:connect:us-east-1:000000000000:instance/${OTHER_INSTANCE_ID}`,
      }),
    );
    const delivered = await drainQueue('ContactEventsQueue');

    // Assess
    expect(delivered).toEqual([matching.event]);
    expect(matching.matchedRules).toEqual([CONTACT_EVENTS_RULE]);
  });

  it('does not deliver the Connect emulator events of a task in another instance', async () => {
    // Prepare
    const start = (InstanceId: string) =>
      f.connect.send(new StartTaskContactCommand({ InstanceId, ContactFlowId: FLOW_ID, Name: 'task' }));

    // Act
    await start(OTHER_INSTANCE_ID);
    await start(INSTANCE_ID);
    const delivered = await drainQueue('ContactEventsQueue');
    const onBus = await kept('bus=default');

    // Assess
    expect(new Set(delivered.map((e) => e.detail.instanceArn))).toEqual(
      new Set([`arn:aws:connect:us-east-1:000000000000:instance/${INSTANCE_ID}`]),
    );
    expect(delivered).toHaveLength(2);
    expect(onBus.events.filter((k) => k.matchedRules.length === 0)).toHaveLength(2);
  });

  it('lists the buses and the rule with its pattern and SQS target through the read operations', async () => {
    // Act
    const buses = await f.eventbridge.send(new ListEventBusesCommand({}));
    const outcomeBus = await f.eventbridge.send(new DescribeEventBusCommand({ Name: OUTCOME_BUS_ARN }));
    const rules = await f.eventbridge.send(new ListRulesCommand({ EventBusName: 'default' }));
    const rule = await f.eventbridge.send(new DescribeRuleCommand({ Name: CONTACT_EVENTS_RULE }));
    const targets = await f.eventbridge.send(new ListTargetsByRuleCommand({ Rule: CONTACT_EVENTS_RULE }));
    const missing = await f.eventbridge.send(new DescribeEventBusCommand({ Name: 'nope' })).catch((e) => e);

    // Assess
    expect(buses.EventBuses?.map((b) => b.Name)).toEqual(['default', OUTCOME_BUS]);
    expect(outcomeBus).toMatchObject({ Name: OUTCOME_BUS, Arn: OUTCOME_BUS_ARN });
    expect(outcomeBus.CreationTime).toBeInstanceOf(Date);
    expect(rules.Rules?.map((r) => r.Name)).toEqual([CONTACT_EVENTS_RULE]);
    expect(rule).toMatchObject({
      State: 'ENABLED',
      EventBusName: 'default',
      Arn: f.sandbox.resources.rules.ContactEventsRule?.arn,
    });
    expect(JSON.parse(rule.EventPattern ?? '{}')).toEqual({
      source: ['aws.connect'],
      'detail-type': ['Amazon Connect Contact Event'],
      detail: {
        channel: ['TASK'],
        instanceArn: [`arn:aws:connect:us-east-1:000000000000:instance/${INSTANCE_ID}`],
      },
    });
    expect(targets.Targets).toEqual([
      { Id: 'contact-events-queue', Arn: f.sandbox.resources.queues.ContactEventsQueue?.arn },
    ]);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
  });

  it('pages ListEventBuses with Limit and NextToken', async () => {
    // Act
    const first = await f.eventbridge.send(new ListEventBusesCommand({ Limit: 1 }));
    const second = await f.eventbridge.send(
      new ListEventBusesCommand({ Limit: 1, NextToken: first.NextToken }),
    );

    // Assess
    expect(first.EventBuses?.map((b) => b.Name)).toEqual(['default']);
    expect(second.EventBuses?.map((b) => b.Name)).toEqual([OUTCOME_BUS]);
    expect(second.NextToken).toBeUndefined();
  });

  it('tests a pattern with TestEventPattern, and refuses an invalid one with InvalidEventPatternException', async () => {
    // Prepare
    const Event = JSON.stringify(contactEvent({}));

    // Act
    const yes = await f.eventbridge.send(
      new TestEventPatternCommand({ EventPattern: '{"detail":{"channel":[{"prefix":"TA"}]}}', Event }),
    );
    const no = await f.eventbridge.send(
      new TestEventPatternCommand({ EventPattern: '{"source":["x"]}', Event }),
    );
    const invalid = await f.eventbridge
      .send(new TestEventPatternCommand({ EventPattern: '{"source":"aws.connect"}', Event }))
      .catch((e) => e);

    // Assess
    expect([yes.Result, no.Result]).toEqual([true, false]);
    expect(invalid).toBeInstanceOf(InvalidEventPatternException);
    expect((invalid as Error).message).toMatch(/"source" must be an object or an array/);
  });
});

describe('the kept events', () => {
  it('are dropped by DELETE /_sandbox/events and by POST /_sandbox/reset; sequence numbers go on', async () => {
    // Prepare
    await f.eventbridge.send(new PutEventsCommand({ Entries: [outcome('a')] }));
    const before = await kept(`bus=${OUTCOME_BUS}`);

    // Act
    const deleted = await admin(`events?bus=${OUTCOME_BUS}`, { method: 'DELETE' });
    const afterDelete = await kept(`bus=${OUTCOME_BUS}`);
    await f.eventbridge.send(new PutEventsCommand({ Entries: [outcome('b')] }));
    await admin('reset', { method: 'POST' });
    const afterReset = await kept(`bus=${OUTCOME_BUS}`);
    await f.eventbridge.send(new PutEventsCommand({ Entries: [outcome('c')] }));
    const last = await kept(`bus=${OUTCOME_BUS}`);

    // Assess
    expect(deleted.status).toBe(200);
    expect(afterDelete.events).toEqual([]);
    expect(afterReset.events).toEqual([]);
    expect(last.events.map((k) => [k.seq, k.event['detail-type']])).toEqual([[before.lastSeq + 2, 'c']]);
  });

  it('GET /_sandbox/events lists every bus; an unknown bus or a bad since is a 400', async () => {
    // Act
    const all = (await (await admin('events')).json()) as { buses: Array<{ name: string; rules: string[] }> };
    const unknown = await admin('events?bus=nope');
    const badSince = await admin(`events?bus=${OUTCOME_BUS}&since=-1`);

    // Assess
    expect(all.buses.map((b) => [b.name, b.rules])).toEqual([
      ['default', [CONTACT_EVENTS_RULE]],
      [OUTCOME_BUS, []],
    ]);
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { message: string }).message).toBe('Event bus nope does not exist.');
    expect(badSince.status).toBe(400);
  });
});
