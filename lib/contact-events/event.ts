/**
 * Reads an Amazon Connect contact event as EventBridge delivers it to SQS (source `aws.connect`,
 * detail-type `Amazon Connect Contact Event`) into a fact about one task contact.
 *
 * The data model grows (Amazon Connect admin guide, "Amazon Connect contact events": ignore new fields,
 * keep working when new event types appear), and its published samples mix camelCase and PascalCase
 * keys (`agentInfo` / `AgentInfo`). So: keys are read in either case, unknown fields are ignored, an
 * unknown event type or another channel is `ignored` with a reason, and a timestamp that does not parse
 * is treated as absent. Only a body that is not a contact event at all is `malformed`.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { isObject } from '#lib/guards.ts';
import { CONTACT_EVENT_TYPES, type ContactEventType, type ContactFact } from './progress.ts';

z.config(en());

export type ReadContactEvent =
  | { kind: 'fact'; instanceId: string; contactId: string; fact: ContactFact }
  | { kind: 'ignored'; reason: 'OtherChannel' | 'UnknownEventType'; eventType?: string }
  | { kind: 'malformed'; reason: string };

const optionalText = z.optional(z.string());

const envelopeSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  source: z.literal('aws.connect'),
  time: optionalText,
  detail: z.looseObject({
    eventType: z.string(),
    contactId: z.string().check(z.minLength(1)),
    channel: optionalText,
    instanceArn: z.string().check(z.minLength(1)),
    initiationTimestamp: optionalText,
    disconnectTimestamp: optionalText,
    disconnectReason: optionalText,
    queueInfo: z.optional(z.looseObject({ queueArn: optionalText, enqueueTimestamp: optionalText })),
    agentInfo: z.optional(
      z.looseObject({
        agentArn: optionalText,
        connectedToAgentTimestamp: optionalText,
        afterContactWorkStartTimestamp: optionalText,
        afterContactWorkEndTimestamp: optionalText,
      }),
    ),
  }),
});

type Detail = z.infer<typeof envelopeSchema>['detail'];

/** The object with every key's first letter lower-cased, recursively (PascalCase samples read as camelCase). */
function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key.charAt(0).toLowerCase() + key.slice(1), camelKeys(v)]),
  );
}

/** Epoch ms of an ISO-8601 time; undefined when absent or unreadable. */
function millis(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The id after `<kind>/` in an ARN: `…:instance/<id>`, `…/agent/<id>`, `…/queue/<id>`. */
function idInArn(arn: string | undefined, kind: string): string | undefined {
  if (arn === undefined) return undefined;
  return new RegExp(`[:/]${kind}/([^/]+)`).exec(arn)?.[1];
}

/** The fact's own time: the timestamp of its type, else the event's time. */
function factTime(type: ContactEventType, times: Omit<ContactFact, 'type' | 'at' | 'ref' | 'via'>) {
  switch (type) {
    case 'INITIATED':
      return times.initiatedAt;
    case 'QUEUED':
      return times.enqueuedAt;
    case 'CONNECTED_TO_AGENT':
      return times.connectedAt;
    case 'DISCONNECTED':
      return times.disconnectedAt;
    case 'COMPLETED':
      return times.acwEndAt ?? times.disconnectedAt;
  }
}

function factFrom(type: ContactEventType, detail: Detail, ref: string, eventTime: number | undefined) {
  const snapshot = {
    agentId: idInArn(detail.agentInfo?.agentArn, 'agent'),
    queueId: idInArn(detail.queueInfo?.queueArn, 'queue'),
    initiatedAt: millis(detail.initiationTimestamp),
    enqueuedAt: millis(detail.queueInfo?.enqueueTimestamp),
    connectedAt: millis(detail.agentInfo?.connectedToAgentTimestamp),
    disconnectedAt: millis(detail.disconnectTimestamp),
    acwStartAt: millis(detail.agentInfo?.afterContactWorkStartTimestamp),
    acwEndAt: millis(detail.agentInfo?.afterContactWorkEndTimestamp),
    disconnectReason: detail.disconnectReason === '' ? undefined : detail.disconnectReason,
  };
  const defined = Object.fromEntries(Object.entries(snapshot).filter(([, v]) => v !== undefined));
  const at = factTime(type, snapshot) ?? eventTime;
  if (at === undefined) return undefined;
  return { type, at, ref, via: 'event', ...defined } as ContactFact;
}

/**
 * Reads the body of one SQS record delivered by the contact events rule.
 * @example readContactEvent('{"id":"…","source":"aws.connect","detail":{"eventType":"COMPLETED",…}}')
 */
export function readContactEvent(body: string): ReadContactEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { kind: 'malformed', reason: 'the body is not JSON' };
  }
  const parsed = envelopeSchema.safeParse(camelKeys(json));
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
    return { kind: 'malformed', reason: `not a contact event: ${fields.join(', ')}` };
  }
  const { id, time, detail } = parsed.data;
  if (detail.channel !== undefined && detail.channel.toUpperCase() !== 'TASK') {
    return { kind: 'ignored', reason: 'OtherChannel' };
  }
  const type = (CONTACT_EVENT_TYPES as readonly string[]).find((t) => t === detail.eventType);
  if (type === undefined) return { kind: 'ignored', reason: 'UnknownEventType', eventType: detail.eventType };
  const instanceId = idInArn(detail.instanceArn, 'instance');
  const fact = factFrom(type as ContactEventType, detail, id, millis(time));
  if (instanceId === undefined) return { kind: 'malformed', reason: 'detail.instanceArn names no instance' };
  if (fact === undefined) return { kind: 'malformed', reason: `no time for a ${type} event` };
  return { kind: 'fact', instanceId, contactId: detail.contactId, fact };
}
