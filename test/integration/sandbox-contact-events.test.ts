/**
 * The Connect emulator's contact events, end to end on a sandbox without the pipeline: the real
 * ConnectClient acts, the events go through the sandbox EventBridge's default bus and the contact
 * events rule of serverless.yml, and the test reads the contact events queue with the real SQS client.
 */
import {
  DescribeContactCommand,
  ServiceQuotaExceededException,
  StartTaskContactCommand,
  type StartTaskContactCommandInput,
  StopContactCommand,
  TransferContactCommand,
  UpdateContactCommand,
} from '@aws-sdk/client-connect';
import { describe, expect, it } from 'vitest';
import {
  AGENT_ONE_ID,
  AGENT_TRANSFER_FLOW_ID,
  BASIC_QUEUE_ID,
  ESCALATIONS_QUEUE_ID,
  FLOW_ID,
  INSTANCE_ID,
  QUICK_CONNECT_ID,
  TRANSFER_FLOW_ID,
} from '#common/world.ts';
import type { EventEnvelope } from '#sandbox/events/envelope.ts';
import { useEventsSandbox } from '#test/support/sandbox-events.ts';

const INSTANCE_ARN = `arn:aws:connect:us-east-1:000000000000:instance/${INSTANCE_ID}`;
const AGENT_TWO_ID = 'b0b0b0b0-0000-4000-8000-000000000002';

const f = useEventsSandbox();
const { admin, post } = f;
const drainContactEvents = () => f.drain();

async function startTask(input: Partial<StartTaskContactCommandInput> = {}): Promise<string> {
  const out = await f.connect.send(
    new StartTaskContactCommand({ InstanceId: INSTANCE_ID, ContactFlowId: FLOW_ID, Name: 'task', ...input }),
  );
  return out.ContactId as string;
}

const types = (events: EventEnvelope[]) => events.map((e) => e.detail.eventType);
const detailOf = (events: EventEnvelope[], type: string) =>
  events.find((e) => e.detail.eventType === type)?.detail as Record<string, unknown>;

