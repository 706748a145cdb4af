/**
 * The chaos scenario: "nothing lost, nothing duplicated, nothing invalid reaches Connect".
 *
 * One runner, two callers: `npm run chaos` (bench/chaos.ts, thousands of messages) and the small
 * fixed-seed version in `npm test` (test/integration/chaos.test.ts).
 *
 *   const report = await runChaos({ messages: 300, seed: 7 });
 *   console.log(formatChaosReport(report));
 *   expect(report.violations).toEqual([]);
 *
 * What it does, on an embedded sandbox with the real pipeline (poller → ingest handler built by the
 * same factory as functions/ingest.ts → DynamoDB/SQS/Connect over loopback):
 *  1. stores one rule per upstream shape (CloudEvents, EventBridge, SNS, raw JSON with a template);
 *     the EventBridge rule puts its events in the urgent lane, the raw JSON one in the bulk lane;
 *  2. sends, each to one of the three lane queues (urgent, normal, bulk; seeded, from a generator of
 *     its own so the mix itself does not depend on it), a seeded mix of valid events (some sent twice by "upstream"), and invalid ones (malformed
 *     JSON, no source, no rule, a Name over the limit, an INACTIVE template, a mapping that yields an
 *     object, an invalid EMAIL reference), each tagged with a `chaosEvent` message attribute that
 *     every rule maps into the task's Attributes and that the DLQ keeps;
 *  3. while they flow, Connect injects 500s, 429s and 402s, loses responses (task created, caller sees
 *     a 500), and in short "slow" windows holds every StartTaskContact beyond the client timeout (both
 *     as added latency before the call and as a lost response held after it); the active-task quota
 *     produces real 402s; the poller "crashes" after the handler returned and before the deletes; SQS
 *     delivers duplicates; DynamoDB calls fail now and then (the ingest's DynamoDB client does not
 *     retry, so they reach our code);
 *  4. drains in rounds: move the clock past every visibility timeout and backoff, let the queue run
 *     dry, run the scheduled redrive; after `faultyRounds` rounds the faults are switched off (the
 *     final drain is clean), until the ingest queue is empty and the DLQ holds no OVER_QUOTA message;
 *  5. compares: tasks vs distinct valid events (by ClientToken, by Name, by event), DLQ entries vs the
 *     invalid events (each with class + code, the code expected for its kind), every sent event
 *     accounted for, and no InvalidParameter/InvalidRequest/ResourceNotFound ever counted by Connect;
 *     per lane (the lane each event was sent to): lost and duplicated, and every task started in its
 *     rule's lane, or in the lane it was sent to when its rule names none.
 *
 * Determinism: the message mix and every fault draw come from one seeded generator; the interleaving
 * of concurrent invocations (and so which draw hits which call) still varies between runs.
 */
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { seededRandom } from '#common/random.ts';
import {
  ACTIVE_TEMPLATE_ID,
  FLOW_ID,
  INACTIVE_TEMPLATE_ID,
  INSTANCE_ID,
  QUICK_CONNECT_ID,
} from '#common/world.ts';
import { createConnectClient } from '#lib/aws/connect.ts';
import { advanceClock } from '#lib/clock.ts';
import { ingestConfigFromEnv, laneQueueUrlsFromEnv, redriveConfigFromEnv } from '#lib/config.ts';
import { RecordNotDoneError } from '#lib/ingest/errors.ts';
import { createIngestHandler } from '#lib/ingest/handler.ts';
import { laneOfRecord } from '#lib/ingest/lane.ts';
import { LANES, type Lane } from '#lib/lanes.ts';
import { silentLogger } from '#lib/observability/logger.ts';
import { type RedriveSummary, runRedrive } from '#lib/redrive/redrive.ts';
import { createSqsPort } from '#lib/redrive/sqs-port.ts';
import { classifyError } from '#lib/retry/classify.ts';
import { readDlqMessage } from '#lib/retry/dlq-message.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import type { ConnectEmulatorConfigPatch } from '#sandbox/connect/emulator.ts';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#sandbox/index.ts';
import { type Pipeline, startPipeline } from '#sandbox/pipeline.ts';

// ------------------------------------------------------------------------------------------------
// Public API

