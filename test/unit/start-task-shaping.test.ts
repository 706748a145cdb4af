import { Readable } from 'node:stream';
import { ConnectClient, ThrottlingException } from '@aws-sdk/client-connect';
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { RateLimiter } from '#lib/connect/rate-limiter.ts';
import type { StartTaskCall } from '#lib/ingest/ports.ts';
import { createTaskStarter } from '#lib/ingest/start-task.ts';
import type { Deadline } from '#lib/retry/deadline.ts';
import { DeadlineError } from '#lib/retry/errors.ts';
import { lambdaContext } from '#test/support/lambda.ts';

const dynamoMock = mockClient(DynamoDBClient);

afterEach(() => {
  dynamoMock.reset();
});

interface FakeResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Readable;
}

const throttled = (): FakeResponse => ({
  statusCode: 429,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ThrottlingException' },
  body: Readable.from([Buffer.from(JSON.stringify({ Message: 'Rate exceeded' }))]),
});

const created = (contactId: string): FakeResponse => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: Readable.from([Buffer.from(JSON.stringify({ ContactId: contactId }))]),
});

/** A Connect client whose HTTP layer answers from a script: the SDK's own retry loop runs for real. */
function scriptedConnect(script: Array<() => FakeResponse>): {
  client: ConnectClient;
  requests: () => number;
  bodies: Record<string, unknown>[];
} {
  let requests = 0;
  const bodies: Record<string, unknown>[] = [];
  const client = new ConnectClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 2,
    requestHandler: {
      async handle(request: { body?: unknown }) {
        bodies.push(JSON.parse(String(request.body ?? '{}')));
        const next = script[requests] ?? script[script.length - 1];
        requests += 1;
        if (!next) throw new Error('empty script');
        return { response: next() };
      },
    },
  });
  return { client, requests: () => requests, bodies };
}

/** Counts what the starter asks of its limiter. */
function recordingLimiter(): RateLimiter & { acquired: number; throttles: number } {
  return {
    acquired: 0,
    throttles: 0,
    waiting: 0,
    async acquire() {
      this.acquired += 1;
    },
    throttled() {
      this.throttles += 1;
    },
  };
}

/** A task starter over the scripted client, with a mocked idempotency table. */
function starterWith(
  connect: ConnectClient,
  limiter: Parameters<typeof createTaskStarter>[0]['limiter'],
  now?: () => number,
) {
  const starter = createTaskStarter({
    connect,
    dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
    idempotencyTable: 'idempotency',
    expirySeconds: 3600,
    limiter,
    ...(now ? { now } : {}),
  });
  starter.registerLambdaContext(lambdaContext());
  return starter;
}

const CALL: StartTaskCall = {
  clientToken: 'cti1-token-1',
  request: {
    InstanceId: '11111111-2222-3333-4444-555555555555',
    ContactFlowId: 'f1a2b3c4-0000-4000-8000-000000000001',
    Name: 'Case 1',
    ClientToken: 'cti1-token-1',
  },
  onChainLimit: 'park',
  lane: 'normal',
};

describe('createTaskStarter call shaping', () => {
  it('waits for the limiter before every attempt, the SDK retry of a throttled call included', async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
    const connect = scriptedConnect([throttled, () => created('contact-1')]);
    const limiter = recordingLimiter();
    const starter = starterWith(connect.client, limiter);
    // Act
    const result = await starter.startTask(CALL);
    // Assess
    expect(result.contactId).toBe('contact-1');
    expect(connect.requests()).toBe(2);
    expect(limiter.acquired).toBe(2);
    expect(limiter.throttles).toBe(1);
  });

  it('tells the limiter nothing when the call goes through at once', async () => {
    // Prepare
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
    const connect = scriptedConnect([() => created('contact-2')]);
    const limiter = recordingLimiter();
    const starter = starterWith(connect.client, limiter);
    // Act
    const result = await starter.startTask({ ...CALL, clientToken: 'cti1-token-2' });
    // Assess
    expect(result).toMatchObject({ contactId: 'contact-2', duplicate: false });
    expect(limiter.acquired).toBe(1);
    expect(limiter.throttles).toBe(0);
  });

  it('starts a task at once when its ScheduledTime came due while the call waited for its slot', async () => {
    // Prepare: the slot comes 5 s later; one task was due 3 s ahead, another 60 s ahead.
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
    const connect = scriptedConnect([() => created('contact-3')]);
    let clock = Date.UTC(2026, 11, 2, 9, 0, 0);
    const limiter = {
      waiting: 0,
      async acquire() {
        clock += 5_000;
      },
    };
    const starter = starterWith(connect.client, limiter, () => clock);
    const soon = new Date(clock + 3_000);
    const later = new Date(clock + 60_000);
    // Act
    await starter.startTask({
      ...CALL,
      clientToken: 'cti1-token-3',
      request: { ...CALL.request, ScheduledTime: soon },
    });
    await starter.startTask({
      ...CALL,
      clientToken: 'cti1-token-4',
      request: { ...CALL.request, ScheduledTime: later },
    });
    // Assess: the due one goes without ScheduledTime (Connect refuses a time in the past), the other keeps it.
    expect(connect.bodies[0]).not.toHaveProperty('ScheduledTime');
    expect(connect.bodies[1]?.ScheduledTime).toBe(later.getTime() / 1000);
  });

  /** A limiter that grants the first `slots` acquires and then turns the waiter away; it records the deadlines. */
  function limiterWithSlots(slots: number) {
    const deadlines: Array<Deadline | undefined> = [];
    return {
      deadlines,
      waiting: 0,
      async acquire(_lane?: unknown, deadline?: Deadline) {
        deadlines.push(deadline);
        if (deadlines.length > slots) throw new DeadlineError('a budget slot', 30_000, 5_000);
      },
      throttled() {},
    };
  }
  const invocation: Deadline = { remainingMs: () => 20_000, marginMs: 10_000 };

  /** Starts one task under `invocation` with the scripted answers and a limiter of `slots` slots. */
  async function startWithSlots(script: Array<() => FakeResponse>, slots: number, clientToken: string) {
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
    const connect = scriptedConnect(script);
    const limiter = limiterWithSlots(slots);
    const starter = starterWith(connect.client, limiter);
    const error = await starter.startTask({ ...CALL, clientToken, deadline: invocation }).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { error, requests: connect.requests(), deadlines: limiter.deadlines };
  }

  it('calls nothing when the first slot would come too late: the task is not attempted', async () => {
    // Act
    const { error, requests, deadlines } = await startWithSlots(
      [() => created('contact-4')],
      0,
      'cti1-token-4',
    );
    // Assess: the invocation's deadline reached the budget, and no request went out.
    expect(error).toBeInstanceOf(DeadlineError);
    expect(deadlines).toEqual([invocation]);
    expect(requests).toBe(0);
  });

  it('ends a call whose retry would wait past the deadline with the failure of the attempt before it', async () => {
    // Act: the first attempt is throttled; the retry's slot would come too late.
    const { error, requests, deadlines } = await startWithSlots(
      [throttled, () => created('contact-5')],
      1,
      'cti1-token-5',
    );
    // Assess: attempted once; the failure that counts is the throttle, not the deadline.
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(requests).toBe(1);
    expect(deadlines).toEqual([invocation, invocation]);
  });
});
