/**
 * The chaos scenario's world: one rule per upstream shape, the events (valid ones of four shapes,
 * invalid ones of seven kinds, updates and closes of CRM cases) and the seeded mix of them that
 * upstream sends to the three lane queues. Pure data and builders: the run on the sandbox is
 * bench/chaos/run.ts, the comparison of what came out is common/chaos/report.ts, and the fuzz suites
 * reuse the rules and events.
 */

import {
  ACTIVE_TEMPLATE_ID,
  FLOW_ID,
  INACTIVE_TEMPLATE_ID,
  INSTANCE_ID,
  QUICK_CONNECT_ID,
} from '#common/world.ts';
import { LANES, type Lane } from '#lib/lanes.ts';
import { OUTCOME_TYPES, type OutcomeType } from '#lib/outcomes/outcome.ts';

export type EventKind =
  | 'cloudevents'
  | 'eventbridge'
  | 'sns'
  | 'raw'
  | 'malformed-json'
  | 'raw-without-source'
  | 'unknown-source'
  | 'name-too-long'
  | 'inactive-template'
  | 'mapping-object'
  | 'invalid-email'
  /** A CRM case's update (`update` rule) or close (`complete` rule) of an earlier valid CloudEvent. */
  | 'update'
  | 'complete';

const SNS_TOPIC = 'arn:aws:sns:us-east-1:000000000000:chaos-shipping';
/** The message attribute that tags every sent event; every rule copies it into the task's Attributes. */
export const CHAOS_EVENT_ATTRIBUTE = 'chaosEvent';

const tag = `attributes.${CHAOS_EVENT_ATTRIBUTE}`;

/**
 * One rule per upstream shape, modelled on events/rules/*.json. Every create rule asks for outcomes
 * (`notify`): all five, or a few with `data`, so the chaos also proves an outcome is published only
 * when its rule asks. Update and complete rules publish under their case's create rule.
 */
export const CHAOS_RULES: readonly Record<string, unknown>[] = [
  {
    source: 'chaos.crm',
    ruleId: 'case-opened',
    match: "type = 'chaos.case.opened'",
    instanceId: INSTANCE_ID,
    target: { contactFlowId: FLOW_ID },
    mapping: {
      name: "'Case ' & data.caseId & ': ' & data.subject",
      description: "'Opened by customer ' & data.customer.id",
      attributes: { caseId: 'data.caseId', customerId: 'data.customer.id', [CHAOS_EVENT_ATTRIBUTE]: tag },
      references: {
        caseLink: { type: 'URL', value: 'data.link' },
        customerEmail: { type: 'EMAIL', value: 'data.customer.email' },
      },
    },
    idempotencyKey: "'case-' & data.caseId",
    notify: {},
    options: { truncate: false, onChainLimit: 'park' },
  },
  {
    // The correlation key defaults to case-opened's idempotency key ('case-' & data.caseId).
    source: 'chaos.crm',
    ruleId: 'case-updated',
    priority: 20,
    match: "type = 'chaos.case.updated'",
    action: 'update',
    instanceId: INSTANCE_ID,
    mapping: {
      description: "'Update ' & data.seq",
      references: { status: { type: 'STRING', value: "'s' & data.seq" } },
    },
  },
  {
    source: 'chaos.crm',
    ruleId: 'case-closed',
    priority: 30,
    match: "type = 'chaos.case.closed'",
    action: 'complete',
    instanceId: INSTANCE_ID,
  },
  {
    source: 'chaos.monitoring',
    ruleId: 'alarm-raised',
    match: "data.state.value = 'ALARM'",
    instanceId: INSTANCE_ID,
    target: { quickConnectId: QUICK_CONNECT_ID },
    mapping: {
      name: "'Alarm: ' & data.alarmName",
      description: 'data.state.reason',
      attributes: { alarmName: 'data.alarmName', [CHAOS_EVENT_ATTRIBUTE]: tag },
    },
    notify: {
      outcomes: ['task.created', 'task.accepted', 'task.completed'],
      data: { alarmName: 'data.alarmName' },
    },
    options: { lane: 'urgent' },
  },
  {
    source: SNS_TOPIC,
    ruleId: 'delivery-failed',
    match: "type = 'DeliveryFailed'",
    instanceId: INSTANCE_ID,
    target: { contactFlowId: FLOW_ID },
    mapping: {
      name: "'Delivery failed: shipment ' & data.shipmentId",
      attributes: { shipmentId: 'data.shipmentId', [CHAOS_EVENT_ATTRIBUTE]: tag },
      scheduledTime: '$millis() + 3600000',
    },
    idempotencyKey: "data.shipmentId & '/' & type",
    notify: {},
  },
  {
    source: 'chaos.orders',
    ruleId: 'order-delayed',
    match: "type = 'order.delayed'",
    instanceId: INSTANCE_ID,
    target: { taskTemplateId: ACTIVE_TEMPLATE_ID },
    mapping: {
      name: "'Delayed order ' & data.orderId",
      attributes: { orderId: 'data.orderId', [CHAOS_EVENT_ATTRIBUTE]: tag },
      references: {
        'Order total': { type: 'NUMBER', value: 'data.total' },
        'Customer email': { type: 'EMAIL', value: 'data.customerEmail' },
      },
    },
    notify: {
      outcomes: ['task.created', 'task.accepted', 'task.completed', 'task.rejected'],
      data: { orderId: 'data.orderId', total: 'data.total' },
    },
    options: { lane: 'bulk' },
  },
  {
    source: 'chaos.returns',
    ruleId: 'return-requested',
    instanceId: INSTANCE_ID,
    target: { taskTemplateId: INACTIVE_TEMPLATE_ID },
    mapping: { name: "'Return ' & data.returnId", attributes: { [CHAOS_EVENT_ATTRIBUTE]: tag } },
    notify: { outcomes: ['task.rejected'] },
  },
];

