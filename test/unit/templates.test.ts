import {
  ConnectClient,
  GetTaskTemplateCommand,
  type GetTaskTemplateCommandOutput,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-connect';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TemplateNotFoundError } from '#lib/connect/errors.ts';
import { createTemplateProvider } from '#lib/connect/templates.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const TEMPLATE = 'd0d0d0d0-0000-4000-8000-000000000001';

function templateOutput(overrides: Partial<GetTaskTemplateCommandOutput> = {}): GetTaskTemplateCommandOutput {
  return {
    $metadata: {},
    InstanceId: INSTANCE,
    Id: TEMPLATE,
    Arn: `arn:aws:connect:us-east-1:000000000000:instance/${INSTANCE}/task-template/${TEMPLATE}`,
    Name: 'Delayed order',
    ContactFlowId: 'f1a2b3c4-0000-4000-8000-000000000001',
    Status: 'ACTIVE',
    Fields: [{ Id: { Name: 'Name' }, Type: 'NAME' }],
    Constraints: { RequiredFields: [{ Id: { Name: 'Name' } }] },
    Defaults: { DefaultFieldValues: [{ Id: { Name: 'Description' }, DefaultValue: 'Check the order' }] },
    Tags: { team: 'orders' },
    ...overrides,
  };
}

describe('createTemplateProvider', () => {
  const connect = mockClient(ConnectClient);
  let clock: number;
  const now = () => clock;

  beforeEach(() => {
    connect.reset();
    clock = 5_000_000;
  });
  afterEach(() => connect.reset());

  it('keeps only what validation reads from the GetTaskTemplate response', async () => {
    // Prepare
    connect.on(GetTaskTemplateCommand).resolves(templateOutput());
    const templates = createTemplateProvider({ connect: new ConnectClient({}), maxAgeMs: 60_000, now });

    // Act
    const view = await templates.get(INSTANCE, TEMPLATE);

    // Assess
    expect(view).toEqual({
      Id: TEMPLATE,
      Status: 'ACTIVE',
      ContactFlowId: 'f1a2b3c4-0000-4000-8000-000000000001',
      Fields: [{ Id: { Name: 'Name' }, Type: 'NAME' }],
      Constraints: { RequiredFields: [{ Id: { Name: 'Name' } }] },
      Defaults: { DefaultFieldValues: [{ Id: { Name: 'Description' }, DefaultValue: 'Check the order' }] },
    });
    expect(connect.commandCalls(GetTaskTemplateCommand)[0]?.args[0].input).toEqual({
      InstanceId: INSTANCE,
      TaskTemplateId: TEMPLATE,
    });
  });

  it('serves a template from the cache until the max age has passed', async () => {
    // Prepare
    connect
      .on(GetTaskTemplateCommand)
      .resolvesOnce(templateOutput())
      .resolvesOnce(templateOutput({ Status: 'INACTIVE' }));
    const templates = createTemplateProvider({ connect: new ConnectClient({}), maxAgeMs: 60_000, now });

    // Act
    const first = await templates.get(INSTANCE, TEMPLATE);
    clock += 59_999;
    const cached = await templates.get(INSTANCE, TEMPLATE);
    clock += 1;
    const refreshed = await templates.get(INSTANCE, TEMPLATE);

    // Assess
    expect(cached).toBe(first);
    expect(refreshed.Status).toBe('INACTIVE');
    expect(connect.commandCalls(GetTaskTemplateCommand)).toHaveLength(2);
  });

  it('caches per instance and template', async () => {
    // Prepare
    connect
      .on(GetTaskTemplateCommand)
      .callsFake((input: { TaskTemplateId: string }) => templateOutput({ Id: input.TaskTemplateId }));
    const templates = createTemplateProvider({ connect: new ConnectClient({}), maxAgeMs: 60_000, now });

    // Act
    const a = await templates.get(INSTANCE, 'template-a');
    const b = await templates.get(INSTANCE, 'template-b');
    const otherInstance = await templates.get('other-instance', 'template-a');

    // Assess
    expect([a.Id, b.Id, otherInstance.Id]).toEqual(['template-a', 'template-b', 'template-a']);
    expect(connect.commandCalls(GetTaskTemplateCommand)).toHaveLength(3);
  });

  it('lets concurrent misses for the same template share one call', async () => {
    // Prepare
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    connect.on(GetTaskTemplateCommand).callsFake(async () => {
      await gate;
      return templateOutput();
    });
    const templates = createTemplateProvider({ connect: new ConnectClient({}), maxAgeMs: 60_000, now });

    // Act
    const pending = [templates.get(INSTANCE, TEMPLATE), templates.get(INSTANCE, TEMPLATE)];
    release();
    const [first, second] = await Promise.all(pending);

    // Assess
    expect(second).toBe(first);
    expect(connect.commandCalls(GetTaskTemplateCommand)).toHaveLength(1);
  });

  it('turns ResourceNotFound into a permanent TemplateNotFoundError and does not cache it', async () => {
    // Prepare
    const notFound = new ResourceNotFoundException({
      message: 'not found',
      $metadata: { httpStatusCode: 404 },
    });
    connect.on(GetTaskTemplateCommand).rejectsOnce(notFound).resolvesOnce(templateOutput());
    const templates = createTemplateProvider({ connect: new ConnectClient({}), maxAgeMs: 60_000, now });

    // Act
    const error = await templates.get(INSTANCE, TEMPLATE).catch((e: unknown) => e);
    const afterFix = await templates.get(INSTANCE, TEMPLATE);

    // Assess
    expect(error).toBeInstanceOf(TemplateNotFoundError);
    expect(error).toMatchObject({
      permanent: true,
      code: 'TemplateNotFound',
      templateId: TEMPLATE,
      cause: notFound,
    });
    expect(afterFix.Status).toBe('ACTIVE');
  });

  it('rethrows other errors unchanged so the classifier sees the SDK exception', async () => {
    // Prepare
    const throttled = new ThrottlingException({
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 429 },
    });
    connect.on(GetTaskTemplateCommand).rejects(throttled);
    const templates = createTemplateProvider({ connect: new ConnectClient({}), maxAgeMs: 60_000, now });

    // Act
    const error = await templates.get(INSTANCE, TEMPLATE).catch((e: unknown) => e);

    // Assess
    expect(error).toBe(throttled);
  });

  it('calls again after invalidate()', async () => {
    // Prepare
    connect.on(GetTaskTemplateCommand).resolves(templateOutput());
    const templates = createTemplateProvider({ connect: new ConnectClient({}), maxAgeMs: 60_000, now });
    await templates.get(INSTANCE, TEMPLATE);

    // Act
    templates.invalidate();
    await templates.get(INSTANCE, TEMPLATE);

    // Assess
    expect(connect.commandCalls(GetTaskTemplateCommand)).toHaveLength(2);
  });
});
