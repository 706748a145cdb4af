import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RuleConflictError, RuleValidationError } from '#lib/rules/errors.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';

function rule(overrides: Record<string, unknown> = {}) {
  return {
    source: 'com.example.crm',
    ruleId: 'case-opened',
    instanceId: INSTANCE,
    target: { contactFlowId: 'f1a2b3c4-0000-4000-8000-000000000001' },
    mapping: { name: "'Case ' & data.caseId", attributes: { caseId: 'data.caseId' } },
    ...overrides,
  };
}

describe('DynamoRuleStore against dynalite', () => {
  let server: Server;
  let endpoint: string;
  let tableCounter = 0;
  let tableName: string;
  const clients: DynamoDBClient[] = [];

  const client = () => {
    const created = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(async () => {
    // A fresh table per test, shaped like serverless.yml's RulesTable.
    tableCounter += 1;
    tableName = `connect-task-ingest-it${tableCounter}-rules`;
    const admin = client();
    await admin.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'source', AttributeType: 'S' },
          { AttributeName: 'ruleId', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'source', KeyType: 'HASH' },
          { AttributeName: 'ruleId', KeyType: 'RANGE' },
        ],
      }),
    );
    await waitUntilTableExists({ client: admin, maxWaitTime: 10, minDelay: 0.05 }, { TableName: tableName });
  });

  afterAll(async () => {
    for (const created of clients) created.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('round-trips a rule with defaults applied and bumps the version on every put', async () => {
    // Prepare
    const store = new DynamoRuleStore({
      client: client(),
      tableName,
      now: () => Date.parse('2024-05-01T00:00:00Z'),
    });

    // Act
    const first = await store.put(rule());
    const second = await store.put(rule({ priority: 5 }));
    const record = await store.get('com.example.crm', 'case-opened');

    // Assess
    expect([first.version, second.version]).toEqual([1, 2]);
    expect(record?.version).toBe(2);
    expect(record?.updatedAt).toBe('2024-05-01T00:00:00.000Z');
    expect(record?.document).toEqual({
      ...rule({ priority: 5 }),
      enabled: true,
      action: 'create',
      options: { truncate: false, onChainLimit: 'park' },
    });
  });

  it('lets only one of two writers that read the same version win', async () => {
    // Prepare: writer B reads version 0, then waits until writer A has written
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let readDone: () => void = () => {};
    const bHasRead = new Promise<void>((resolve) => {
      readDone = resolve;
    });
    const slowClient = client();
    slowClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand') await gate;
        const result = await next(args);
        if (context.commandName === 'GetItemCommand') readDone();
        return result;
      },
      { step: 'initialize', name: 'holdPutUntilReleased' },
    );
    const writerA = new DynamoRuleStore({ client: client(), tableName });
    const writerB = new DynamoRuleStore({ client: slowClient, tableName });

    // Act
    const pendingB = writerB.put(rule({ description: 'from B' })).catch((e: unknown) => e);
    await bHasRead;
    const resultA = await writerA.put(rule({ description: 'from A' }));
    release();
    const resultB = await pendingB;
    const stored = await writerA.get('com.example.crm', 'case-opened');

    // Assess
    expect(resultA.version).toBe(1);
    expect(resultB).toBeInstanceOf(RuleConflictError);
    expect(stored?.document.description).toBe('from A');
    expect(stored?.version).toBe(1);
  });

  it('stores nothing when the rule is invalid', async () => {
    // Prepare
    const store = new DynamoRuleStore({ client: client(), tableName });

    // Act
    const error = await store.put(rule({ mapping: { name: '$$$(' } })).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(RuleValidationError);
    expect(await store.list()).toEqual([]);
  });

  it('lists one source with a Query and every source with a Scan', async () => {
    // Prepare
    const store = new DynamoRuleStore({ client: client(), tableName });
    await store.put(rule({ ruleId: 'b' }));
    await store.put(rule({ ruleId: 'a' }));
    await store.put(rule({ source: 'com.example.orders', ruleId: 'z' }));

    // Act
    const crm = await store.list('com.example.crm');
    const all = await store.list();

    // Assess
    expect(crm.map((r) => r.ruleId)).toEqual(['a', 'b']);
    expect(all.map((r) => `${r.source}/${r.ruleId}`)).toEqual([
      'com.example.crm/a',
      'com.example.crm/b',
      'com.example.orders/z',
    ]);
  });

  it('deletes a rule, honouring an expected version', async () => {
    // Prepare
    const store = new DynamoRuleStore({ client: client(), tableName });
    await store.put(rule());
    await store.put(rule());

    // Act
    const stale = await store
      .delete('com.example.crm', 'case-opened', { expectedVersion: 1 })
      .catch((e: unknown) => e);
    const deleted = await store.delete('com.example.crm', 'case-opened', { expectedVersion: 2 });
    const again = await store.delete('com.example.crm', 'case-opened');

    // Assess
    expect(stale).toBeInstanceOf(RuleConflictError);
    expect(deleted).toBe(true);
    expect(again).toBe(false);
    expect(await store.get('com.example.crm', 'case-opened')).toBeUndefined();
  });
});