describe('contact events of a task', () => {
  it('StartTaskContact publishes INITIATED then QUEUED in the flow queue, as Connect shapes them', async () => {
    // Act
    const contactId = await startTask();
    const events = await drainContactEvents();

    // Assess
    expect(types(events)).toEqual(['INITIATED', 'QUEUED']);
    const [initiated, queued] = events as [EventEnvelope, EventEnvelope];
    const contactArn = `${INSTANCE_ARN}/contact/${contactId}`;
    expect(queued).toMatchObject({
      version: '0',
      source: 'aws.connect',
      'detail-type': 'Amazon Connect Contact Event',
      account: '000000000000',
      region: 'us-east-1',
      resources: [contactArn, INSTANCE_ARN],
      detail: {
        eventType: 'QUEUED',
        contactId,
        initialContactId: contactId,
        channel: 'TASK',
        instanceArn: INSTANCE_ARN,
        initiationMethod: 'API',
        queueInfo: { queueArn: `${INSTANCE_ARN}/queue/${BASIC_QUEUE_ID}`, queueType: 'STANDARD' },
      },
    });
    expect(queued.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(queued.detail.initiationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(initiated.detail).not.toHaveProperty('queueInfo');
    expect(initiated.id).not.toBe(queued.id);
  });

  it('a task started from a quick connect is QUEUED in the queue its flow names in the world', async () => {
    // Act
    const contactId = await startTask({ ContactFlowId: undefined, QuickConnectId: QUICK_CONNECT_ID });
    const events = await drainContactEvents();

    // Assess
    expect(detailOf(events, 'QUEUED')).toMatchObject({
      contactId,
      queueInfo: { queueArn: `${INSTANCE_ARN}/queue/${ESCALATIONS_QUEUE_ID}` },
    });
  });

  it('a scheduled task is INITIATED now and QUEUED when its ScheduledTime passes on the emulator clock', async () => {
    // Prepare
    const scheduledMs = Math.ceil(f.sandbox.clock.now() / 1000) * 1000 + 600_000;
    const contactId = await startTask({ ScheduledTime: new Date(scheduledMs) });
    const before = await drainContactEvents();

    // Act
    f.sandbox.clock.advance(601_000);
    const after = await drainContactEvents();

    // Assess
    expect(types(before)).toEqual(['INITIATED']);
    expect(types(after)).toEqual(['QUEUED']);
    expect(detailOf(after, 'QUEUED')).toMatchObject({
      contactId,
      queueInfo: { enqueueTimestamp: new Date(scheduledMs).toISOString() },
    });
  });

  it('accept publishes CONNECTED_TO_AGENT with the instance first user, and DescribeContact shows the agent', async () => {
    // Prepare
    const contactId = await startTask();
    await drainContactEvents();

    // Act
    const accepted = await post(`contacts/${contactId}/accept`);
    const events = await drainContactEvents();
    const { Contact } = await f.connect.send(
      new DescribeContactCommand({ InstanceId: INSTANCE_ID, ContactId: contactId }),
    );

    // Assess
    expect(accepted.status).toBe(200);
    expect(types(events)).toEqual(['CONNECTED_TO_AGENT']);
    expect(detailOf(events, 'CONNECTED_TO_AGENT')).toMatchObject({
      agentInfo: { agentArn: `${INSTANCE_ARN}/agent/${AGENT_ONE_ID}` },
      queueInfo: { queueArn: `${INSTANCE_ARN}/queue/${BASIC_QUEUE_ID}` },
    });
    expect(Contact?.AgentInfo?.Id).toBe(AGENT_ONE_ID);
    expect(Contact?.AgentInfo?.ConnectedToAgentTimestamp).toBeInstanceOf(Date);
    expect(Contact?.QueueInfo?.Id).toBe(BASIC_QUEUE_ID);
    expect(Contact?.QueueInfo?.EnqueueTimestamp).toBeInstanceOf(Date);
  });

  it('complete with after-contact work: DISCONNECTED now, COMPLETED when the work ends on the clock, the quota slot held until then', async () => {
    // Prepare
    f.sandbox.connect.configure({ activeTaskQuota: 1 });
    const contactId = await startTask();
    await post(`contacts/${contactId}/accept`, { userId: AGENT_TWO_ID });
    await drainContactEvents();

    // Act
    await post(`contacts/${contactId}/complete`, { afterContactWorkSeconds: 120 });
    const duringWork = await drainContactEvents();
    const refused = await startTask().catch((error: unknown) => error);
    f.sandbox.clock.advance(120_000);
    const afterWork = await drainContactEvents();
    const next = await startTask();
    const { Contact } = await f.connect.send(
      new DescribeContactCommand({ InstanceId: INSTANCE_ID, ContactId: contactId }),
    );

    // Assess
    expect(types(duringWork)).toEqual(['DISCONNECTED']);
    const disconnected = detailOf(duringWork, 'DISCONNECTED');
    expect(disconnected).toMatchObject({ disconnectReason: 'AGENT_DISCONNECT' });
    expect(disconnected.agentInfo).toHaveProperty('afterContactWorkStartTimestamp');
    expect(disconnected.agentInfo).not.toHaveProperty('afterContactWorkEndTimestamp');
    expect(refused).toBeInstanceOf(ServiceQuotaExceededException);
    expect(types(afterWork)).toEqual(['COMPLETED']);
    const start = Date.parse(
      String((disconnected.agentInfo as Record<string, unknown>).afterContactWorkStartTimestamp),
    );
    expect(detailOf(afterWork, 'COMPLETED').agentInfo).toMatchObject({
      agentArn: `${INSTANCE_ARN}/agent/${AGENT_TWO_ID}`,
      afterContactWorkEndTimestamp: new Date(start + 120_000).toISOString(),
      afterContactWorkDuration: 120,
    });
    expect(next).toEqual(expect.any(String));
    expect(Contact?.AgentInfo).toMatchObject({ Id: AGENT_TWO_ID, AfterContactWorkDuration: 120 });
    expect(Contact?.AgentInfo?.AfterContactWorkEndTimestamp?.getTime()).toBe(start + 120_000);
    expect(Contact?.DisconnectReason).toBe('AGENT_DISCONNECT');
  });

  it('complete without after-contact work publishes DISCONNECTED and COMPLETED at once with the same data', async () => {
    // Prepare
    const contactId = await startTask();
    await post(`contacts/${contactId}/accept`);
    await drainContactEvents();

    // Act
    await post(`contacts/${contactId}/complete`);
    const events = await drainContactEvents();

    // Assess
    expect(types(events)).toEqual(['DISCONNECTED', 'COMPLETED']);
    const { eventType: _d, ...disconnected } = detailOf(events, 'DISCONNECTED');
    const { eventType: _c, ...completed } = detailOf(events, 'COMPLETED');
    expect(completed).toEqual(disconnected);
  });

  it('StopContact publishes DISCONNECTED with the reason code (API without one) and COMPLETED at once', async () => {
    // Prepare
    const first = await startTask();
    const second = await startTask();
    await drainContactEvents();

    // Act
    await f.connect.send(new StopContactCommand({ InstanceId: INSTANCE_ID, ContactId: first }));
    await f.connect.send(
      new StopContactCommand({
        InstanceId: INSTANCE_ID,
        ContactId: second,
        DisconnectReason: { Code: 'CUSTOMER_DISCONNECT' },
      }),
    );
    const events = await drainContactEvents();

    // Assess
    expect(events.map((e) => [e.detail.contactId, e.detail.eventType, e.detail.disconnectReason])).toEqual([
      [first, 'DISCONNECTED', 'API'],
      [first, 'COMPLETED', 'API'],
      [second, 'DISCONNECTED', 'CUSTOMER_DISCONNECT'],
      [second, 'COMPLETED', 'CUSTOMER_DISCONNECT'],
    ]);
  });

  it('auto-complete publishes DISCONNECTED with reason EXPIRED and COMPLETED when the clock passes it', async () => {
    // Prepare
    f.sandbox.connect.configure({ autoCompleteAfterSeconds: 60 });
    const contactId = await startTask();
    await drainContactEvents();

    // Act
    f.sandbox.clock.advance(61_000);
    const events = await drainContactEvents();

    // Assess
    expect(events.map((e) => [e.detail.contactId, e.detail.eventType, e.detail.disconnectReason])).toEqual([
      [contactId, 'DISCONNECTED', 'EXPIRED'],
      [contactId, 'COMPLETED', 'EXPIRED'],
    ]);
  });

  it('TransferContact to a queue publishes QUEUED in the new queue; to a user, CONNECTED_TO_AGENT', async () => {
    // Prepare
    const contactId = await startTask();
    await drainContactEvents();

    // Act
    await f.connect.send(
      new TransferContactCommand({
        InstanceId: INSTANCE_ID,
        ContactId: contactId,
        ContactFlowId: TRANSFER_FLOW_ID,
        QueueId: ESCALATIONS_QUEUE_ID,
      }),
    );
    await f.connect.send(
      new TransferContactCommand({
        InstanceId: INSTANCE_ID,
        ContactId: contactId,
        ContactFlowId: AGENT_TRANSFER_FLOW_ID,
        UserId: AGENT_TWO_ID,
      }),
    );
    const events = await drainContactEvents();

    // Assess
    expect(types(events)).toEqual(['QUEUED', 'CONNECTED_TO_AGENT']);
    expect(detailOf(events, 'QUEUED')).toMatchObject({
      contactId,
      queueInfo: { queueArn: `${INSTANCE_ARN}/queue/${ESCALATIONS_QUEUE_ID}` },
    });
    expect(detailOf(events, 'CONNECTED_TO_AGENT')).toMatchObject({
      contactId,
      agentInfo: { agentArn: `${INSTANCE_ARN}/agent/${AGENT_TWO_ID}` },
    });
  });

  it('UpdateContact publishes CONTACT_DATA_UPDATED', async () => {
    // Prepare
    const contactId = await startTask();
    await drainContactEvents();

    // Act
    await f.connect.send(
      new UpdateContactCommand({ InstanceId: INSTANCE_ID, ContactId: contactId, Name: 'renamed' }),
    );
    const events = await drainContactEvents();

    // Assess
    expect(types(events)).toEqual(['CONTACT_DATA_UPDATED']);
    expect(events[0]?.detail.contactId).toBe(contactId);
  });

  it('keeps the contact events on the default bus with the rule they matched, for GET /_sandbox/events', async () => {
    // Prepare
    const contactId = await startTask();

    // Act
    const body = (await (await admin('events?bus=default')).json()) as {
      events: Array<{ seq: number; event: EventEnvelope; matchedRules: string[] }>;
    };

    // Assess
    expect(
      body.events.map((e) => [e.event.detail.contactId, e.event.detail.eventType, e.matchedRules]),
    ).toEqual([
      [contactId, 'INITIATED', ['connect-task-ingest-local-ContactEventsRule']],
      [contactId, 'QUEUED', ['connect-task-ingest-local-ContactEventsRule']],
    ]);
    expect(body.events[1]?.seq).toBe((body.events[0]?.seq ?? 0) + 1);
  });
});

describe('the agent admin routes', () => {
  it('refuse to accept an ended contact, or a scheduled one not queued yet, with a 400', async () => {
    // Prepare
    const ended = await startTask();
    await f.connect.send(new StopContactCommand({ InstanceId: INSTANCE_ID, ContactId: ended }));
    const scheduled = await startTask({ ScheduledTime: new Date(f.sandbox.clock.now() + 3_600_000) });

    // Act
    const acceptEnded = await post(`contacts/${ended}/accept`);
    const acceptScheduled = await post(`contacts/${scheduled}/accept`);

    // Assess
    expect(acceptEnded.status).toBe(400);
    expect(acceptEnded.headers.get('x-amzn-errortype')).toBe('InvalidRequestException');
    expect(((await acceptEnded.json()) as { Message: string }).Message).toMatch(/has ended/);
    expect(acceptScheduled.status).toBe(400);
    expect(((await acceptScheduled.json()) as { Message: string }).Message).toMatch(/not in a queue until/);
  });

  it('refuse to complete a contact not connected to an agent, accept it twice, or name an unknown user', async () => {
    // Prepare
    const contactId = await startTask();
    const other = await startTask();
    await post(`contacts/${other}/accept`);

    // Act
    const complete = await post(`contacts/${contactId}/complete`);
    const again = await post(`contacts/${other}/accept`);
    const unknownUser = await post(`contacts/${contactId}/accept`, { userId: 'nobody' });
    const unknownContact = await post('contacts/99999999-0000-4000-8000-000000000000/accept');
    const badSeconds = await post(`contacts/${other}/complete`, { afterContactWorkSeconds: -1 });

    // Assess
    expect(complete.status).toBe(400);
    expect(((await complete.json()) as { Message: string }).Message).toMatch(/not connected to an agent/);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { Message: string }).Message).toMatch(/already connected to agent/);
    expect(unknownUser.status).toBe(404);
    expect(unknownContact.status).toBe(404);
    expect(badSeconds.status).toBe(400);
    expect(f.sandbox.connect.contacts({ state: 'ACTIVE' })).toHaveLength(2);
  });
});