/**
 * The create rule whose `notify` speaks for each kind's outcomes: its own rule, or, for a CRM case's
 * updates and close (and their rejections), the case's create rule. Absent: no rule of its source
 * asks (no source at all, or a source without rules).
 */
const RULE_OF_KIND: Readonly<Partial<Record<EventKind, string>>> = Object.freeze({
  cloudevents: 'case-opened',
  update: 'case-opened',
  complete: 'case-opened',
  'name-too-long': 'case-opened',
  'mapping-object': 'case-opened',
  'invalid-email': 'case-opened',
  eventbridge: 'alarm-raised',
  sns: 'delivery-failed',
  raw: 'order-delayed',
  'inactive-template': 'return-requested',
});

/** True when the rule that speaks for `kind` asks for the outcome `type` (`notify.outcomes`, default all). */
export function asksFor(kind: EventKind, type: OutcomeType): boolean {
  const rule = CHAOS_RULES.find((r) => r.ruleId === RULE_OF_KIND[kind]);
  const notify = rule?.notify as { outcomes?: readonly OutcomeType[] } | undefined;
  if (notify === undefined) return false;
  return (notify.outcomes ?? OUTCOME_TYPES).includes(type);
}

/** The failure code each invalid kind must be parked with. */
export const EXPECTED_CODES: Readonly<Partial<Record<EventKind, string>>> = Object.freeze({
  'malformed-json': 'MalformedJson',
  'raw-without-source': 'MissingSource',
  'unknown-source': 'NoMatchingRule',
  'name-too-long': 'ValidationFailed',
  'inactive-template': 'ValidationFailed',
  'mapping-object': 'MappingFailed',
  'invalid-email': 'ValidationFailed',
});

const VALID_KINDS: readonly EventKind[] = ['cloudevents', 'eventbridge', 'sns', 'raw'];

/** The lane a valid kind's rule puts its events in (the others keep the lane they were sent to). */
const RULE_LANES: Readonly<Partial<Record<EventKind, Lane>>> = Object.freeze({
  eventbridge: 'urgent',
  raw: 'bulk',
});
const INVALID_KINDS = Object.keys(EXPECTED_CODES) as EventKind[];

