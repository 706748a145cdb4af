/**
 * The Connect emulator's task templates (Amazon Connect task template API reference) and tasks started from them, through the real
 * ConnectClient over loopback.
 */
import {
  ConnectClient,
  CreateTaskTemplateCommand,
  type CreateTaskTemplateCommandInput,
  DeleteTaskTemplateCommand,
  GetTaskTemplateCommand,
  InvalidParameterException,
  InvalidRequestException,
  ListTaskTemplatesCommand,
  ResourceNotFoundException,
  StartTaskContactCommand,
  UpdateTaskTemplateCommand,
} from '@aws-sdk/client-connect';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ConnectEmulator,
  createConnectEmulator,
  loadWorld,
  parseWorld,
} from '#sandbox/connect/emulator.ts';
import type { EmulatorHandler } from '#sandbox/http-types.ts';
import { serveHandler } from '#sandbox/serve.ts';
import { loopbackClientConfig } from '#test/support/loopback.ts';

const base = loadWorld();
const INSTANCE_ID = '11111111-2222-3333-4444-555555555555';
const FLOW_ID = 'f1a2b3c4-0000-4000-8000-000000000001';
const UNKNOWN_ID = '99999999-0000-4000-8000-000000000000';
const WORLD_TEMPLATE_ID = 'd0d0d0d0-0000-4000-8000-000000000001';

/** The sandbox world plus one template that exists from the start. */
const world = parseWorld({
  ...base,
  instances: base.instances.map((instance) =>
    instance.id === INSTANCE_ID
      ? {
          ...instance,
          taskTemplates: [
            {
              Id: WORLD_TEMPLATE_ID,
              Name: 'Delayed order',
              ContactFlowId: FLOW_ID,
              Fields: [{ Id: { Name: 'Name' }, Type: 'NAME' }],
            },
          ],
        }
      : instance,
  ),
});

let emulator: ConnectEmulator;
let client: ConnectClient;
let closeServer: () => Promise<void>;

beforeAll(async () => {
  emulator = createConnectEmulator({ world });
  const route: EmulatorHandler = (req) =>
    req.path.startsWith('/_sandbox/') ? emulator.admin(req) : emulator.handle(req);
  const server = await serveHandler(route);
  closeServer = server.close;
  client = new ConnectClient(loopbackClientConfig(server.endpoint));
});
afterAll(async () => {
  client.destroy();
  await closeServer();
});
beforeEach(() => {
  emulator.reset();
});

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

/** A callback template: Name and a required "Order" reference with a default description and due date. */
const callbackTemplate = (
  overrides: Partial<CreateTaskTemplateCommandInput> = {},
): CreateTaskTemplateCommandInput => ({
  InstanceId: INSTANCE_ID,
  Name: 'Callback',
  ContactFlowId: FLOW_ID,
  Fields: [
    { Id: { Name: 'Name' }, Type: 'NAME' },
    { Id: { Name: 'Description' }, Type: 'DESCRIPTION' },
    { Id: { Name: 'Order' }, Type: 'URL' },
    { Id: { Name: 'Due' }, Type: 'DATE_TIME' },
  ],
  Constraints: { RequiredFields: [{ Id: { Name: 'Name' } }, { Id: { Name: 'Order' } }] },
  Defaults: {
    DefaultFieldValues: [
      { Id: { Name: 'Description' }, DefaultValue: 'Call the customer back' },
      { Id: { Name: 'Due' }, DefaultValue: '2024-05-01T00:00:00Z' },
    ],
  },
  ...overrides,
});

const createTemplate = async (overrides: Partial<CreateTaskTemplateCommandInput> = {}) => {
  const out = await client.send(new CreateTaskTemplateCommand(callbackTemplate(overrides)));
  if (!out.Id) throw new Error('CreateTaskTemplate returned no Id');
  return out.Id;
};

const startFromTemplate = (TaskTemplateId: string, extra: Record<string, unknown> = {}) =>
  client.send(
    new StartTaskContactCommand({ InstanceId: INSTANCE_ID, Name: 'Callback 1', TaskTemplateId, ...extra }),
  );

