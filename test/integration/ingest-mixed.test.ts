/**
 * The must-show of the ingest path: a mixed stream of 200 upstream events in every envelope shape,
 * some delivered twice and some invalid in different ways, becomes exactly one task per distinct
 * valid event (checked in the Connect emulator), and every invalid one waits in the DLQ with a reason
 * and its body byte-for-byte.
 */
import { describe, expect, it } from 'vitest';
import { FLOW_ID, INSTANCE_ID } from '#common/world.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { useHarness } from '#test/support/sandbox-fixture.ts';

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:shipping-exceptions';

/** Our own rule: a bag of custom profile fields passed through as attributes, an optional due time. */
const PROFILE_RULE = {
  source: 'com.example.profiles',
  ruleId: 'profile-follow-up',
  description: 'Profile changes that need a follow-up; custom fields pass through as attributes.',
  instanceId: INSTANCE_ID,
  target: { contactFlowId: FLOW_ID },
  mapping: {
    name: "'Profile follow-up ' & data.profileId",
    description: 'data.note',
    attributes: { profileId: 'data.profileId' },
    attributesFrom: 'data.custom',
    scheduledTime: 'data.dueAt',
  },
};

interface Message {
  body: string;
  attributes?: Record<string, string>;
}

interface ValidEvent extends Message {
  token: string;
  name: string;
}

interface InvalidEvent extends Message {
  kind: string;
  code: string;
  reason: RegExp;
}

const VALID_KINDS = ['cloudevents', 'eventbridge', 'sns', 'raw-template', 'raw-bag'] as const;
const INVALID_KINDS = [
  'malformed-json',
  'no-rule',
  'bad-attribute-key',
  'oversized-description',
  'past-scheduled-time',
  'inactive-template',
] as const;

function validEvent(i: number): ValidEvent {
  const kind = VALID_KINDS[i % VALID_KINDS.length];
  switch (kind) {
    case 'cloudevents': {
      const caseId = `C${i}`;
      return {
        body: JSON.stringify({
          specversion: '1.0',
          source: 'com.example.crm',
          id: `crm-${i}`,
          type: 'com.example.crm.case.opened',
          time: '2024-05-01T09:30:00Z',
          datacontenttype: 'application/json',
          data: {
            caseId,
            subject: `Subject ${i}`,
            priority: i % 3,
            escalated: i % 2 === 0,
            customer: { id: `cust-${i}`, name: `Customer ${i}`, email: `c${i}@example.com` },
            link: `https://crm.example.com/cases/${caseId}`,
            openedAt: '2024-05-01T09:29:41Z',
          },
        }),
        attributes: { tenant: 'acme' },
        token: taskClientToken(INSTANCE_ID, 'com.example.crm', `case-${caseId}-opened`),
        name: `Case ${caseId}: Subject ${i}`,
      };
    }
    case 'eventbridge':
      return {
        body: JSON.stringify({
          version: '0',
          id: `eb-${i}`,
          'detail-type': 'Alarm State Change',
          source: 'com.example.monitoring',
          account: '000000000000',
          time: '2024-05-01T10:00:00Z',
          region: 'us-east-1',
          resources: [],
          detail: {
            alarmName: `alarm-${i}`,
            state: { value: 'ALARM', reason: `threshold crossed (${i})` },
            runbook: `https://runbooks.example.com/alarm-${i}`,
          },
        }),
        token: taskClientToken(INSTANCE_ID, 'com.example.monitoring', `eb-${i}`),
        name: `Alarm: alarm-${i}`,
      };
    case 'sns':
      return {
        body: JSON.stringify({
          Type: 'Notification',
          MessageId: `sns-${i}`,
          TopicArn: TOPIC,
          Subject: 'DeliveryFailed',
          Message: JSON.stringify({
            shipmentId: `SH-${i}`,
            orderId: `O-${i}`,
            reason: 'No access',
            attempts: 2,
          }),
          Timestamp: '2024-05-01T11:15:00.000Z',
          MessageAttributes: { region: { Type: 'String', Value: 'eu-west' } },
        }),
        token: taskClientToken(INSTANCE_ID, TOPIC, `SH-${i}/DeliveryFailed`),
        name: `Delivery failed: shipment SH-${i}`,
      };
    case 'raw-template':
      return {
        body: JSON.stringify({
          orderId: `O${i}`,
          customerEmail: `buyer${i}@example.com`,
          total: 10 + i,
          currency: 'EUR',
          items: [{ sku: 'KB-01', qty: 1 }],
          promisedBy: 1893456000,
        }),
        attributes: { source: 'com.example.orders', id: `order-${i}`, type: 'order.delayed' },
        token: taskClientToken(INSTANCE_ID, 'com.example.orders', `order-${i}`),
        name: `Delayed order O${i}`,
      };
    default:
      return {
        body: JSON.stringify({
          profileId: `P${i}`,
          note: `Check the new address of profile ${i}`,
          custom: { plan: 'gold', seats: i, newsletter: true, 'account-manager': 'am_7' },
          dueAt: new Date(Date.now() + 24 * 3600_000).toISOString(),
        }),
        attributes: { source: 'com.example.profiles', id: `profile-${i}` },
        token: taskClientToken(INSTANCE_ID, 'com.example.profiles', `profile-${i}`),
        name: `Profile follow-up P${i}`,
      };
  }
}

