/**
 * The Connect emulator's TransferContact rules (TransferContact API reference), its faults (injected errors, lost
 * responses, auto-complete on the movable clock) and its admin routes, through the real ConnectClient
 * and plain HTTP over loopback.
 */
import {
  ConnectClient,
  DescribeContactCommand,
  IdempotencyException,
  InternalServiceException,
  InvalidRequestException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  StartTaskContactCommand,
  StopContactCommand,
  TransferContactCommand,
  type TransferContactCommandInput,
} from '@aws-sdk/client-connect';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import { createMovableClock } from '#sandbox/clock.ts';
import {
  type ConnectEmulator,
  type ConnectEmulatorConfig,
  type ContactView,
  createConnectEmulator,
  loadWorld,
} from '#sandbox/connect/emulator.ts';
import type { EmulatorHandler, EmulatorRequest } from '#sandbox/http-types.ts';
import { serveHandler } from '#sandbox/serve.ts';

const world = loadWorld();
const INSTANCE_ID = '11111111-2222-3333-4444-555555555555';
const FLOW_ID = 'f1a2b3c4-0000-4000-8000-000000000001';
const QUEUE_FLOW_ID = 'f1a2b3c4-0000-4000-8000-000000000002';
const QUEUE_ID = 'a0a0a0a0-0000-4000-8000-000000000001';
const OTHER_QUEUE_ID = 'a0a0a0a0-0000-4000-8000-000000000002';
const USER_ID = 'b0b0b0b0-0000-4000-8000-000000000001';
const UNKNOWN_ID = '99999999-0000-4000-8000-000000000000';

/** A stream of draws for injected faults: tests that set a probability of 1 need no randomness. */
let draws: number[] = [];
const random = () => draws.shift() ?? 0.5;

let emulator: ConnectEmulator;
let client: ConnectClient;
let endpoint: string;
let closeServer: () => Promise<void>;
/** A fresh clock per test (the emulator reads whichever is current): each test starts at the wall clock. */
let clock = createMovableClock();
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

