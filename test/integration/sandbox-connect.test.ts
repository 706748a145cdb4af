/**
 * The sandbox's Connect emulator, driven by the real ConnectClient over loopback:
 * StartTaskContact rules (StartTaskContact API reference) and the contact operations (DescribeContact, UpdateContact,
 * ListContactReferences, StopContact). Templates, transfers, faults and admin routes have their own files.
 */
import {
  ConnectClient,
  DescribeContactCommand,
  InvalidParameterException,
  InvalidRequestException,
  ListContactReferencesCommand,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  StartTaskContactCommand,
  type StartTaskContactCommandInput,
  StopContactCommand,
  ThrottlingException,
  UpdateContactCommand,
} from '@aws-sdk/client-connect';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import {
  API_MODEL,
  type ConnectEmulator,
  createConnectEmulator,
  loadWorld,
} from '#sandbox/connect/emulator.ts';
import type { EmulatorHandler } from '#sandbox/http-types.ts';
import { serveHandler } from '#sandbox/serve.ts';
import { loopbackClientConfig } from '#test/support/loopback.ts';

const world = loadWorld();
const instance = world.instances[0];
if (!instance) throw new Error('the sandbox world has no instance');
const INSTANCE_ID = instance.id;
const FLOW_ID = 'f1a2b3c4-0000-4000-8000-000000000001';
const QUICK_CONNECT_ID = 'c0c0c0c0-0000-4000-8000-000000000001';
const QUICK_CONNECT_FLOW_ID = 'f1a2b3c4-0000-4000-8000-000000000002';
const UNKNOWN_ID = '99999999-0000-4000-8000-000000000000';

/** A StartTaskContact member's maximum length in the API model the emulator reads. */
function modelMax(member: string): number {
  const max = API_MODEL.operations.StartTaskContact.input.members?.[member]?.max;
  if (max === undefined) throw new Error(`the model gives ${member} no maximum`);
  return max;
}

async function startConnect(options: Partial<Parameters<typeof createConnectEmulator>[0]> = {}) {
  const emulator = createConnectEmulator({ world, ...options });
  const route: EmulatorHandler = (req) =>
    req.path.startsWith('/_sandbox/') ? emulator.admin(req) : emulator.handle(req);
  const server = await serveHandler(route);
  const client = new ConnectClient(loopbackClientConfig(server.endpoint));
  return {
    emulator,
    client,
    close: async () => {
      client.destroy();
      await server.close();
    },
  };
}

/** Catches the rejection of `promise` so a test can assess its class and status. */
async function failure(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

let emulator: ConnectEmulator;
let client: ConnectClient;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ emulator, client, close } = await startConnect());
});
afterAll(async () => {
  await close();
});
beforeEach(() => {
  emulator.reset();
});

const task = (overrides: Partial<StartTaskContactCommandInput> = {}): StartTaskContactCommandInput => ({
  InstanceId: INSTANCE_ID,
  Name: 'Call back customer',
  ContactFlowId: FLOW_ID,
  ...overrides,
});

const start = (overrides: Partial<StartTaskContactCommandInput> = {}) =>
  client.send(new StartTaskContactCommand(task(overrides)));