function invalidEvent(i: number, n: number): InvalidEvent {
  const kind = INVALID_KINDS[n % INVALID_KINDS.length] as (typeof INVALID_KINDS)[number];
  switch (kind) {
    case 'malformed-json':
      return {
        kind,
        body: `{"orderId": "X${i}", "items": [`,
        attributes: { source: 'com.example.orders', id: `order-${i}`, type: 'order.delayed' },
        code: 'MalformedJson',
        reason: /^message body is not valid JSON \(\d+ bytes\)$/,
      };
    case 'no-rule':
      return {
        kind,
        body: JSON.stringify({
          specversion: '1.0',
          source: 'com.example.billing',
          id: `bill-${i}`,
          data: {},
        }),
        code: 'NoMatchingRule',
        reason: /^no rules for source "com\.example\.billing"$/,
      };
    case 'bad-attribute-key':
      return {
        kind,
        body: JSON.stringify({ profileId: `P${i}`, custom: { 'favourite colour': 'blue', plan: 'gold' } }),
        attributes: { source: 'com.example.profiles', id: `profile-${i}` },
        code: 'ValidationFailed',
        reason:
          /^Attributes\.favourite colour: attribute keys can include only alphanumeric, dash, and underscore characters$/,
      };
    case 'oversized-description':
      return {
        kind,
        body: JSON.stringify({
          version: '0',
          id: `eb-${i}`,
          'detail-type': 'Alarm State Change',
          source: 'com.example.monitoring',
          time: '2024-05-01T10:00:00Z',
          detail: { alarmName: `alarm-${i}`, state: { value: 'ALARM', reason: 'r'.repeat(5000) } },
        }),
        code: 'ValidationFailed',
        reason: /^Description: 5000 characters exceeds the limit of 4096$/,
      };
    case 'past-scheduled-time':
      return {
        kind,
        body: JSON.stringify({ profileId: `P${i}`, dueAt: new Date(Date.now() - 3600_000).toISOString() }),
        attributes: { source: 'com.example.profiles', id: `profile-${i}` },
        code: 'ValidationFailed',
        reason: /^ScheduledTime: \d+ seconds in the past; the scheduled time cannot be in the past$/,
      };
    case 'inactive-template':
      return {
        kind,
        body: JSON.stringify({ returnId: `R${i}` }),
        attributes: { source: 'com.example.returns', id: `return-${i}` },
        code: 'ValidationFailed',
        reason:
          /^TaskTemplateId: the task template is INACTIVE; tasks can only be created from ACTIVE templates$/,
      };
  }
}