describe('task template APIs', () => {
  it('creates a template that GetTaskTemplate returns with its fields, constraints, defaults and ACTIVE status', async () => {
    // Act
    const created = await client.send(new CreateTaskTemplateCommand(callbackTemplate()));
    const got = await client.send(
      new GetTaskTemplateCommand({ InstanceId: INSTANCE_ID, TaskTemplateId: created.Id }),
    );

    // Assess
    expect(created.Arn).toBe(
      `arn:aws:connect:us-east-1:000000000000:instance/${INSTANCE_ID}/task-template/${created.Id}`,
    );
    expect(got).toMatchObject({
      Id: created.Id,
      Name: 'Callback',
      ContactFlowId: FLOW_ID,
      Status: 'ACTIVE',
      Fields: callbackTemplate().Fields,
      Constraints: { RequiredFields: [{ Id: { Name: 'Name' } }, { Id: { Name: 'Order' } }] },
    });
    expect(got.Defaults?.DefaultFieldValues).toHaveLength(2);
    expect(got.CreatedTime).toBeInstanceOf(Date);
  });

  it('returns the same template for a repeated CreateTaskTemplate ClientToken', async () => {
    // Act
    const first = await createTemplate({ ClientToken: 'tpl-1' });
    const second = await createTemplate({ ClientToken: 'tpl-1' });

    // Assess
    expect(second).toBe(first);
  });

  it('refuses a template whose ContactFlowId does not exist', async () => {
    // Act
    const error = await failure(createTemplate({ ContactFlowId: UNKNOWN_ID }));

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses a template that lists a field name twice', async () => {
    // Act
    const error = await failure(
      createTemplate({
        Fields: [
          { Id: { Name: 'Order' }, Type: 'URL' },
          { Id: { Name: 'Order' }, Type: 'TEXT' },
        ],
      }),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
  });

  it('lists templates filtered by status, a page at a time', async () => {
    // Prepare
    await createTemplate({ Name: 'A' });
    await createTemplate({ Name: 'B', Status: 'INACTIVE' });
    await createTemplate({ Name: 'C' });

    // Act
    const first = await client.send(
      new ListTaskTemplatesCommand({ InstanceId: INSTANCE_ID, Status: 'ACTIVE', MaxResults: 2 }),
    );
    const second = await client.send(
      new ListTaskTemplatesCommand({
        InstanceId: INSTANCE_ID,
        Status: 'ACTIVE',
        MaxResults: 2,
        NextToken: first.NextToken,
      }),
    );

    // Assess: the world's template and A, then C.
    expect(first.TaskTemplates?.map((t) => t.Name)).toEqual(['Delayed order', 'A']);
    expect(second.TaskTemplates?.map((t) => t.Name)).toEqual(['C']);
    expect(second.NextToken).toBeUndefined();
  });

  it('replaces the whole template content on update, keeping only Name when it is left out', async () => {
    // Prepare
    const id = await createTemplate();

    // Act: UpdateTaskTemplate "does not support partial updates" (UpdateTaskTemplate API reference).
    const updated = await client.send(
      new UpdateTaskTemplateCommand({ InstanceId: INSTANCE_ID, TaskTemplateId: id, Status: 'INACTIVE' }),
    );
    const stored = await client.send(
      new GetTaskTemplateCommand({ InstanceId: INSTANCE_ID, TaskTemplateId: id }),
    );

    // Assess
    expect(updated).toMatchObject({ Id: id, Name: 'Callback', Status: 'INACTIVE' });
    expect(stored).toMatchObject({ Id: id, Name: 'Callback', Status: 'INACTIVE', Fields: [] });
    expect(stored.ContactFlowId).toBeUndefined();
    expect(stored.Constraints?.RequiredFields).toEqual([]);
    expect(stored.Defaults?.DefaultFieldValues).toEqual([]);
  });

  it('updates every member it is given', async () => {
    // Prepare
    const id = await createTemplate();
    const { InstanceId: _instance, ClientToken: _token, ...members } = callbackTemplate();

    // Act
    await client.send(
      new UpdateTaskTemplateCommand({
        ...members,
        InstanceId: INSTANCE_ID,
        TaskTemplateId: id,
        Name: 'Callback v2',
        Fields: [{ Id: { Name: 'Order' }, Type: 'URL' }],
      }),
    );
    const stored = await client.send(
      new GetTaskTemplateCommand({ InstanceId: INSTANCE_ID, TaskTemplateId: id }),
    );

    // Assess
    expect(stored).toMatchObject({ Name: 'Callback v2', ContactFlowId: FLOW_ID, Status: 'ACTIVE' });
    expect(stored.Fields).toEqual([{ Id: { Name: 'Order' }, Type: 'URL' }]);
    expect(stored.Constraints?.RequiredFields).toEqual(members.Constraints?.RequiredFields);
  });

  it('deletes a template so GetTaskTemplate no longer finds it', async () => {
    // Prepare
    const id = await createTemplate();

    // Act
    await client.send(new DeleteTaskTemplateCommand({ InstanceId: INSTANCE_ID, TaskTemplateId: id }));
    const error = await failure(
      client.send(new GetTaskTemplateCommand({ InstanceId: INSTANCE_ID, TaskTemplateId: id })),
    );

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it("forgets runtime templates on reset and keeps the world's", async () => {
    // Prepare
    const id = await createTemplate();

    // Act
    emulator.reset();
    const list = await client.send(new ListTaskTemplatesCommand({ InstanceId: INSTANCE_ID }));

    // Assess
    expect(list.TaskTemplates?.map((t) => t.Id)).toEqual([WORLD_TEMPLATE_ID]);
    expect(list.TaskTemplates?.map((t) => t.Id)).not.toContain(id);
  });
});

describe('StartTaskContact with a task template', () => {
  it('starts a task from an ACTIVE template with a flow, filling defaults the request left out', async () => {
    // Prepare
    const id = await createTemplate();

    // Act
    const { ContactId } = await startFromTemplate(id, {
      References: { Order: { Type: 'URL', Value: 'https://example.com/o/1' } },
    });

    // Assess
    expect(emulator.contacts()[0]).toMatchObject({
      ContactId,
      TaskTemplateId: id,
      ContactFlowId: FLOW_ID,
      Name: 'Callback 1',
      Description: 'Call the customer back',
      References: {
        Order: { Type: 'URL', Value: 'https://example.com/o/1' },
        Due: { Type: 'DATE', Value: String(Date.parse('2024-05-01T00:00:00Z') / 1000) },
      },
    });
  });

  it('accepts a required field given as an attribute of the same name', async () => {
    // Prepare
    const id = await createTemplate();

    // Act
    const { ContactId } = await startFromTemplate(id, { Attributes: { Order: 'o-1' } });

    // Assess
    expect(ContactId).toBeDefined();
  });

  it('refuses a task whose required template field has no value after defaults, naming the field', async () => {
    // Prepare
    const id = await createTemplate();

    // Act
    const error = await failure(startFromTemplate(id));

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain('"Order"');
  });

  it('refuses a task from an INACTIVE template with InvalidRequestException', async () => {
    // Prepare
    const id = await createTemplate({ Status: 'INACTIVE' });

    // Act
    const error = await failure(startFromTemplate(id, { Attributes: { Order: 'o-1' } }));

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect(error.message).toContain('INACTIVE');
  });

  it('refuses TaskTemplateId alone when the template has no flow', async () => {
    // Prepare
    const id = await createTemplate({ ContactFlowId: undefined });

    // Act
    const error = await failure(startFromTemplate(id, { Attributes: { Order: 'o-1' } }));

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect(error.message).toContain('no contact flow');
  });

  it('refuses a template default longer than the model allows when the template is created', async () => {
    // Act: a DefaultValue longer than the model's 4,096 characters.
    const error = await failure(
      createTemplate({
        Defaults: { DefaultFieldValues: [{ Id: { Name: 'Description' }, DefaultValue: 'd'.repeat(4097) }] },
      }),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain('DefaultValue');
    expect(error.message).toContain('4096');
  });

  it('refuses a template default that breaks a documented limit', async () => {
    // Prepare: a reference default that alone fills the 4,096-byte References budget.
    const id = await createTemplate({
      Defaults: { DefaultFieldValues: [{ Id: { Name: 'Notes' }, DefaultValue: 'n'.repeat(4096) }] },
    });

    // Act
    const error = await failure(startFromTemplate(id, { Attributes: { Order: 'o-1' } }));

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect(error.message).toContain('References');
    expect(error.message).toContain('4096');
  });

  it('starts a task from a template defined in the world', async () => {
    // Act
    const { ContactId } = await startFromTemplate(WORLD_TEMPLATE_ID);

    // Assess
    expect(emulator.contacts()[0]).toMatchObject({ ContactId, TaskTemplateId: WORLD_TEMPLATE_ID });
  });
});