describe('StartTaskContact', () => {
  it('creates an active API-initiated TASK contact that DescribeContact returns', async () => {
    // Prepare
    const input = task({ Description: 'Customer asked for a call', Attributes: { orderId: 'o-1' } });

    // Act
    const { ContactId } = await client.send(new StartTaskContactCommand(input));
    const { Contact } = await client.send(new DescribeContactCommand({ InstanceId: INSTANCE_ID, ContactId }));

    // Assess
    expect(ContactId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Contact).toMatchObject({
      Id: ContactId,
      Arn: `arn:aws:connect:us-east-1:000000000000:instance/${INSTANCE_ID}/contact/${ContactId}`,
      Channel: 'TASK',
      InitiationMethod: 'API',
      Name: 'Call back customer',
      Description: 'Customer asked for a call',
      Attributes: { orderId: 'o-1' },
    });
    expect(Contact?.InitiationTimestamp).toBeInstanceOf(Date);
    expect(emulator.contacts({ state: 'ACTIVE' }).map((c) => c.ContactId)).toEqual([ContactId]);
  });

  it('refuses an unknown instance with ResourceNotFoundException (404)', async () => {
    // Act
    const error = await failure(start({ InstanceId: UNKNOWN_ID }));

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.$metadata?.httpStatusCode).toBe(404);
  });

  it('refuses a request without Name with InvalidParameterException', async () => {
    // Act
    const error = await failure(start({ Name: undefined }));

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain('Name');
  });

  it.each([
    ['InstanceId', modelMax('InstanceId')],
    ['Name', modelMax('Name')],
    ['Description', modelMax('Description')],
    ['ClientToken', modelMax('ClientToken')],
    ['ContactFlowId', modelMax('ContactFlowId')],
    ['PreviousContactId', modelMax('PreviousContactId')],
    ['RelatedContactId', modelMax('RelatedContactId')],
  ] as const)(
    'refuses a %s one character over its documented limit of %i, naming both',
    async (field, max) => {
      // Act
      const error = await failure(start({ [field]: 'x'.repeat(max + 1) }));

      // Assess
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect(error.$metadata?.httpStatusCode).toBe(400);
      expect(error.message).toContain(field);
      expect(error.message).toContain(String(max));
    },
  );

  it('accepts a Name exactly at its limit', async () => {
    // Act
    const { ContactId } = await start({ Name: 'n'.repeat(modelMax('Name')) });

    // Assess
    expect(ContactId).toBeDefined();
  });

  it('layers the limits it is given over the API model data', async () => {
    // Prepare
    // Prepare: an override below the model's bound, so only the override can refuse 601 characters.
    const custom = await startConnect({ limits: { nameMaxLength: 600 } });
    try {
      // Act
      const accepted = await custom.client.send(new StartTaskContactCommand(task({ Name: 'n'.repeat(600) })));
      const error = await failure(
        custom.client.send(new StartTaskContactCommand(task({ Name: 'n'.repeat(601) }))),
      );

      // Assess
      expect(600).toBeLessThan(modelMax('Name'));
      expect(accepted.ContactId).toBeDefined();
      expect(error).toBeInstanceOf(InvalidParameterException);
      expect(error.message).toContain('600');
    } finally {
      await custom.close();
    }
  });

  it.each([
    ['no flow target', { ContactFlowId: undefined }],
    ['ContactFlowId and QuickConnectId', { QuickConnectId: QUICK_CONNECT_ID }],
    ['ContactFlowId and TaskTemplateId', { TaskTemplateId: UNKNOWN_ID }],
  ])('refuses %s with InvalidRequestException', async (_label, overrides) => {
    // Act
    const error = await failure(start(overrides));

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect(error.message).toContain('exactly one of ContactFlowId, QuickConnectId or TaskTemplateId');
  });

  it.each([
    ['ContactFlowId', { ContactFlowId: UNKNOWN_ID }],
    ['QuickConnectId', { ContactFlowId: undefined, QuickConnectId: UNKNOWN_ID }],
    ['TaskTemplateId', { ContactFlowId: undefined, TaskTemplateId: UNKNOWN_ID }],
    ['PreviousContactId', { PreviousContactId: UNKNOWN_ID }],
    ['RelatedContactId', { RelatedContactId: UNKNOWN_ID }],
  ])('refuses an unknown %s with ResourceNotFoundException', async (_field, overrides) => {
    // Act
    const error = await failure(start(overrides));

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it("runs a quick connect's task on the quick connect's flow", async () => {
    // Act
    const { ContactId } = await start({ ContactFlowId: undefined, QuickConnectId: QUICK_CONNECT_ID });

    // Assess
    const [contact] = emulator.contacts();
    expect(contact).toMatchObject({
      ContactId,
      QuickConnectId: QUICK_CONNECT_ID,
      ContactFlowId: QUICK_CONNECT_FLOW_ID,
    });
  });

  it('refuses an ATTACHMENT reference at creation', async () => {
    // Act
    const error = await failure(
      start({ References: { file: { Type: 'ATTACHMENT', Value: 'https://x/y' } } }),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain('ATTACHMENT');
  });

  it('refuses a DATE reference that is not an epoch timestamp', async () => {
    // Act
    const error = await failure(start({ References: { due: { Type: 'DATE', Value: '2024-05-01' } } }));

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain('epoch');
  });

  it('keeps URL, NUMBER, STRING, DATE and EMAIL references', async () => {
    // Prepare
    const references = {
      link: { Type: 'URL', Value: 'https://example.com/o/1' },
      total: { Type: 'NUMBER', Value: '12.5' },
      note: { Type: 'STRING', Value: 'fragile' },
      due: { Type: 'DATE', Value: '1714521600' },
      email: { Type: 'EMAIL', Value: 'a@example.com' },
    } as const;

    // Act
    await start({ References: references });

    // Assess
    expect(emulator.contacts()[0]?.References).toEqual(references);
  });

  it('refuses References over 4,096 UTF-8 bytes in all, counting multi-byte characters as bytes', async () => {
    // Prepare: "é" is 2 UTF-8 bytes, so 1,100 of them in each of two values exceed the budget.
    const value = 'é'.repeat(1100);

    // Act
    const error = await failure(
      start({ References: { a: { Type: 'STRING', Value: value }, b: { Type: 'STRING', Value: value } } }),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain(String(DEFAULT_TASK_LIMITS.referencesMaxTotalBytes));
  });

  it('refuses an attribute key outside [A-Za-z0-9_-]', async () => {
    // Act
    const error = await failure(start({ Attributes: { 'order id': '1' } }));

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain('alphanumeric, dash and underscore');
  });

  it('refuses an attribute value longer than its documented limit', async () => {
    // Act
    const error = await failure(
      start({ Attributes: { a: 'v'.repeat(DEFAULT_TASK_LIMITS.attributeValueMaxLength + 1) } }),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain(String(DEFAULT_TASK_LIMITS.attributeValueMaxLength));
  });

  it('refuses Attributes over 32,768 UTF-8 bytes across all pairs', async () => {
    // Prepare: each pair is 1 + 16,500 bytes; two pairs exceed the budget though each value fits its own limit.
    const value = 'v'.repeat(16_500);

    // Act
    const error = await failure(start({ Attributes: { a: value, b: value } }));

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain(String(DEFAULT_TASK_LIMITS.attributesMaxTotalBytes));
  });

  it('refuses a ScheduledTime in the past', async () => {
    // Act
    const error = await failure(start({ ScheduledTime: new Date(Date.now() - 60_000) }));

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain('ScheduledTime cannot be in the past');
  });

  it('refuses a ScheduledTime more than 6 days ahead', async () => {
    // Act
    const sixDaysMs = DEFAULT_TASK_LIMITS.scheduledTimeMaxAheadSeconds * 1000;
    const error = await failure(start({ ScheduledTime: new Date(Date.now() + sixDaysMs + 60_000) }));

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain(String(DEFAULT_TASK_LIMITS.scheduledTimeMaxAheadSeconds));
  });

  it('schedules a task within the 6-day window', async () => {
    // Prepare
    const at = new Date(Math.floor((Date.now() + 5 * 24 * 3600 * 1000) / 1000) * 1000);

    // Act
    const { ContactId } = await start({ ScheduledTime: at });
    const { Contact } = await client.send(new DescribeContactCommand({ InstanceId: INSTANCE_ID, ContactId }));

    // Assess
    expect(Contact?.ScheduledTimestamp?.getTime()).toBe(at.getTime());
  });

  it("copies the related contact's attributes, the request's attributes winning", async () => {
    // Prepare
    const related = await start({ Attributes: { customer: 'c-1', priority: 'low' } });

    // Act
    await start({ RelatedContactId: related.ContactId, Attributes: { priority: 'high' } });

    // Assess
    const linked = emulator.contacts().find((c) => c.RelatedContactId === related.ContactId);
    expect(linked?.Attributes).toEqual({ customer: 'c-1', priority: 'high' });
  });

  it('refuses the 13th task of a PreviousContactId chain with ServiceQuotaExceededException (402)', async () => {
    // Prepare: a chain of 12 tasks, each linked to the one before.
    let previous = (await start()).ContactId;
    for (let i = 1; i < DEFAULT_TASK_LIMITS.previousContactChainMax; i += 1) {
      previous = (await start({ PreviousContactId: previous })).ContactId;
    }

    // Act
    const error = await failure(start({ PreviousContactId: previous }));

    // Assess
    expect(error).toBeInstanceOf(ServiceQuotaExceededException);
    expect(error.$metadata?.httpStatusCode).toBe(402);
    expect(emulator.contacts({ channel: 'TASK' })).toHaveLength(DEFAULT_TASK_LIMITS.previousContactChainMax);
  });

  it('refuses a task over the active-task quota with ServiceQuotaExceededException', async () => {
    // Prepare
    emulator.configure({ activeTaskQuota: 2 });
    await start();
    await start();

    // Act
    const error = await failure(start());

    // Assess
    expect(error).toBeInstanceOf(ServiceQuotaExceededException);
    expect(error.message).toContain('quota is 2');
  });

  it('frees a place in the active-task quota when StopContact ends a task', async () => {
    // Prepare
    emulator.configure({ activeTaskQuota: 1 });
    const first = await start();

    // Act
    await client.send(new StopContactCommand({ InstanceId: INSTANCE_ID, ContactId: first.ContactId }));
    const second = await start();

    // Assess
    expect(second.ContactId).not.toBe(first.ContactId);
    expect(emulator.contacts({ state: 'ENDED' }).map((c) => c.ContactId)).toEqual([first.ContactId]);
  });

  it('returns the same ContactId for a repeated ClientToken without creating a second contact', async () => {
    // Prepare
    const first = await start({ ClientToken: 'token-1' });

    // Act
    const second = await start({ ClientToken: 'token-1' });

    // Assess
    expect(second.ContactId).toBe(first.ContactId);
    expect(emulator.contacts({ clientToken: 'token-1' })).toHaveLength(1);
  });

  it('answers a repeated ClientToken even when the active-task quota is full', async () => {
    // Prepare
    emulator.configure({ activeTaskQuota: 1 });
    const first = await start({ ClientToken: 'token-2' });

    // Act
    const replay = await start({ ClientToken: 'token-2' });

    // Assess
    expect(replay.ContactId).toBe(first.ContactId);
  });

  it('throttles StartTaskContact beyond its token bucket with ThrottlingException (429)', async () => {
    // Prepare
    emulator.configure({ rates: { StartTaskContact: { rate: 0.001, burst: 2 } } });
    await start();
    await start();

    // Act
    const error = await failure(start());

    // Assess
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(error.$metadata?.httpStatusCode).toBe(429);
    expect(emulator.callCounts().StartTaskContact).toEqual({ '200': 2, ThrottlingException: 1 });
  });
});

describe('contact operations', () => {
  it('updates Name, Description and References of a contact, adding to its references', async () => {
    // Prepare
    const { ContactId } = await start({ References: { a: { Type: 'STRING', Value: '1' } } });

    // Act
    await client.send(
      new UpdateContactCommand({
        InstanceId: INSTANCE_ID,
        ContactId,
        Name: 'Renamed',
        Description: 'Now with details',
        References: { b: { Type: 'URL', Value: 'https://example.com' } },
      }),
    );

    // Assess
    expect(emulator.contacts()[0]).toMatchObject({
      Name: 'Renamed',
      Description: 'Now with details',
      References: { a: { Type: 'STRING', Value: '1' }, b: { Type: 'URL', Value: 'https://example.com' } },
    });
  });

  it('refuses an UpdateContact that names no field to update', async () => {
    // Prepare
    const { ContactId } = await start();

    // Act
    const error = await failure(
      client.send(new UpdateContactCommand({ InstanceId: INSTANCE_ID, ContactId })),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
  });

  it('refuses an UpdateContact whose references would exceed the 4,096-byte budget', async () => {
    // Prepare
    const { ContactId } = await start({ References: { a: { Type: 'STRING', Value: 'x'.repeat(3000) } } });

    // Act
    const error = await failure(
      client.send(
        new UpdateContactCommand({
          InstanceId: INSTANCE_ID,
          ContactId,
          References: { b: { Type: 'STRING', Value: 'y'.repeat(1500) } },
        }),
      ),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(emulator.contacts()[0]?.References).not.toHaveProperty('b');
  });

  it('lists only the references of the requested types', async () => {
    // Prepare
    const { ContactId } = await start({
      References: {
        link: { Type: 'URL', Value: 'https://example.com' },
        due: { Type: 'DATE', Value: '1714521600' },
        note: { Type: 'STRING', Value: 'n' },
      },
    });

    // Act
    const out = await client.send(
      new ListContactReferencesCommand({
        InstanceId: INSTANCE_ID,
        ContactId,
        ReferenceTypes: ['URL', 'DATE'],
      }),
    );

    // Assess
    expect(out.ReferenceSummaryList).toEqual([
      { Url: { Name: 'link', Value: 'https://example.com' } },
      { Date: { Name: 'due', Value: '1714521600' } },
    ]);
  });

  it('refuses DescribeContact of an unknown contact with ResourceNotFoundException', async () => {
    // Act
    const error = await failure(
      client.send(new DescribeContactCommand({ InstanceId: INSTANCE_ID, ContactId: UNKNOWN_ID })),
    );

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses StopContact on a contact that already ended with ContactNotFoundException (410)', async () => {
    // Prepare
    const { ContactId } = await start();
    await client.send(new StopContactCommand({ InstanceId: INSTANCE_ID, ContactId }));

    // Act
    const error = await failure(client.send(new StopContactCommand({ InstanceId: INSTANCE_ID, ContactId })));

    // Assess
    expect(error.name).toBe('ContactNotFoundException');
    expect(error.$metadata?.httpStatusCode).toBe(410);
  });
  it('refuses StopContact on a contact that does not exist with ContactNotFoundException (410)', async () => {
    // Act
    const error = await failure(
      client.send(new StopContactCommand({ InstanceId: INSTANCE_ID, ContactId: UNKNOWN_ID })),
    );

    // Assess
    expect(error.name).toBe('ContactNotFoundException');
    expect(error.$metadata?.httpStatusCode).toBe(410);
  });

  it('takes an ATTACHMENT reference in UpdateContact (its API reference allows it), also after the contact ended', async () => {
    // Prepare
    const { ContactId } = await start();
    await client.send(new StopContactCommand({ InstanceId: INSTANCE_ID, ContactId }));

    // Act
    await client.send(
      new UpdateContactCommand({
        InstanceId: INSTANCE_ID,
        ContactId,
        References: { file: { Type: 'ATTACHMENT', Value: 'https://example.com/a.pdf' } },
      }),
    );

    // Assess
    expect(emulator.contacts()[0]?.References).toEqual({
      file: { Type: 'ATTACHMENT', Value: 'https://example.com/a.pdf' },
    });
  });
});