export interface ChaosFaults {
  /** Per StartTaskContact call: injected 500 InternalServiceException. */
  internalErrorRate: number;
  /** Per StartTaskContact call: injected 429 ThrottlingException. */
  throttlingRate: number;
  /** Per StartTaskContact call: injected 402 ServiceQuotaExceededException. */
  serviceQuotaRate: number;
  /** Per StartTaskContact call that took effect: the caller never sees the response. */
  lostResponseRate: number;
  /** Concurrent active tasks before Connect answers 402 (the real quota, small here). */
  activeTaskQuota: number;
  /** Active tasks end this long after creation (emulator clock), freeing quota. */
  autoCompleteAfterSeconds: number;
  /** The ingest's Connect client request timeout (ms). */
  clientTimeoutMs: number;
  /** Real milliseconds between "slow" windows, and how long each lasts. */
  slowEveryMs: number;
  slowForMs: number;
  /** Chance the poller skips an invocation's deletes after the handler returned (a crash). */
  killAfterRate: number;
  /** Chance SQS hands out an extra copy of a received message. */
  sqsDuplicateDeliveryRate: number;
  /** Chance a DynamoDB call fails with a 500. */
  dynamodbErrorRate: number;
}

export const DEFAULT_CHAOS_FAULTS: Readonly<ChaosFaults> = Object.freeze({
  internalErrorRate: 0.08,
  throttlingRate: 0.08,
  serviceQuotaRate: 0.03,
  lostResponseRate: 0.08,
  activeTaskQuota: 60,
  autoCompleteAfterSeconds: 300,
  clientTimeoutMs: 700,
  slowEveryMs: 2_500,
  slowForMs: 400,
  killAfterRate: 0.1,
  sqsDuplicateDeliveryRate: 0.05,
  dynamodbErrorRate: 0.01,
});

export interface ChaosOptions {
  /** SQS messages to send (upstream duplicates included). */
  messages: number;
  seed: number;
  /** Share of events that are invalid (default 0.2). */
  invalidShare?: number;
  /** Share of valid events that upstream sends twice as separate messages (default 0.05). */
  upstreamDuplicateShare?: number;
  /**
   * Share of CRM cases (valid CloudEvents) that upstream later updates (2 or 3 `updated` events, newest
   * last in time, sent in any order) and, as many again by half, closes (one `closed` event); default
   * 0.3. These messages come on top of `messages`.
   */
  lifecycleShare?: number;
  faults?: Partial<ChaosFaults>;
  /** Drain rounds that still have faults on (default 3); later rounds are clean. */
  faultyRounds?: number;
  /** Give up after this many drain rounds (default 40). */
  maxRounds?: number;
  /** Clock advance per drain round, seconds (default 400: past the queue's 360 s visibility timeout). */
  roundSeconds?: number;
  /** Progress lines (default: silent). */
  log?: (line: string) => void;
}

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

export interface LaneReport {
  /** Events sent to this lane's queue (upstream duplicates not counted twice). */
  events: number;
  valid: number;
  tasks: number;
  /** Tasks beyond the first per event of this lane. */
  duplicates: number;
  lost: number;
  /** Valid events of this lane whose task was started in a lane other than the expected one. */
  misplaced: number;
}

export interface ChaosReport {
  seed: number;
  messagesSent: number;
  events: { total: number; valid: number; invalid: number; upstreamDuplicates: number };
  eventsByKind: Partial<Record<EventKind, number>>;
  tasks: {
    created: number;
    distinctClientTokens: number;
    distinctNames: number;
    distinctEvents: number;
    /** Tasks beyond the first per ClientToken, per Name or per event (all must be 0). */
    duplicates: number;
  };
  dlq: {
    entries: number;
    distinctEvents: number;
    /** `${class} ${code}` → entries. */
    byReason: Record<string, number>;
    /** Entries beyond the first for one event (SQS duplicate deliveries of an invalid message). */
    extraCopies: number;
    /** Entries without a readable failure record. */
    withoutReason: number;
  };
  accounting: { lost: number; validNotCreated: number; unknown: number };
  /** Updates and completes of the CRM cases: each must be applied or found stale, the newest update last. */
  lifecycle: {
    updates: number;
    completes: number;
    /** Lifecycle messages with no applied/stale outcome, or parked in the DLQ. */
    lost: number;
    /** Tasks whose final Description/status is not their newest update's. */
    reordered: number;
  };
  /** The same accounting per lane an event was sent to. */
  byLane: Record<Lane, LaneReport>;
  /** Fault and outcome counters observed during the run. */
  observed: {
    connect: Record<string, number>;
    killedInvocations: number;
    invocations: number;
    recordOutcomes: Record<string, number>;
    redriveReplayed: number;
    redriveRuns: number;
    /** Updates/completes parked TaskNotFound (their create was held up longer) that ops replayed. */
    taskNotFoundReplayed: number;
  };
  rounds: number;
  clockAdvancedSeconds: number;
  faultsOffFromRound: number;
  elapsedMs: number;
  /** Every broken promise, one line each; empty when the run is clean. */
  violations: string[];
}

// ------------------------------------------------------------------------------------------------
// Seeded randomness

export { seededRandom };

// ------------------------------------------------------------------------------------------------
// Rules and events

