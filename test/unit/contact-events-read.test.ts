/**
 * Reading Amazon Connect contact events (lib/contact-events/event.ts): the data model's fields into a
 * fact, either key case, unknown fields and types tolerated, another channel ignored, junk malformed.
 */
import { describe, expect, it } from 'vitest';
import { INSTANCE_ID } from '#common/world.ts';
import { readContactEvent } from '#lib/contact-events/event.ts';
import { AGENT_ID, contactDetail, contactEvent, QUEUE_ID, T } from '#test/support/contact-events.ts';

const pascal = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(pascal)
    : value !== null && typeof value === 'object'
      ? Object.fromEntries(
          Object.entries(value).map(([k, v]) => [k.charAt(0).toUpperCase() + k.slice(1), pascal(v)]),
        )
      : value;

describe('readContactEvent', () => {
  it('reads a COMPLETED event into a fact with every timestamp, the agent, the queue and the reason', () => {
    // Act
    const read = readContactEvent(JSON.stringify(contactEvent('c-1', 'COMPLETED')));
    // Assess
    expect(read).toEqual({
      kind: 'fact',
      instanceId: INSTANCE_ID,
      contactId: 'c-1',
      fact: {
        type: 'COMPLETED',
        at: T.acwEnd,
        ref: 'ev-c-1-COMPLETED',
        via: 'event',
        agentId: AGENT_ID,
        queueId: QUEUE_ID,
        initiatedAt: T.initiated,
        enqueuedAt: T.queued,
        connectedAt: T.connected,
        disconnectedAt: T.disconnected,
        acwStartAt: T.disconnected,
        acwEndAt: T.acwEnd,
        disconnectReason: 'AGENT_DISCONNECT',
      },
    });
  });

  it('takes each type’s own time, and the event’s time when the type has none', () => {
    const at = (type: string) => {
      const read = readContactEvent(JSON.stringify(contactEvent('c-1', type)));
      return read.kind === 'fact' ? read.fact.at : undefined;
    };
    expect([at('INITIATED'), at('QUEUED'), at('CONNECTED_TO_AGENT'), at('DISCONNECTED')]).toEqual([
      T.initiated,
      T.queued,
      T.connected,
      T.disconnected,
    ]);
    const noAcw = contactEvent('c-1', 'COMPLETED', 'e', contactDetail('c-1', 'COMPLETED', { acw: false }));
    const read = readContactEvent(JSON.stringify(noAcw));
    expect(read.kind === 'fact' && read.fact.at).toBe(T.disconnected);
  });

  it('reads PascalCase keys as the camelCase ones, and ignores fields it does not know', () => {
    const event = contactEvent('c-2', 'CONNECTED_TO_AGENT');
    const mixed = {
      ...event,
      detail: { ...(pascal(event.detail) as object), NewField: { x: 1 }, tags: { a: 'b' } },
    };
    const read = readContactEvent(JSON.stringify(mixed));
    expect(read).toMatchObject({
      kind: 'fact',
      contactId: 'c-2',
      fact: { type: 'CONNECTED_TO_AGENT', agentId: AGENT_ID },
    });
  });

  it('ignores an event type it does not know, and another channel', () => {
    expect(readContactEvent(JSON.stringify(contactEvent('c-3', 'CONTACT_DATA_UPDATED')))).toEqual({
      kind: 'ignored',
      reason: 'UnknownEventType',
      eventType: 'CONTACT_DATA_UPDATED',
    });
    const voice = contactEvent('c-3', 'INITIATED', 'e', {
      ...contactDetail('c-3', 'INITIATED'),
      channel: 'VOICE',
    });
    expect(readContactEvent(JSON.stringify(voice))).toEqual({ kind: 'ignored', reason: 'OtherChannel' });
  });

  it('treats a timestamp it cannot read as absent', () => {
    const detail = { ...contactDetail('c-4', 'DISCONNECTED'), initiationTimestamp: 'yesterday' };
    const read = readContactEvent(JSON.stringify(contactEvent('c-4', 'DISCONNECTED', 'e', detail)));
    expect(read.kind === 'fact' && read.fact.initiatedAt).toBeUndefined();
    expect(read.kind === 'fact' && read.fact.disconnectedAt).toBe(T.disconnected);
  });

  it.each([
    ['not JSON', '{"id":', /not JSON/],
    ['another source', JSON.stringify({ ...contactEvent('c', 'INITIATED'), source: 'aws.s3' }), /source/],
    [
      'no contactId',
      JSON.stringify({ ...contactEvent('c', 'INITIATED'), detail: { eventType: 'INITIATED' } }),
      /detail/,
    ],
    [
      'an instance ARN without an instance',
      JSON.stringify(
        contactEvent('c', 'INITIATED', 'e', { ...contactDetail('c', 'INITIATED'), instanceArn: 'arn:x' }),
      ),
      /instanceArn/,
    ],
  ])('calls %s malformed, naming the problem', (_what, body, reason) => {
    const read = readContactEvent(body);
    expect(read.kind).toBe('malformed');
    expect(read.kind === 'malformed' && read.reason).toMatch(reason);
  });
});
