/**
 * Contact events as Amazon Connect sends them through EventBridge (the admin guide's data model, camelCase
 * keys), for the contact events tests: one task's whole life, and each event on its own.
 */
import { INSTANCE_ID } from '#common/world.ts';

const ARN = `arn:aws:connect:us-east-1:000000000000:instance/${INSTANCE_ID}`;
export const QUEUE_ID = 'a0a0a0a0-0000-4000-8000-000000000001';
export const AGENT_ID = 'b0b0b0b0-0000-4000-8000-000000000001';

export const T = {
  initiated: Date.parse('2024-05-01T09:00:00.000Z'),
  queued: Date.parse('2024-05-01T09:00:01.000Z'),
  connected: Date.parse('2024-05-01T09:05:00.000Z'),
  disconnected: Date.parse('2024-05-01T09:20:00.000Z'),
  acwEnd: Date.parse('2024-05-01T09:22:00.000Z'),
};

export type LifeEventType = 'INITIATED' | 'QUEUED' | 'CONNECTED_TO_AGENT' | 'DISCONNECTED' | 'COMPLETED';
export const LIFE: readonly LifeEventType[] = [
  'INITIATED',
  'QUEUED',
  'CONNECTED_TO_AGENT',
  'DISCONNECTED',
  'COMPLETED',
];

const iso = (ms: number) => new Date(ms).toISOString();

/** The detail of `type` for `contactId`: what Connect knows at that point of the task's life. */
export function contactDetail(contactId: string, type: string, options: { acw?: boolean } = {}) {
  const rank = LIFE.indexOf(type as LifeEventType);
  const after = (t: LifeEventType) => rank >= LIFE.indexOf(t);
  const acw = options.acw ?? true;
  return {
    eventType: type,
    contactId,
    initialContactId: contactId,
    channel: 'TASK',
    instanceArn: ARN,
    initiationMethod: 'API',
    initiationTimestamp: iso(T.initiated),
    ...(after('QUEUED')
      ? {
          queueInfo: {
            queueArn: `${ARN}/queue/${QUEUE_ID}`,
            queueType: 'STANDARD',
            enqueueTimestamp: iso(T.queued),
          },
        }
      : {}),
    ...(after('CONNECTED_TO_AGENT')
      ? {
          agentInfo: {
            agentArn: `${ARN}/agent/${AGENT_ID}`,
            connectedToAgentTimestamp: iso(T.connected),
            ...(after('DISCONNECTED') && acw ? { afterContactWorkStartTimestamp: iso(T.disconnected) } : {}),
            ...(after('COMPLETED') && acw
              ? { afterContactWorkEndTimestamp: iso(T.acwEnd), afterContactWorkDuration: 120 }
              : {}),
          },
        }
      : {}),
    ...(after('DISCONNECTED')
      ? { disconnectTimestamp: iso(T.disconnected), disconnectReason: 'AGENT_DISCONNECT' }
      : {}),
  };
}

/** The EventBridge event around a detail, as the contact events rule delivers it to SQS. */
export function contactEvent(
  contactId: string,
  type: string,
  id = `ev-${contactId}-${type}`,
  detail = contactDetail(contactId, type),
) {
  return {
    version: '0',
    id,
    'detail-type': 'Amazon Connect Contact Event',
    source: 'aws.connect',
    account: '000000000000',
    time: iso(T.initiated),
    region: 'us-east-1',
    resources: [`${ARN}/contact/${contactId}`, ARN],
    detail,
  };
}
