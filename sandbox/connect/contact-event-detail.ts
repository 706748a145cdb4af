/**
 * A contact event as Amazon Connect publishes it to EventBridge ("Amazon Connect contact events",
 * Amazon Connect Administrator Guide): source `aws.connect`, detail-type `Amazon Connect Contact
 * Event`, resources `[contactArn, instanceArn]`, and a camelCase `detail` of the contact's state at
 * the moment of the event. Times in `detail` are ISO-8601 with milliseconds on the emulator's clock.
 */
import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '../events/envelope.ts';
import { eventTime } from '../events/envelope.ts';
import type { ContactRecord } from './contact-record.ts';

/** The event types the emulator emits (of those the guide lists, the ones a task goes through). */
const CONTACT_EVENT_TYPES = [
  'INITIATED',
  'QUEUED',
  'CONNECTED_TO_AGENT',
  'CONTACT_DATA_UPDATED',
  'DISCONNECTED',
  'COMPLETED',
] as const;
export type ContactEventType = (typeof CONTACT_EVENT_TYPES)[number];

const CONTACT_EVENT_SOURCE = 'aws.connect';
const CONTACT_EVENT_DETAIL_TYPE = 'Amazon Connect Contact Event';

const iso = (ms: number) => new Date(ms).toISOString();

function queueInfo(contact: ContactRecord, instanceArn: string) {
  if (contact.queueId === undefined || contact.enqueueTimestamp === undefined) return {};
  return {
    queueInfo: {
      queueArn: `${instanceArn}/queue/${contact.queueId}`,
      queueType: 'STANDARD',
      enqueueTimestamp: iso(contact.enqueueTimestamp),
    },
  };
}

function agentInfo(contact: ContactRecord, instanceArn: string) {
  if (contact.userId === undefined || contact.connectedToAgentTimestamp === undefined) return {};
  const { afterContactWorkStartTimestamp: start, afterContactWorkEndTimestamp: end } = contact;
  return {
    agentInfo: {
      agentArn: `${instanceArn}/agent/${contact.userId}`,
      connectedToAgentTimestamp: iso(contact.connectedToAgentTimestamp),
      ...(start !== undefined && { afterContactWorkStartTimestamp: iso(start) }),
      ...(end !== undefined && { afterContactWorkEndTimestamp: iso(end) }),
      ...(contact.afterContactWorkDuration !== undefined && {
        afterContactWorkDuration: contact.afterContactWorkDuration,
      }),
    },
  };
}

/** The `detail` of an event of `type` about `contact`, as the contact is now. */
function contactEventDetail(
  type: ContactEventType,
  contact: ContactRecord,
  instanceArn: string,
): Record<string, unknown> {
  return {
    eventType: type,
    contactId: contact.contactId,
    initialContactId: contact.chainRootId,
    ...(contact.previousContactId !== undefined && { previousContactId: contact.previousContactId }),
    channel: contact.channel,
    instanceArn,
    initiationMethod: contact.initiationMethod,
    initiationTimestamp: iso(contact.initiationTimestamp),
    ...queueInfo(contact, instanceArn),
    ...agentInfo(contact, instanceArn),
    ...(contact.disconnectTimestamp !== undefined && {
      disconnectTimestamp: iso(contact.disconnectTimestamp),
      disconnectReason: contact.disconnectReason,
    }),
  };
}

/** The whole event: a fresh id, `time` the emission instant to the second. */
export function contactEventEnvelope(
  type: ContactEventType,
  contact: ContactRecord,
  where: { instanceArn: string; accountId: string; region: string; at: number },
): EventEnvelope {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': CONTACT_EVENT_DETAIL_TYPE,
    source: CONTACT_EVENT_SOURCE,
    account: where.accountId,
    time: eventTime(where.at),
    region: where.region,
    resources: [contact.arn, where.instanceArn],
    detail: contactEventDetail(type, contact, where.instanceArn),
  };
}