const SNS_TOPIC = 'arn:aws:sns:us-east-1:000000000000:chaos-shipping';
/** The message attribute that tags every sent event; every rule copies it into the task's Attributes. */
export const CHAOS_EVENT_ATTRIBUTE = 'chaosEvent';

const tag = `attributes.${CHAOS_EVENT_ATTRIBUTE}`;

/** One rule per upstream shape, modelled on events/rules/*.json. */
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
    options: { lane: 'bulk' },
  },
  {
    source: 'chaos.returns',
    ruleId: 'return-requested',
    instanceId: INSTANCE_ID,
    target: { taskTemplateId: INACTIVE_TEMPLATE_ID },
    mapping: { name: "'Return ' & data.returnId", attributes: { [CHAOS_EVENT_ATTRIBUTE]: tag } },
  },
];

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
export const RULE_LANES: Readonly<Partial<Record<EventKind, Lane>>> = Object.freeze({
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
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/**
 * Builds one event of `kind`, numbered `n`, sent to `lane`. Names are unique per event, so tasks map
 * back to events.
 */
export function buildEvent(kind: EventKind, n: number, lane: Lane = 'normal'): ChaosEvent {
  return { ...buildEventBody(kind, n), lane, expectedLane: RULE_LANES[kind] ?? lane };
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
  return {
    id,
    kind,
    valid: true,
    caseOf: create.id,
    ...(kind === 'update' ? { seq } : {}),
    body: JSON.stringify({
      specversion: '1.0',
      source: 'chaos.crm',
      id: kind === 'update' ? `case-${n}-update-${seq}` : `case-${n}-closed`,
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

// ------------------------------------------------------------------------------------------------
// The run

type IngestHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export class ChaosRunError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ChaosRunError';
  }
}

function increment(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

function stormConfig(f: ChaosFaults): ConnectEmulatorConfigPatch {
  return {
    activeTaskQuota: f.activeTaskQuota,
    autoCompleteAfterSeconds: f.autoCompleteAfterSeconds,
    errorRates: {
      StartTaskContact: {
        InternalServiceException: f.internalErrorRate,
        ThrottlingException: f.throttlingRate,
        ServiceQuotaExceededException: f.serviceQuotaRate,
      },
    },
    lostResponseRate: { StartTaskContact: f.lostResponseRate },
    lostResponseMode: 'error',
    latencyMs: { StartTaskContact: 0 },
  };
}

/** A slow window: every call waits beyond the client timeout, and lost responses are held, not failed. */
function slowConfig(f: ChaosFaults): ConnectEmulatorConfigPatch {
  return {
    latencyMs: { StartTaskContact: f.clientTimeoutMs + 300 },
    lostResponseMode: 'timeout',
    lostResponseDelayMs: f.clientTimeoutMs + 500,
  };
}

const CLEAN_CONNECT: ConnectEmulatorConfigPatch = {
  errorRates: { StartTaskContact: {} },
  lostResponseRate: { StartTaskContact: 0 },
  lostResponseMode: 'error',
  latencyMs: { StartTaskContact: 0 },
};

interface DlqRead {
  eventId?: string;
  failureClass?: string;
  code?: string;
  problem?: string;
}

/** Every DLQ message, read without consuming it (visibility reset afterwards). */
async function readQueue(sqs: SQSClient, queueUrl: string): Promise<DlqRead[]> {
  const out: DlqRead[] = [];
  // The latest receipt handle per message: an SQS duplicate delivery makes the earlier one stale.
  const handles = new Map<string, string>();
  for (;;) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 60,
      }),
    );
    const messages: Message[] = received.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      const known = handles.has(m.MessageId as string);
      handles.set(m.MessageId as string, m.ReceiptHandle as string);
      if (known) continue;
      const read = readDlqMessage(m);
      const eventId = read.attributes[CHAOS_EVENT_ATTRIBUTE]?.StringValue;
      out.push({
        ...(eventId !== undefined ? { eventId } : {}),
        ...(read.failure ? { failureClass: read.failure.class, code: read.failure.code } : {}),
        ...(read.problem !== undefined ? { problem: read.problem } : {}),
      });
    }
  }
  for (const handle of handles.values()) {
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
  }
  return out;
}

/** Messages in the queue: visible, or hidden (in flight, deferred, delayed). */
async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; hidden: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    hidden:
      Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

async function sendAll(sqs: SQSClient, queueUrl: string, sends: readonly ChaosEvent[]): Promise<void> {
  const toAttributes = (attributes: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(attributes).map(([k, v]) => [
        k,
        { DataType: 'String', StringValue: v } as MessageAttributeValue,
      ]),
    );
  const chunks: ChaosEvent[][] = [];
  for (let i = 0; i < sends.length; i += 10) chunks.push(sends.slice(i, i + 10));
  let next = 0;
  const sender = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++] as ChaosEvent[];
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((e, j) => ({
            Id: String(j),
            MessageBody: e.body,
            MessageAttributes: toAttributes(e.attributes),
          })),
        }),
      );
      if (out.Failed?.length)
        throw new ChaosRunError(`SendMessageBatch refused ${out.Failed.length} entries`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, sender));
}