export interface ChaosEvent {
  /** The tracking id (the `chaosEvent` attribute). */
  id: string;
  kind: EventKind;
  valid: boolean;
  /** The task Name a valid event must produce. */
  expectedName?: string;
  body: string;
  attributes: Record<string, string>;
  /** The lane queue upstream sends it to. */
  lane: Lane;
  /** The lane its task must be started in: its rule's, else the lane it was sent to. */
  expectedLane: Lane;
  /** `update`/`complete`: the tracking id of the case's create event. */
  caseOf?: string;
  /** `update`: its number (1 is the oldest). */
  seq?: number;
  /** The envelope's source and id as ingest reads them (absent when the message has no source). */
  envelope?: { source: string; id: string };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/**
 * Builds one event of `kind`, numbered `n`, sent to `lane`. Names are unique per event, so tasks map
 * back to events.
 */
export function buildEvent(kind: EventKind, n: number, lane: Lane = 'normal'): ChaosEvent {
  const envelope = envelopeOf(kind, n);
  return {
    ...buildEventBody(kind, n),
    lane,
    expectedLane: RULE_LANES[kind] ?? lane,
    ...(envelope ? { envelope } : {}),
  };
}

/** The envelope source and id ingest reads from the message of `kind` number `n` (lib/envelope/parse.ts). */
function envelopeOf(kind: EventKind, n: number): ChaosEvent['envelope'] {
  switch (kind) {
    case 'cloudevents':
    case 'name-too-long':
    case 'mapping-object':
    case 'invalid-email':
      return { source: 'chaos.crm', id: `case-${n}-opened` };
    case 'eventbridge':
      return { source: 'chaos.monitoring', id: `eb-${n}` };
    case 'sns':
      // The SNS Message is neither CloudEvents nor EventBridge: the topic and the SNS message id.
      return { source: SNS_TOPIC, id: `sns-${n}` };
    case 'raw':
      return { source: 'chaos.orders', id: `order-${n}-delayed` };
    case 'unknown-source':
      return { source: 'chaos.nobody', id: `order-${n}-delayed` };
    case 'inactive-template':
      return { source: 'chaos.returns', id: `return-${n}` };
    default:
      return undefined;
  }
}

function buildEventBody(kind: EventKind, n: number): Omit<ChaosEvent, 'lane' | 'expectedLane'> {
  const id = `ev-${String(n).padStart(6, '0')}`;
  const tagged = (extra: Record<string, string> = {}) => ({ [CHAOS_EVENT_ATTRIBUTE]: id, ...extra });
  const crm = (subject: string, customerId: unknown, email: string) =>
    JSON.stringify({
      specversion: '1.0',
      source: 'chaos.crm',
      id: `case-${n}-opened`,
      type: 'chaos.case.opened',
      time: '2024-05-01T09:30:00Z',
      datacontenttype: 'application/json',
      data: {
        caseId: `C${n}`,
        subject,
        customer: { id: customerId, email },
        link: `https://crm.example.com/cases/${n}`,
      },
    });
  const order = (source: string | undefined) => ({
    body: JSON.stringify({ orderId: `O${n}`, total: 10 + (n % 90), customerEmail: `buyer${n}@example.com` }),
    attributes: tagged({
      ...(source ? { source } : {}),
      id: `order-${n}-delayed`,
      type: 'order.delayed',
    }),
  });
  switch (kind) {
    case 'cloudevents':
      return {
        id,
        kind,
        valid: true,
        expectedName: `Case C${n}: Password reset ${n}`,
        body: crm(`Password reset ${n}`, `cust-${n}`, `c${n}@example.com`),
        attributes: tagged(),
      };
    case 'eventbridge':
      return {
        id,
        kind,
        valid: true,
        expectedName: `Alarm: alarm-${n}`,
        body: JSON.stringify({
          version: '0',
          id: `eb-${n}`,
          'detail-type': 'Alarm State Change',
          source: 'chaos.monitoring',
          time: '2024-05-01T10:00:00Z',
          detail: { alarmName: `alarm-${n}`, state: { value: 'ALARM', reason: 'p99 above 2s' } },
        }),
        attributes: tagged(),
      };
    case 'sns':
      return {
        id,
        kind,
        valid: true,
        expectedName: `Delivery failed: shipment SH-${n}`,
        body: JSON.stringify({
          Type: 'Notification',
          MessageId: `sns-${n}`,
          TopicArn: SNS_TOPIC,
          Subject: 'DeliveryFailed',
          Message: JSON.stringify({ shipmentId: `SH-${n}`, reason: 'Address not found' }),
          Timestamp: '2024-05-01T11:15:00.000Z',
        }),
        attributes: tagged(),
      };
    case 'raw':
      return { id, kind, valid: true, expectedName: `Delayed order O${n}`, ...order('chaos.orders') };
    case 'malformed-json':
      return { id, kind, valid: false, body: `{"caseId": "C${n}", "subject": `, attributes: tagged() };
    case 'raw-without-source':
      return { id, kind, valid: false, ...order(undefined) };
    case 'unknown-source':
      return { id, kind, valid: false, ...order('chaos.nobody') };
    case 'name-too-long':
      return {
        id,
        kind,
        valid: false,
        body: crm(`${'x'.repeat(600)} ${n}`, `cust-${n}`, `c${n}@example.com`),
        attributes: tagged(),
      };
    case 'inactive-template':
      return {
        id,
        kind,
        valid: false,
        body: JSON.stringify({ returnId: `R${n}` }),
        attributes: tagged({ source: 'chaos.returns', id: `return-${n}` }),
      };
    case 'mapping-object':
      return {
        id,
        kind,
        valid: false,
        body: crm(`Mapping ${n}`, { nested: n }, `c${n}@example.com`),
        attributes: tagged(),
      };
    case 'invalid-email':
      return {
        id,
        kind,
        valid: false,
        body: crm(`Email ${n}`, `cust-${n}`, `not an email ${n}`),
        attributes: tagged(),
      };
    case 'update':
    case 'complete':
      throw new TypeError(`${kind} messages are built by buildLifecycleEvent`);
  }
}

/**
 * An update (`seq` 1, 2, … one minute apart after the case opened) or the close of the CRM case of the
 * valid CloudEvent `create`, to its lane.
 */
export function buildLifecycleEvent(create: ChaosEvent, kind: 'update' | 'complete', seq = 0): ChaosEvent {
  const n = Number(create.id.slice(3));
  const id = `${create.id}/${kind === 'update' ? `u${seq}` : 'c'}`;
  const envelope = {
    source: 'chaos.crm',
    id: kind === 'update' ? `case-${n}-update-${seq}` : `case-${n}-closed`,
  };
  return {
    id,
    kind,
    valid: true,
    caseOf: create.id,
    ...(kind === 'update' ? { seq } : {}),
    envelope,
    body: JSON.stringify({
      specversion: '1.0',
      source: envelope.source,
      id: envelope.id,
      type: kind === 'update' ? 'chaos.case.updated' : 'chaos.case.closed',
      time: new Date(
        Date.parse('2024-05-01T09:30:00Z') + (kind === 'update' ? seq : 60) * 60_000,
      ).toISOString(),
      data: { caseId: `C${n}`, seq },
    }),
    attributes: { [CHAOS_EVENT_ATTRIBUTE]: id },
    lane: create.lane,
    expectedLane: create.lane,
  };
}

/**
 * The seeded mix: events, and the messages upstream sends (duplicates included, shuffled). Each event
 * goes to a lane drawn from `laneRandom` (default: all to the normal lane), a generator apart from
 * `random` so that the events and their order do not depend on it.
 */
export function buildMix(options: {
  messages: number;
  random: () => number;
  laneRandom?: () => number;
  invalidShare: number;
  upstreamDuplicateShare: number;
  /** Share of CRM cases that get updates (and half as many again a close); drawn from `lifecycleRandom`. */
  lifecycleShare?: number;
  lifecycleRandom?: () => number;
}): { events: ChaosEvent[]; sends: ChaosEvent[] } {
  const { random, laneRandom } = options;
  const events: ChaosEvent[] = [];
  const sends: ChaosEvent[] = [];
  let n = 0;
  while (sends.length < options.messages) {
    n += 1;
    const invalid = random() < options.invalidShare;
    const kind = pick(random, invalid ? INVALID_KINDS : VALID_KINDS);
    const event = buildEvent(kind, n, laneRandom ? pick(laneRandom, LANES) : 'normal');
    events.push(event);
    sends.push(event);
    if (event.valid && sends.length < options.messages && random() < options.upstreamDuplicateShare) {
      sends.push(event);
    }
  }
  // Updates and closes of CRM cases, from a generator of their own: the rest of the mix stays the same.
  const share = options.lifecycleShare ?? 0;
  const lifecycleRandom = options.lifecycleRandom ?? random;
  for (const create of events.filter((e) => e.kind === 'cloudevents')) {
    if (share <= 0) break;
    const draw = lifecycleRandom();
    const more: ChaosEvent[] = [];
    if (draw < share) {
      const count = lifecycleRandom() < 0.5 ? 2 : 3;
      for (let seq = 1; seq <= count; seq += 1) more.push(buildLifecycleEvent(create, 'update', seq));
    } else if (draw < share * 1.5) {
      more.push(buildLifecycleEvent(create, 'complete'));
    }
    events.push(...more);
    sends.push(...more);
  }
  for (let i = sends.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [sends[i], sends[j]] = [sends[j] as ChaosEvent, sends[i] as ChaosEvent];
  }
  return { events, sends };
}
