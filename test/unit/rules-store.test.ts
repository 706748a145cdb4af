import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RuleConflictError, RuleStoreError, RuleValidationError } from '#lib/rules/errors.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';

const TABLE = 'connect-task-ingest-test-rules';
const NOW = Date.parse('2024-05-01T10:00:00.000Z');

function ruleInput(overrides: Record<string, unknown> = {}) {
  return {
    source: 'com.example.crm',
    ruleId: 'case-opened',
    instanceId: '11111111-2222-3333-4444-555555555555',
    target: { contactFlowId: 'f1a2b3c4-0000-4000-8000-000000000001' },
    mapping: { name: '"Case " & data.caseId', attributes: { caseId: 'data.caseId' } },
    ...overrides,
  };
}

describe('DynamoRuleStore', () => {
  const dynamo = mockClient(DynamoDBClient);
  let store: DynamoRuleStore;

  beforeEach(() => {
    dynamo.reset();
    store = new DynamoRuleStore({ client: new DynamoDBClient({}), tableName: TABLE, now: () => NOW });
  });
  afterEach(() => dynamo.reset());

  describe('put', () => {
    it('refuses an invalid rule with every error before anything is read or written', async () => {
      // Prepare: three problems at once (two JSONata syntax errors, an attribute key Connect refuses)
      const input = ruleInput({
        mapping: { name: '"unterminated', attributes: { caseId: '(', 'bad key': '1' } },
      });

      // Act
      const error = await store.put(input).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(RuleValidationError);
      const errors = (error as RuleValidationError).errors;
      expect(errors).toHaveLength(3);
      expect(errors.some((e) => e.startsWith('mapping.name:'))).toBe(true);
      expect(errors.some((e) => e.startsWith('mapping.attributes.caseId:'))).toBe(true);
      expect(errors.some((e) => e.startsWith('mapping.attributes.bad key:'))).toBe(true);
      expect(dynamo.calls()).toHaveLength(0);
    });

    it("refuses a rule naming an instance outside the stage's list before anything is read or written", async () => {
      // Prepare
      const listed = new DynamoRuleStore({
        client: new DynamoDBClient({}),
        tableName: TABLE,
        now: () => NOW,
        allowedInstanceIds: ['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002'],
      });

      // Act
      const error = await listed.put(ruleInput()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(RuleValidationError);
      expect((error as RuleValidationError).errors).toEqual([
        "instanceId: instance 11111111-2222-3333-4444-555555555555 is not one of the stage's Connect instances (connectInstanceIds: aaaaaaaa-0000-4000-8000-000000000001, bbbbbbbb-0000-4000-8000-000000000002)",
      ]);
      expect(dynamo.calls()).toHaveLength(0);
    });

    it('creates a new rule at version 1 only if no item exists yet', async () => {
      // Prepare
      dynamo.on(GetItemCommand).resolves({});
      dynamo.on(PutItemCommand).resolves({});

      // Act
      const stored = await store.put(ruleInput());

      // Assess
      expect(stored).toMatchObject({
        ruleId: 'case-opened',
        version: 1,
        updatedAt: '2024-05-01T10:00:00.000Z',
      });
      const [put] = dynamo.commandCalls(PutItemCommand);
      const input = put?.args[0].input;
      expect(input?.TableName).toBe(TABLE);
      expect(input?.ConditionExpression).toBe('attribute_not_exists(#source)');
      const item = unmarshall(input?.Item ?? {});
      expect(item).toMatchObject({
        source: 'com.example.crm',
        ruleId: 'case-opened',
        version: 1,
        priority: 100,
        enabled: true,
        action: 'create',
        mapping: { name: '"Case " & data.caseId' },
      });
    });

    it('bumps the version with a write conditioned on the version it read', async () => {
      // Prepare
      dynamo.on(GetItemCommand).resolves({ Item: marshall({ source: 'com.example.crm', version: 3 }) });
      dynamo.on(PutItemCommand).resolves({});

      // Act
      const stored = await store.put(ruleInput({ priority: 5 }));

      // Assess
      expect(stored.version).toBe(4);
      const input = dynamo.commandCalls(PutItemCommand)[0]?.args[0].input;
      expect(input?.ConditionExpression).toBe('#version = :current');
      expect(input?.ExpressionAttributeValues).toEqual({ ':current': { N: '3' } });
      expect(unmarshall(input?.Item ?? {})).toMatchObject({ version: 4, priority: 5 });
      expect(dynamo.commandCalls(GetItemCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
    });

    it('reports a concurrent write as a conflict instead of overwriting it', async () => {
      // Prepare
      dynamo.on(GetItemCommand).resolves({ Item: marshall({ source: 'com.example.crm', version: 2 }) });
      dynamo
        .on(PutItemCommand)
        .rejects(
          new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
        );

      // Act
      const error = await store.put(ruleInput()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(RuleConflictError);
      expect((error as Error).message).toContain('changed concurrently');
      expect((error as Error).cause).toBeInstanceOf(ConditionalCheckFailedException);
    });

    it('refuses a put whose expected version is not the stored one, without writing', async () => {
      // Prepare
      dynamo.on(GetItemCommand).resolves({ Item: marshall({ source: 'com.example.crm', version: 2 }) });

      // Act
      const error = await store.put(ruleInput(), { expectedVersion: 1 }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(RuleConflictError);
      expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
    });

    it('wraps a DynamoDB failure in RuleStoreError with the cause', async () => {
      // Prepare
      const cause = new InternalServerError({ message: 'boom', $metadata: {} });
      dynamo.on(GetItemCommand).resolves({});
      dynamo.on(PutItemCommand).rejects(cause);

      // Act
      const error = await store.put(ruleInput()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(RuleStoreError);
      expect(error).not.toBeInstanceOf(RuleConflictError);
      expect((error as Error).cause).toBe(cause);
    });
  });

  describe('get', () => {
    it('returns the raw document without the bookkeeping attributes', async () => {
      // Prepare
      const item = { ...ruleInput(), version: 7, updatedAt: '2024-04-01T00:00:00.000Z' };
      dynamo.on(GetItemCommand).resolves({ Item: marshall(item) });

      // Act
      const record = await store.get('com.example.crm', 'case-opened');

      // Assess
      expect(record).toEqual({
        source: 'com.example.crm',
        ruleId: 'case-opened',
        version: 7,
        updatedAt: '2024-04-01T00:00:00.000Z',
        document: ruleInput(),
      });
    });

    it('returns undefined when the rule does not exist', async () => {
      // Prepare
      dynamo.on(GetItemCommand).resolves({});

      // Act
      const record = await store.get('com.example.crm', 'missing');

      // Assess
      expect(record).toBeUndefined();
    });
  });

  describe('list', () => {
    it('queries one source and follows pagination to the end', async () => {
      // Prepare
      const item = (ruleId: string) => marshall({ ...ruleInput({ ruleId }), version: 1, updatedAt: 'x' });
      dynamo
        .on(QueryCommand)
        .resolvesOnce({
          Items: [item('a')],
          LastEvaluatedKey: { source: { S: 'com.example.crm' }, ruleId: { S: 'a' } },
        })
        .resolvesOnce({ Items: [item('b')] });

      // Act
      const records = await store.list('com.example.crm');

      // Assess
      expect(records.map((r) => r.ruleId)).toEqual(['a', 'b']);
      const calls = dynamo.commandCalls(QueryCommand);
      expect(calls).toHaveLength(2);
      expect(calls[0]?.args[0].input.ExpressionAttributeValues).toEqual({
        ':source': { S: 'com.example.crm' },
      });
      expect(calls[1]?.args[0].input.ExclusiveStartKey).toEqual({
        source: { S: 'com.example.crm' },
        ruleId: { S: 'a' },
      });
      expect(dynamo.commandCalls(ScanCommand)).toHaveLength(0);
    });

    it('scans every source when none is given, ordered by source then ruleId', async () => {
      // Prepare
      const item = (source: string, ruleId: string) =>
        marshall({ ...ruleInput({ source, ruleId }), version: 1, updatedAt: 'x' });
      dynamo
        .on(ScanCommand)
        .resolvesOnce({
          Items: [item('b.src', 'r2'), item('a.src', 'r9')],
          LastEvaluatedKey: { k: { S: '1' } },
        })
        .resolvesOnce({ Items: [item('b.src', 'r1')] });

      // Act
      const records = await store.list();

      // Assess
      expect(records.map((r) => `${r.source}/${r.ruleId}`)).toEqual(['a.src/r9', 'b.src/r1', 'b.src/r2']);
      expect(dynamo.commandCalls(ScanCommand)).toHaveLength(2);
    });
  });

  describe('delete', () => {
    it('tells whether the rule existed', async () => {
      // Prepare
      dynamo
        .on(DeleteItemCommand)
        .resolvesOnce({ Attributes: marshall({ source: 's', ruleId: 'r' }) })
        .resolvesOnce({});

      // Act
      const first = await store.delete('s', 'r');
      const second = await store.delete('s', 'r');

      // Assess
      expect([first, second]).toEqual([true, false]);
    });

    it('refuses to delete a rule that is not at the expected version', async () => {
      // Prepare
      dynamo
        .on(DeleteItemCommand)
        .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));

      // Act
      const error = await store.delete('s', 'r', { expectedVersion: 2 }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(RuleConflictError);
      expect(dynamo.commandCalls(DeleteItemCommand)[0]?.args[0].input.ExpressionAttributeValues).toEqual({
        ':expected': { N: '2' },
      });
    });
  });
});