/**
 * Runs the scenario.
 *
 * Input: how many messages, the seed, optional fault rates and drain limits.
 * Output: the report (counts, observed faults, violations). Throws ChaosRunError only when the run
 * itself cannot proceed (the sandbox does not start, sends are refused, the queue never idles).
 * Primary course: sandbox + pipeline with faults → send the mix → drain in rounds (clock, queue, redrive;
 * faults off after `faultyRounds`) → read Connect's tasks and the DLQ → compare with what was sent.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const faults: ChaosFaults = { ...DEFAULT_CHAOS_FAULTS, ...options.faults };
  const faultyRounds = options.faultyRounds ?? 3;
  const maxRounds = options.maxRounds ?? 40;
  const roundSeconds = options.roundSeconds ?? 400;
  const random = seededRandom(options.seed);
  const { events, sends } = buildMix({
    messages: options.messages,
    random,
    laneRandom: seededRandom(options.seed ^ 0x1a9e5),
    invalidShare: options.invalidShare ?? 0.2,
    upstreamDuplicateShare: options.upstreamDuplicateShare ?? 0.05,
    lifecycleShare: options.lifecycleShare ?? 0.3,
    lifecycleRandom: seededRandom(options.seed ^ 0x11fec),
  });

  const sandbox: Sandbox = await startSandbox({ port: 0, random });
  Object.assign(process.env, sandbox.environment, { START_TASK_RATE: '1000' });
  const clientConfig = {
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: SANDBOX_CREDENTIALS,
  };
  // The production Connect client (2 attempts, explicit timeouts), with a short request timeout.
  const connect = createConnectClient({ requestTimeoutMs: faults.clientTimeoutMs, maxAttempts: 2 });
  const sqs = new SQSClient(clientConfig);
  // No SDK retries: the injected DynamoDB errors reach the idempotency, ledger and rules code.
  const dynamodb = new DynamoDBClient({ ...clientConfig, maxAttempts: 1 });
  const laneQueueUrls = laneQueueUrlsFromEnv();
  const ingestQueueUrl = laneQueueUrls.normal;
  const dlqUrl = sandbox.environment.DLQ_URL as string;

  const recordOutcomes: Record<string, number> = {};
  /** ClientToken → the lanes whose deliveries created it or found it created. */
  const startedIn = new Map<string, Set<Lane>>();
  /** Tracking id of an update/complete → the outcomes its deliveries had (updated, completed, stale). */
  const lifecycleOutcomes = new Map<string, Set<string>>();
  let killedInvocations = 0;
  let invocations = 0;
  let pipeline: Pipeline | undefined;
  let slowTimer: NodeJS.Timeout | undefined;
  let watch: NodeJS.Timeout | undefined;
  let redriveReplayed = 0;
  let redriveRuns = 0;
  let taskNotFoundReplayed = 0;

  try {
    const store = new DynamoRuleStore({
      client: sandbox.clients.dynamodb,
      tableName: sandbox.environment.RULES_TABLE as string,
    });
    for (const rule of CHAOS_RULES) await store.put(rule);

    // Read once, before startPipeline re-applies serverless.yml's environment (START_TASK_RATE 2).
    const ingestConfig = { ...ingestConfigFromEnv(), ingestQueueUrl, laneQueueUrls };
    const makeIngest = (): IngestHandler =>
      createIngestHandler({
        config: ingestConfig,
        clients: { connect, sqs, dynamodb },
        log: silentLogger,
        onOutcome: (record, outcome) => {
          if (outcome.status === 'updated' || outcome.status === 'completed' || outcome.status === 'stale') {
            const id = record.messageAttributes?.[CHAOS_EVENT_ATTRIBUTE]?.stringValue ?? '';
            const seen = lifecycleOutcomes.get(id) ?? new Set<string>();
            seen.add(outcome.status);
            lifecycleOutcomes.set(id, seen);
          }
          if (outcome.status === 'created' || outcome.status === 'duplicate') {
            const lanes = startedIn.get(outcome.clientToken) ?? new Set<Lane>();
            lanes.add(laneOfRecord(record));
            startedIn.set(outcome.clientToken, lanes);
          }
          if (outcome.status === 'retry') {
            const { error } = outcome;
            increment(
              recordOutcomes,
              error instanceof RecordNotDoneError
                ? `retry ${error.failureClass} ${error.code}`
                : `retry (escaped) ${classifyError(error).code}`,
            );
          } else if (outcome.status === 'parked')
            increment(recordOutcomes, `parked ${outcome.failureClass} ${outcome.code}`);
          else increment(recordOutcomes, outcome.status);
        },
      }) as unknown as IngestHandler;

    // Faults on.
    sandbox.connect.configure(stormConfig(faults));
    sandbox.sqs.setFaults({ duplicateDeliveryRate: faults.sqsDuplicateDeliveryRate });
    sandbox.setDynamoDbErrorRate(faults.dynamodbErrorRate);
    let slow = false;
    const toggleSlow = () => {
      slow = !slow;
      sandbox.connect.configure(slow ? slowConfig(faults) : stormConfig(faults));
      slowTimer = setTimeout(toggleSlow, slow ? faults.slowForMs : faults.slowEveryMs);
    };
    slowTimer = setTimeout(toggleSlow, faults.slowEveryMs);

    pipeline = await startPipeline(sandbox, {
      schedules: false,
      killAfterRate: faults.killAfterRate,
      handlers: { ingest: makeIngest },
      onInvocation: (name, info) => {
        if (name !== 'ingest') return;
        invocations += 1;
        if ((info as { killed?: boolean }).killed) killedInvocations += 1;
      },
    });

    if (options.log) {
      watch = setInterval(() => {
        const outcomes = Object.entries(recordOutcomes)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        log(`… ${invocations} invocations, ${killedInvocations} killed; ${outcomes}`);
      }, 5_000);
      watch.unref();
    }
    log(
      `sending ${sends.length} messages (${events.length} events, seed ${options.seed}) to ${LANES.length} lanes`,
    );
    await Promise.all(
      LANES.map((lane) =>
        sendAll(
          sqs,
          laneQueueUrls[lane],
          sends.filter((e) => e.lane === lane),
        ),
      ),
    );
    await pipeline.idle({ includeInvisible: false, timeoutMs: 120_000 });
    log(`first pass done after ${Math.round(performance.now() - started)} ms`);

    const redriveConfig = redriveConfigFromEnv();
    const redrive = async (): Promise<RedriveSummary> => {
      redriveRuns += 1;
      const summary = await runRedrive(
        {
          sqs: createSqsPort(sqs),
          dlqUrl,
          ingestQueueUrl,
          laneQueueUrls: redriveConfig.laneQueueUrls,
          limits: redriveConfig.limits,
          overQuotaBackoff: redriveConfig.overQuotaBackoff,
        },
        { mode: 'scheduled', maxScan: 100_000 },
      );
      redriveReplayed += summary.replayed;
      return summary;
    };

    let round = 0;
    let clockAdvancedSeconds = 0;
    let faultsOffFromRound = 0;
    let drained = false;
    while (round < maxRounds) {
      round += 1;
      if (round > faultyRounds && faultsOffFromRound === 0) {
        faultsOffFromRound = round;
        clearTimeout(slowTimer);
        sandbox.connect.configure(CLEAN_CONNECT);
        sandbox.sqs.setFaults({ duplicateDeliveryRate: 0 });
        sandbox.setDynamoDbErrorRate(0);
        await pipeline.stop();
        pipeline = await startPipeline(sandbox, {
          schedules: false,
          handlers: { ingest: makeIngest },
          onInvocation: (name) => {
            if (name === 'ingest') invocations += 1;
          },
        });
        log(`round ${round}: faults off for the final drain`);
      }
      advanceClock(roundSeconds * 1000);
      clockAdvancedSeconds += roundSeconds;
      await pipeline.idle({ includeInvisible: false, timeoutMs: 120_000 });
      const summary = await redrive();
      if (faultsOffFromRound !== 0) {
        // What ops do with a TaskNotFound (an update whose create waited in the DLQ longer than the
        // update's receives): `dlq replay --code TaskNotFound` once the create exists.
        const replayed = await runRedrive(
          {
            sqs: createSqsPort(sqs),
            dlqUrl,
            ingestQueueUrl,
            laneQueueUrls: redriveConfig.laneQueueUrls,
          },
          { mode: 'ops-replay', filter: { code: 'TaskNotFound' }, maxScan: 100_000 },
        );
        taskNotFoundReplayed += replayed.replayed;
      }
      await pipeline.idle({ includeInvisible: false, timeoutMs: 120_000 });
      const overQuota = (await readQueue(sqs, dlqUrl)).filter((e) => e.failureClass === 'OVER_QUOTA').length;
      const ingest = { visible: 0, hidden: 0 };
      for (const lane of LANES) {
        const depth = await queueDepth(sqs, laneQueueUrls[lane]);
        ingest.visible += depth.visible;
        ingest.hidden += depth.hidden;
      }
      // Deferred by the redrive (hidden until due): not done yet, even though a read cannot see them.
      const dlqHidden = (await queueDepth(sqs, dlqUrl)).hidden;
      log(
        `round ${round}: replayed ${summary.replayed}, deferred ${summary.deferred}, OVER_QUOTA left ${overQuota + dlqHidden}, lane queues ${ingest.visible + ingest.hidden}`,
      );
      if (overQuota + dlqHidden + ingest.visible + ingest.hidden === 0 && faultsOffFromRound !== 0) {
        drained = true;
        break;
      }
    }

    const tasks = sandbox.connect.contacts({ channel: 'TASK' });
    const dlq = await readQueue(sqs, dlqUrl);
    const connectCounts = sandbox.connect.callCounts().StartTaskContact ?? {};
    const report = compare({
      options,
      events,
      sends,
      tasks,
      dlq,
      connectCounts,
      drained,
      startedIn,
      lifecycleOutcomes,
    });
    report.observed.killedInvocations = killedInvocations;
    report.observed.invocations = invocations;
    report.observed.recordOutcomes = recordOutcomes;
    report.observed.redriveReplayed = redriveReplayed;
    report.observed.redriveRuns = redriveRuns;
    report.observed.taskNotFoundReplayed = taskNotFoundReplayed;
    report.rounds = round;
    report.clockAdvancedSeconds = clockAdvancedSeconds;
    report.faultsOffFromRound = faultsOffFromRound;
    report.elapsedMs = Math.round(performance.now() - started);
    return report;
  } finally {
    clearTimeout(slowTimer);
    clearInterval(watch);
    await pipeline?.stop();
    connect.destroy();
    sqs.destroy();
    dynamodb.destroy();
    await sandbox.stop();
  }
}