beforeAll(async () => {
  emulator = createConnectEmulator({ world, random, now: () => clock.now() });
  const route: EmulatorHandler = (req) =>
    req.path.startsWith('/_sandbox/') ? emulator.admin(req) : emulator.handle(req);
  const server = await serveHandler(route);
  endpoint = server.endpoint;
  closeServer = server.close;
  client = new ConnectClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await closeServer();
});
beforeEach(() => {
  draws = [];
  clock = createMovableClock();
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

async function startTask(extra: Record<string, unknown> = {}): Promise<string> {
  const out = await client.send(
    new StartTaskContactCommand({ InstanceId: INSTANCE_ID, Name: 'Task', ContactFlowId: FLOW_ID, ...extra }),
  );
  if (!out.ContactId) throw new Error('StartTaskContact returned no ContactId');
  return out.ContactId;
}

const transfer = (ContactId: string, extra: Partial<TransferContactCommandInput> = {}) =>
  client.send(
    new TransferContactCommand({
      InstanceId: INSTANCE_ID,
      ContactId,
      ContactFlowId: QUEUE_FLOW_ID,
      QueueId: QUEUE_ID,
      ...extra,
    }),
  );

const admin = (path: string, init: RequestInit = {}) => fetch(`${endpoint}/_sandbox/${path}`, init);
const adminJson = async <T>(path: string): Promise<T> => (await (await admin(path)).json()) as T;
type ContactsBody = { contacts: ContactView[] };

describe('TransferContact', () => {
  it('transfers an active task to a queue and returns its ContactId and ContactArn', async () => {
    // Prepare
    const contactId = await startTask();

    // Act
    const out = await transfer(contactId);
    const { Contact } = await client.send(
      new DescribeContactCommand({ InstanceId: INSTANCE_ID, ContactId: contactId }),
    );

    // Assess
    expect(out.ContactId).toBe(contactId);
    expect(out.ContactArn).toBe(Contact?.Arn);
    expect(Contact?.QueueInfo?.Id).toBe(QUEUE_ID);
    expect(emulator.contacts()[0]?.Transfers).toBe(1);
  });

  it('transfers a task to a user', async () => {
    // Prepare
    const contactId = await startTask();

    // Act
    await transfer(contactId, {
      QueueId: undefined,
      UserId: USER_ID,
      ContactFlowId: 'f1a2b3c4-0000-4000-8000-000000000003',
    });

    // Assess
    expect(emulator.contacts()[0]).toMatchObject({ UserId: USER_ID, QueueId: undefined });
  });

  it('takes a UserId given as the user ARN, and refuses an unknown user with ResourceNotFoundException', async () => {
    // Prepare: TransferContact's UserId "can be the ID or the ARN of the user".
    const contactId = await startTask();
    const userArn = `arn:aws:connect:us-east-1:000000000000:instance/${INSTANCE_ID}/agent/${USER_ID}`;
    const agentFlow = 'f1a2b3c4-0000-4000-8000-000000000003';

    // Act
    await transfer(contactId, { QueueId: undefined, UserId: userArn, ContactFlowId: agentFlow });
    const error = await failure(
      transfer(contactId, { QueueId: undefined, UserId: `${userArn}0`, ContactFlowId: agentFlow }),
    );

    // Assess
    expect(emulator.contacts()[0]).toMatchObject({ UserId: USER_ID, Transfers: 1 });
    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it('answers a malformed TransferContact with InvalidRequestException, the model listing no InvalidParameterException', async () => {
    // Prepare
    const contactId = await startTask();

    // Act
    const error = await failure(transfer(contactId, { ContactFlowId: 'f'.repeat(501) }));

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).toContain('ContactFlowId');
    expect(emulator.contacts()[0]?.Transfers).toBe(0);
  });

  it('refuses a contact that is not a TASK with InvalidRequestException', async () => {
    // Prepare
    const voice = emulator.seedContact({ instanceId: INSTANCE_ID, channel: 'VOICE' });

    // Act
    const error = await failure(transfer(voice.ContactId));

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect(error.message).toContain('only TASK contacts');
  });

  it('refuses a task that has ended with InvalidRequestException', async () => {
    // Prepare
    const contactId = await startTask();
    await client.send(new StopContactCommand({ InstanceId: INSTANCE_ID, ContactId: contactId }));

    // Act
    const error = await failure(transfer(contactId));

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect(error.message).toContain('active contacts');
  });

  it('refuses QueueId and UserId together with InvalidRequestException', async () => {
    // Prepare
    const contactId = await startTask();

    // Act
    const error = await failure(transfer(contactId, { UserId: USER_ID }));

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect(emulator.contacts()[0]?.Transfers).toBe(0);
  });

  it.each([
    ['ContactId', { ContactId: UNKNOWN_ID }],
    ['ContactFlowId', { ContactFlowId: UNKNOWN_ID }],
    ['QueueId', { QueueId: UNKNOWN_ID }],
    ['UserId', { QueueId: undefined, UserId: UNKNOWN_ID }],
  ])('refuses an unknown %s with ResourceNotFoundException', async (_field, overrides) => {
    // Prepare
    const contactId = await startTask();

    // Act
    const error = await failure(transfer(contactId, overrides));

    // Assess
    expect(error).toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses the 12th transfer of a contact with InvalidRequestException', async () => {
    // Prepare
    const contactId = await startTask();
    for (let i = 0; i < DEFAULT_TASK_LIMITS.transfersPerContactMax; i += 1) {
      await transfer(contactId, { QueueId: i % 2 === 0 ? QUEUE_ID : OTHER_QUEUE_ID });
    }

    // Act
    const error = await failure(transfer(contactId));

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect(error.message).toContain(`more than ${DEFAULT_TASK_LIMITS.transfersPerContactMax} times`);
    expect(emulator.contacts()[0]?.Transfers).toBe(DEFAULT_TASK_LIMITS.transfersPerContactMax);
  });

  it('answers a repeated ClientToken with the same parameters with the first response, counting one transfer', async () => {
    // Prepare
    const contactId = await startTask();
    const first = await transfer(contactId, { ClientToken: 'transfer-1' });

    // Act
    const second = await transfer(contactId, { ClientToken: 'transfer-1' });

    // Assess
    expect(second.ContactId).toBe(first.ContactId);
    expect(second.ContactArn).toBe(first.ContactArn);
    expect(emulator.contacts()[0]?.Transfers).toBe(1);
  });

  it('refuses a ClientToken reused with other parameters with IdempotencyException (409)', async () => {
    // Prepare
    const contactId = await startTask();
    await transfer(contactId, { ClientToken: 'transfer-2' });

    // Act
    const error = await failure(transfer(contactId, { ClientToken: 'transfer-2', QueueId: OTHER_QUEUE_ID }));

    // Assess
    expect(error).toBeInstanceOf(IdempotencyException);
    expect(error.$metadata?.httpStatusCode).toBe(409);
  });
});

describe('faults', () => {
  it('injects the configured error without creating a contact', async () => {
    // Prepare
    emulator.configure({ errorRates: { StartTaskContact: { InternalServiceException: 1 } } });

    // Act
    const error = await failure(startTask());

    // Assess
    expect(error).toBeInstanceOf(InternalServiceException);
    expect(error.$metadata?.httpStatusCode).toBe(500);
    expect(emulator.contacts()).toEqual([]);
  });

  it('picks the injected error by its probability band', async () => {
    // Prepare: draw 0.3 falls in ThrottlingException's band [0.2, 0.6).
    emulator.configure({
      errorRates: { StartTaskContact: { InternalServiceException: 0.2, ThrottlingException: 0.4 } },
    });
    draws = [0.3];

    // Act
    const error = await failure(startTask());

    // Assess
    expect(error.name).toBe('ThrottlingException');
  });

  it('creates the contact when the response is lost, and a retry with the same ClientToken returns it', async () => {
    // Prepare
    emulator.configure({ lostResponseRate: { StartTaskContact: 1 } });

    // Act
    const error = await failure(startTask({ ClientToken: 'lost-1' }));
    emulator.configure({ lostResponseRate: { StartTaskContact: 0 } });
    const retried = await startTask({ ClientToken: 'lost-1' });

    // Assess
    expect(error).toBeInstanceOf(InternalServiceException);
    expect(emulator.contacts().map((c) => c.ContactId)).toEqual([retried]);
    expect(emulator.callCounts().StartTaskContact).toEqual({ LostResponse: 1, '200': 1 });
  });

  it("holds a lost response past the caller's timeout in timeout mode, the contact created", async () => {
    // Prepare
    emulator.configure({
      lostResponseRate: { StartTaskContact: 1 },
      lostResponseMode: 'timeout',
      lostResponseDelayMs: 10_000,
    });
    const impatient = new ConnectClient({
      endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
      requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
    });

    // Act
    const error = await failure(
      impatient.send(
        new StartTaskContactCommand({ InstanceId: INSTANCE_ID, Name: 'T', ContactFlowId: FLOW_ID }),
      ),
    );
    impatient.destroy();

    // Assess
    expect(error.name).toBe('TimeoutError');
    expect(emulator.contacts({ channel: 'TASK' })).toHaveLength(1);
  });

  it("delays a call by its latencyMs past the caller's timeout, before it takes effect", async () => {
    // Prepare
    emulator.configure({ latencyMs: { StartTaskContact: 10_000 } });
    const impatient = new ConnectClient({
      endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
      requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
    });

    // Act
    const error = await failure(
      impatient.send(
        new StartTaskContactCommand({ InstanceId: INSTANCE_ID, Name: 'T', ContactFlowId: FLOW_ID }),
      ),
    );
    impatient.destroy();

    // Assess
    expect(error.name).toBe('TimeoutError');
    expect(emulator.contacts()).toEqual([]);
  });

  it('fails a call still waiting on its latency when the sandbox is reset, with no effect and no count', async () => {
    // Prepare
    emulator.configure({ latencyMs: { StartTaskContact: 10_000 } });
    const body = { InstanceId: INSTANCE_ID, Name: 'T', ContactFlowId: FLOW_ID };
    const waiting = emulator.handle({
      method: 'PUT',
      path: '/contact/task',
      query: new URLSearchParams(),
      headers: {},
      body: Buffer.from(JSON.stringify(body)),
    });

    // Act
    emulator.reset();
    const response = await waiting;

    // Assess
    expect(response.status).toBe(500);
    expect(response.headers?.['x-amzn-errortype']).toBe('InternalServiceException');
    expect(emulator.contacts()).toEqual([]);
    expect(emulator.callCounts()).toEqual({});
  });

  it('ends tasks autoCompleteAfterSeconds after creation when the clock moves, freeing the active quota', async () => {
    // Prepare
    emulator.configure({ activeTaskQuota: 1, autoCompleteAfterSeconds: 60 });
    const first = await startTask();
    const refused = await failure(startTask());

    // Act
    clock.advance(61_000);
    const second = await startTask();

    // Assess
    expect(refused).toBeInstanceOf(ServiceQuotaExceededException);
    expect(second).not.toBe(first);
    expect(emulator.contacts({ state: 'ENDED' })).toMatchObject([
      { ContactId: first, DisconnectReason: 'EXPIRED' },
    ]);
  });
});

describe('admin routes and transport', () => {
  it('lists contacts filtered by channel, state, name and clientToken', async () => {
    // Prepare
    await startTask({ Name: 'alpha', ClientToken: 'a' });
    await startTask({ Name: 'beta', ClientToken: 'b' });
    emulator.seedContact({ instanceId: INSTANCE_ID, channel: 'CHAT', state: 'ENDED' });

    // Act
    const byName = await adminJson<ContactsBody>('contacts?name=beta');
    const byToken = await adminJson<ContactsBody>('contacts?clientToken=a&channel=TASK');
    const ended = await adminJson<ContactsBody>(`contacts?state=ENDED&instanceId=${INSTANCE_ID}`);

    // Assess
    expect(byName.contacts.map((c) => c.Name)).toEqual(['beta']);
    expect(byToken.contacts.map((c) => c.Name)).toEqual(['alpha']);
    expect(ended.contacts.map((c) => c.Channel)).toEqual(['CHAT']);
  });

  it('seeds a contact through POST /_sandbox/contacts', async () => {
    // Act
    const response = await admin('contacts', {
      method: 'POST',
      body: JSON.stringify({ channel: 'VOICE', attributes: { caller: 'c-1' } }),
    });

    // Assess
    expect(response.status).toBe(200);
    expect(((await response.json()) as { contact: ContactView }).contact).toMatchObject({
      Channel: 'VOICE',
      State: 'ACTIVE',
      InstanceId: INSTANCE_ID,
    });
  });

  it('counts calls by operation and outcome at /_sandbox/calls', async () => {
    // Prepare
    await startTask();
    await failure(startTask({ InstanceId: UNKNOWN_ID }));

    // Act
    const calls = await adminJson<Record<string, Record<string, number>>>('calls');

    // Assess
    expect(calls).toEqual({ StartTaskContact: { '200': 1, ResourceNotFoundException: 1 } });
  });

  it('changes the configuration through PUT /_sandbox/config and shows it on GET', async () => {
    // Act
    const put = await admin('config', {
      method: 'PUT',
      body: JSON.stringify({ activeTaskQuota: 7, rates: { TransferContact: { rate: 2, burst: 1 } } }),
    });
    const got = await adminJson<ConnectEmulatorConfig>('config');

    // Assess
    expect(put.status).toBe(200);
    expect(got.activeTaskQuota).toBe(7);
    expect(got.rates.TransferContact).toEqual({ rate: 2, burst: 1 });
    expect(got.rates.StartTaskContact).toEqual({ rate: 1000, burst: 1000 });
  });

  it('refuses a configuration with an unknown operation and keeps the old one', async () => {
    // Act
    const response = await admin('config', {
      method: 'PUT',
      body: JSON.stringify({ lostResponseRate: { StartTaskContacts: 1 } }),
    });

    // Assess
    expect(response.status).toBe(400);
    expect(emulator.config().lostResponseRate).toEqual({});
  });

  it("refuses to inject an error the operation's API model does not list", async () => {
    // Act: the model lists no AccessDeniedException for StartTaskContact (TransferContact has it).
    const refused = await admin('config', {
      method: 'PUT',
      body: JSON.stringify({ errorRates: { StartTaskContact: { AccessDeniedException: 1 } } }),
    });
    const accepted = await admin('config', {
      method: 'PUT',
      body: JSON.stringify({ errorRates: { TransferContact: { AccessDeniedException: 0.5 } } }),
    });

    // Assess
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('AccessDeniedException');
    expect(accepted.status).toBe(200);
    expect(emulator.config().errorRates).toEqual({ TransferContact: { AccessDeniedException: 0.5 } });
  });

  it('clears contacts, counters and faults on POST /_sandbox/reset', async () => {
    // Prepare
    emulator.configure({ activeTaskQuota: 1 });
    await startTask();

    // Act
    const response = await admin('reset', { method: 'POST' });

    // Assess
    expect(response.status).toBe(200);
    expect(emulator.contacts()).toEqual([]);
    expect(emulator.callCounts()).toEqual({});
    expect(emulator.config().activeTaskQuota).toBe(2500);
  });

  it('answers an unknown Connect path with 404 UnknownOperationException', async () => {
    // Act
    const response = await fetch(`${endpoint}/contact/nothing-here`, { method: 'POST', body: '{}' });

    // Assess
    expect(response.status).toBe(404);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await response.json()).toHaveProperty('Message');
  });

  it('answers malformed JSON with 400 SerializationException', async () => {
    // Act
    const response = await fetch(`${endpoint}/contact/task`, { method: 'PUT', body: '{"InstanceId":' });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('SerializationException');
  });

  it('claims Connect paths and Connect-signed requests for the edge, not admin or other paths', () => {
    // Prepare
    const request = (method: string, path: string, authorization?: string): EmulatorRequest => ({
      method,
      path,
      query: new URLSearchParams(),
      headers: authorization ? { authorization } : {},
      body: Buffer.alloc(0),
    });
    const signed =
      'AWS4-HMAC-SHA256 Credential=test/20240501/us-east-1/connect/aws4_request, SignedHeaders=host, Signature=x';

    // Act / Assess
    expect(emulator.isConnectRequest(request('PUT', '/contact/task'))).toBe(true);
    expect(emulator.isConnectRequest(request('GET', `/instance/${INSTANCE_ID}/task/template/x`))).toBe(true);
    expect(emulator.isConnectRequest(request('POST', '/some/new/connect/api', signed))).toBe(true);
    expect(emulator.isConnectRequest(request('GET', '/_sandbox/contacts'))).toBe(false);
    expect(emulator.isConnectRequest(request('POST', '/'))).toBe(false);
  });
});