describe('ingest of a mixed stream', () => {
  /** Final outcomes seen by the handler (retries in place are not final). */
  const outcomes = new Map<string, number>();
  const f = useHarness(
    {
      // Connect's real 2/s quota would make 200 messages take minutes.
      env: { START_TASK_RATE: '1000' },
      onOutcome: (_record, outcome) => {
        if (outcome.status !== 'retry') outcomes.set(outcome.status, (outcomes.get(outcome.status) ?? 0) + 1);
      },
    },
    (h) =>
      h.putRules([
        h.sampleRule('crm-case.json'),
        h.sampleRule('monitoring-alarm.json'),
        h.sampleRule('monitoring-ok-drop.json'),
        h.sampleRule('shipping-sns.json'),
        h.sampleRule('orders.json'),
        h.sampleRule('returns-inactive.json'),
        PROFILE_RULE,
      ]),
  );

  it('turns 200 mixed events, 5% sent twice and 10% invalid, into one task per distinct valid event and parks each invalid one with its reason and body', async () => {
    // Prepare: every tenth event is invalid (20, six kinds); ten valid ones are sent twice.
    const valid: ValidEvent[] = [];
    const invalid: InvalidEvent[] = [];
    const sends: Message[] = [];
    const laterCopies: Message[] = [];
    for (let i = 0; i < 200; i += 1) {
      if (i % 10 === 9) {
        const event = invalidEvent(i, invalid.length);
        invalid.push(event);
        sends.push(event);
        continue;
      }
      const event = validEvent(i);
      valid.push(event);
      sends.push(event);
      // Every twentieth event is sent twice: half of the copies right behind the original (same
      // batch, processed concurrently), the other half at the end of the stream.
      if (i % 20 === 3) (i % 40 === 3 ? sends : laterCopies).push(event);
    }
    sends.push(...laterCopies);
    const copies = sends.map((m) => ({
      body: m.body,
      ...(m.attributes ? { attributes: m.attributes } : {}),
    }));

    // Act
    await f.h.sendBatch(copies);
    await f.h.idle({ timeoutMs: 50_000 });

    // Assess: the tasks in the emulator are exactly the distinct valid events.
    expect(sends).toHaveLength(210);
    expect(invalid).toHaveLength(20);
    expect(new Set(invalid.map((e) => e.kind)).size).toBe(INVALID_KINDS.length);
    const tasks = f.h.tasks();
    expect(tasks).toHaveLength(180);
    const byToken = new Map(tasks.map((t) => [t.ClientToken, t.Name]));
    expect(byToken.size).toBe(180);
    expect(Object.fromEntries(byToken)).toEqual(Object.fromEntries(valid.map((e) => [e.token, e.name])));
    // Every delivery reached a final outcome once: 190 valid deliveries (a copy processed while its
    // original was still in flight may end as 'created' too: Connect returns the same contact for the
    // same ClientToken, as the task count above shows), 20 parked.
    const { created = 0, duplicate = 0, ...others } = Object.fromEntries(outcomes);
    expect(created + duplicate).toBe(190);
    expect(others).toEqual({ parked: 20 });
    const bag = tasks.find((t) => t.Name === 'Profile follow-up P4');
    expect(bag?.Attributes).toEqual({
      plan: 'gold',
      seats: '4',
      newsletter: 'true',
      'account-manager': 'am_7',
      profileId: 'P4',
    });

    // Assess: each invalid event is parked once, with its reason and its original body and attributes.
    const dlq = await f.h.dlq();
    expect(dlq).toHaveLength(invalid.length);
    const parked = new Map(dlq.map((entry) => [entry.body, entry]));
    for (const event of invalid) {
      const entry = parked.get(event.body);
      expect(entry, `${event.kind} is in the DLQ with its body byte-for-byte`).toBeDefined();
      expect(entry?.problem).toBeUndefined();
      expect(entry?.failure).toMatchObject({ class: 'PERMANENT', code: event.code, attempts: 1 });
      expect(entry?.failure?.message).toMatch(event.reason);
      const attributes = Object.fromEntries(
        Object.entries(entry?.attributes ?? {}).map(([k, v]) => [k, v.StringValue]),
      );
      expect(attributes).toEqual(event.attributes ?? {});
    }
  });
});