// ------------------------------------------------------------------------------------------------
// The comparison

interface CompareInput {
  options: ChaosOptions;
  events: readonly ChaosEvent[];
  sends: readonly ChaosEvent[];
  tasks: ReturnType<Sandbox['connect']['contacts']>;
  dlq: readonly DlqRead[];
  connectCounts: Record<string, number>;
  drained: boolean;
  /** ClientToken → the lanes its task was started (or found started) in; absent: not checked. */
  startedIn?: ReadonlyMap<string, ReadonlySet<Lane>>;
  /** Tracking id of an update/complete → its deliveries' outcomes; absent: every one counts as lost. */
  lifecycleOutcomes?: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * Compares what Connect and the DLQ hold with what was sent. Exported for its own unit test: the
 * checks must be able to fail.
 */
export function compare(input: CompareInput): ChaosReport {
  const { tasks, dlq } = input;
  const violations: string[] = [];
  const byId = new Map(input.events.map((e) => [e.id, e]));
  // Updates and completes are checked apart (below): they make no task of their own.
  const lifecycle = input.events.filter((e) => e.caseOf !== undefined);
  const events = input.events.filter((e) => e.caseOf === undefined);
  const valid = events.filter((e) => e.valid);
  const eventsByKind: Partial<Record<EventKind, number>> = {};
  for (const e of input.events) eventsByKind[e.kind] = (eventsByKind[e.kind] ?? 0) + 1;

  // Tasks: one per ClientToken, per Name, per event.
  const group = (key: (t: (typeof tasks)[number]) => string | undefined) => {
    const groups = new Map<string, number>();
    for (const t of tasks) {
      const k = key(t) ?? '(none)';
      groups.set(k, (groups.get(k) ?? 0) + 1);
    }
    return groups;
  };
  const byToken = group((t) => t.ClientToken);
  const byName = group((t) => t.Name);
  const byEvent = group((t) => t.Attributes[CHAOS_EVENT_ATTRIBUTE]);
  const extra = (groups: Map<string, number>) => [...groups.values()].reduce((s, n) => s + n - 1, 0);
  const duplicates = Math.max(extra(byToken), extra(byName), extra(byEvent));
  for (const [token, n] of byToken)
    if (n > 1) violations.push(`duplicate: ${n} tasks with ClientToken ${token}`);
  for (const [name, n] of byName) if (n > 1) violations.push(`duplicate: ${n} tasks named "${name}"`);

  let unknown = 0;
  for (const t of tasks) {
    const event = byId.get(t.Attributes[CHAOS_EVENT_ATTRIBUTE] ?? '');
    if (!event) {
      unknown += 1;
      violations.push(`task ${t.ContactId} carries no known ${CHAOS_EVENT_ATTRIBUTE}`);
    } else if (!event.valid) {
      violations.push(`invalid event ${event.id} (${event.kind}) became task ${t.ContactId}`);
    } else if (t.Name !== event.expectedName) {
      violations.push(
        `task ${t.ContactId} of ${event.id} is named "${t.Name}", expected "${event.expectedName}"`,
      );
    }
  }

  // DLQ: every entry has a reason; invalid events with their expected code.
  const byReason: Record<string, number> = {};
  const dlqByEvent = new Map<string, DlqRead[]>();
  let withoutReason = 0;
  for (const entry of dlq) {
    if (entry.problem !== undefined || entry.failureClass === undefined || entry.code === undefined) {
      withoutReason += 1;
      violations.push(
        `DLQ entry of ${entry.eventId ?? 'an unknown event'} has no reason: ${entry.problem ?? 'no class/code'}`,
      );
    } else {
      increment(byReason, `${entry.failureClass} ${entry.code}`);
    }
    const list = dlqByEvent.get(entry.eventId ?? '') ?? [];
    list.push(entry);
    dlqByEvent.set(entry.eventId ?? '', list);
  }
  for (const [eventId, entries] of dlqByEvent) {
    const event = byId.get(eventId);
    if (!event) {
      unknown += entries.length;
      violations.push(`DLQ holds ${entries.length} entries of unknown event "${eventId}"`);
      continue;
    }
    for (const entry of entries) {
      if (event.caseOf !== undefined) {
        violations.push(`${event.kind} ${eventId} is in the DLQ: ${entry.failureClass} ${entry.code}`);
      } else if (event.valid) {
        violations.push(
          `valid event ${eventId} (${event.kind}) is in the DLQ: ${entry.failureClass} ${entry.code}`,
        );
      } else if (entry.failureClass !== 'PERMANENT' || entry.code !== EXPECTED_CODES[event.kind]) {
        violations.push(
          `event ${eventId} (${event.kind}) parked as ${entry.failureClass} ${entry.code}, expected PERMANENT ${EXPECTED_CODES[event.kind]}`,
        );
      }
    }
  }
  const extraCopies = [...dlqByEvent.values()].reduce((s, list) => s + list.length - 1, 0);

  // Lifecycle: every update/complete applied or found stale (never lost, never parked), and each
  // updated task's final state is its newest update's, whatever order they arrived in.
  let lifecycleLost = 0;
  let reordered = 0;
  const newestUpdate = new Map<string, number>();
  for (const e of lifecycle) {
    const outcomes = input.lifecycleOutcomes?.get(e.id);
    if (!outcomes || outcomes.size === 0 || dlqByEvent.has(e.id)) {
      lifecycleLost += 1;
      violations.push(`lost: ${e.kind} ${e.id} was neither applied nor found stale`);
    }
    if (e.kind === 'update' && e.caseOf !== undefined && e.seq !== undefined) {
      newestUpdate.set(e.caseOf, Math.max(newestUpdate.get(e.caseOf) ?? 0, e.seq));
    }
  }
  for (const [caseOf, seq] of newestUpdate) {
    const task = tasks.find((t) => t.Attributes[CHAOS_EVENT_ATTRIBUTE] === caseOf);
    const status = (task as { References?: Record<string, { Value?: string }> } | undefined)?.References
      ?.status?.Value;
    if (task && (task.Description !== `Update ${seq}` || status !== `s${seq}`)) {
      reordered += 1;
      violations.push(
        `task of ${caseOf} ends with update "${task.Description}" / status ${status}, expected its newest, Update ${seq}`,
      );
    }
  }

  // Accounting by event: every sent event is a task or a DLQ entry.
  let lost = 0;
  let validNotCreated = 0;
  for (const e of events) {
    const inTasks = (byEvent.get(e.id) ?? 0) > 0;
    const inDlq = dlqByEvent.has(e.id);
    if (!inTasks && !inDlq) {
      lost += 1;
      violations.push(`lost: event ${e.id} (${e.kind}) is neither a task nor in the DLQ`);
    } else if (e.valid && !inTasks) {
      validNotCreated += 1;
    }
  }

  // Nothing invalid reached Connect.
  for (const code of ['InvalidParameterException', 'InvalidRequestException', 'ResourceNotFoundException']) {
    const n = input.connectCounts[code] ?? 0;
    if (n > 0) violations.push(`Connect answered ${n} StartTaskContact calls with ${code}`);
  }
  if (!input.drained) violations.push('the queues did not drain within maxRounds');

  // Per lane: the same accounting over the events sent to it, and where their tasks were started.
  const byLane = Object.fromEntries(
    LANES.map((lane) => [lane, { events: 0, valid: 0, tasks: 0, duplicates: 0, lost: 0, misplaced: 0 }]),
  ) as Record<Lane, LaneReport>;
  for (const e of events) {
    const lane = byLane[e.lane];
    const count = byEvent.get(e.id) ?? 0;
    lane.events += 1;
    if (e.valid) lane.valid += 1;
    lane.tasks += count;
    lane.duplicates += Math.max(0, count - 1);
    if (count === 0 && !dlqByEvent.has(e.id)) lane.lost += 1;
  }
  if (input.startedIn) {
    for (const t of tasks) {
      const event = byId.get(t.Attributes[CHAOS_EVENT_ATTRIBUTE] ?? '');
      if (!event?.valid) continue;
      const lanes = [...(input.startedIn.get(t.ClientToken ?? '') ?? [])];
      const wrong = lanes.filter((lane) => lane !== event.expectedLane);
      if (lanes.length === 0 || wrong.length > 0) {
        byLane[event.lane].misplaced += 1;
        violations.push(
          `task of ${event.id} (${event.kind}, sent to ${event.lane}) started in lane ${lanes.join('+') || 'none seen'}, expected ${event.expectedLane}`,
        );
      }
    }
  }

  const createdEvents = [...byEvent.keys()].filter((k) => byId.get(k)?.valid).length;
  if (tasks.length !== valid.length) {
    violations.push(`${tasks.length} tasks for ${valid.length} distinct valid events`);
  }

  return {
    seed: input.options.seed,
    messagesSent: input.sends.length,
    events: {
      total: events.length,
      valid: valid.length,
      invalid: events.length - valid.length,
      upstreamDuplicates: input.sends.length - input.events.length,
    },
    eventsByKind,
    tasks: {
      created: tasks.length,
      distinctClientTokens: byToken.size,
      distinctNames: byName.size,
      distinctEvents: createdEvents,
      duplicates,
    },
    dlq: {
      entries: dlq.length,
      distinctEvents: dlqByEvent.size,
      byReason,
      extraCopies,
      withoutReason,
    },
    accounting: { lost, validNotCreated, unknown },
    lifecycle: {
      updates: lifecycle.filter((e) => e.kind === 'update').length,
      completes: lifecycle.filter((e) => e.kind === 'complete').length,
      lost: lifecycleLost,
      reordered,
    },
    byLane,
    observed: {
      connect: { ...input.connectCounts },
      killedInvocations: 0,
      invocations: 0,
      recordOutcomes: {},
      redriveReplayed: 0,
      redriveRuns: 0,
      taskNotFoundReplayed: 0,
    },
    rounds: 0,
    clockAdvancedSeconds: 0,
    faultsOffFromRound: 0,
    elapsedMs: 0,
    violations,
  };
}

/** The report as the lines `npm run chaos` prints. */
export function formatChaosReport(r: ChaosReport): string {
  const kv = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `    ${k}: ${v}`)
      .join('\n');
  return [
    `chaos run (seed ${r.seed}): ${r.elapsedMs} ms, ${r.rounds} drain rounds, clock +${r.clockAdvancedSeconds} s, faults off from round ${r.faultsOffFromRound}`,
    `  sent messages:          ${r.messagesSent} (${r.events.upstreamDuplicates} upstream duplicates)`,
    `  events:                 ${r.events.total} (${r.events.valid} valid, ${r.events.invalid} invalid)`,
    `  tasks created:          ${r.tasks.created} (distinct ClientTokens ${r.tasks.distinctClientTokens}, names ${r.tasks.distinctNames}, events ${r.tasks.distinctEvents})`,
    `  duplicates:             ${r.tasks.duplicates}`,
    `  DLQ entries:            ${r.dlq.entries} (${r.dlq.distinctEvents} events, ${r.dlq.extraCopies} extra copies, ${r.dlq.withoutReason} without reason)`,
    kv(r.dlq.byReason),
    `  lost:                   ${r.accounting.lost}; valid not created: ${r.accounting.validNotCreated}; unknown: ${r.accounting.unknown}`,
    `  lifecycle:              ${r.lifecycle.updates} updates, ${r.lifecycle.completes} completes; ${r.lifecycle.lost} lost, ${r.lifecycle.reordered} tasks not at their newest update`,
    '  per lane sent to (events, valid, tasks, duplicated, lost, started in the wrong lane):',
    ...LANES.map((lane) => {
      const l = r.byLane[lane];
      return `    ${lane.padEnd(7)} ${l.events} events, ${l.valid} valid, ${l.tasks} tasks, ${l.duplicates} duplicated, ${l.lost} lost, ${l.misplaced} misplaced`;
    }),
    `  invocations:            ${r.observed.invocations} (${r.observed.killedInvocations} killed before their deletes)`,
    `  redrive:                ${r.observed.redriveRuns} runs, ${r.observed.redriveReplayed} replayed; ops replayed ${r.observed.taskNotFoundReplayed} TaskNotFound`,
    '  Connect StartTaskContact outcomes:',
    kv(r.observed.connect),
    '  record outcomes:',
    kv(r.observed.recordOutcomes),
    `  violations:             ${r.violations.length}`,
    ...r.violations.slice(0, 50).map((v) => `    - ${v}`),
  ].join('\n');
}
