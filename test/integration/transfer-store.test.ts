/**
 * The DynamoDB adapters of the transfers table and the ledger, and the `transfers` CLI commands,
 * against dynalite (in-process, loopback) with the tables created from serverless.yml.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { Command } from 'commander';
import dynalite from 'dynalite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerTransferCommands } from '#cli/commands/transfers.ts';
import { DynamoLedgerStore } from '#lib/transfers/ledger.ts';
import { requestFromEvent } from '#lib/transfers/plan.ts';
import { DynamoTransferStore, TransferCursorError, type TransferItem } from '#lib/transfers/store.ts';
import { loadServerlessConfig } from '#sandbox/serverless-config.ts';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const INSTANCE = '11111111-2222-3333-4444-555555555555';
const QUEUE = 'a0a0a0a0-0000-4000-8000-000000000002';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000002';
const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);

interface TableProperties {
  AttributeDefinitions: AttributeDefinition[];
  KeySchema: KeySchemaElement[];
  GlobalSecondaryIndexes?: GlobalSecondaryIndex[];
}

async function createTableFromServerless(client: DynamoDBClient, logicalId: string, tableName: string) {
  const p = (
    loadServerlessConfig({ stage: 'test' }).resources.Resources[logicalId] as { Properties: TableProperties }
  ).Properties;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: p.AttributeDefinitions,
      KeySchema: p.KeySchema,
      ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes } : {}),
    }),
  );
}

function plan(contactId: string, planId: string, dueAt: number): TransferItem {
  return {
    contactId,
    planId,
    instanceId: INSTANCE,
    status: 'PENDING',
    dueAt,
    queueId: QUEUE,
    contactFlowId: FLOW,
    attempts: 0,
    createdAt: T0 - 60_000,
    updatedAt: T0 - 60_000,
    expiresAt: Math.ceil(T0 / 1000) + 86_400,
  };
}

describe('DynamoTransferStore, DynamoLedgerStore and the transfers CLI on dynalite', () => {
  let server: Server;
  let dynamo: DynamoDBClient;
  let seq = 0;
  let table: string;
  let store: DynamoTransferStore;

  beforeAll(async () => {
    server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    dynamo = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: REGION,
      credentials: CREDENTIALS,
    });
    await createTableFromServerless(dynamo, 'LedgerTable', 'ledger');
  });

  afterAll(async () => {
    dynamo?.destroy();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  beforeEach(async () => {
    seq += 1;
    table = `transfers-${seq}`;
    await createTableFromServerless(dynamo, 'TransfersTable', table);
    store = new DynamoTransferStore({ client: dynamo, tableName: table });
  });

  describe('schedule and claim', () => {
    it('writes a plan once; a redelivery writes nothing and keeps the first', async () => {
      // Prepare
      const first = plan('c-1', 'p', T0);
      // Act
      const outcomes = [await store.schedule(first), await store.schedule({ ...first, dueAt: T0 + 999 })];
      // Assess
      expect(outcomes).toEqual(['created', 'exists']);
      expect(await store.get('c-1', 'p')).toEqual(first);
    });

    it('lets exactly one of two owners claim a due plan, and nobody claim one not yet due', async () => {
      // Prepare
      await store.schedule(plan('c-1', 'due', T0));
      await store.schedule(plan('c-1', 'later', T0 + 1));
      // Act
      const claims = await Promise.all([
        store.claim({ contactId: 'c-1', planId: 'due' }, 'a', 1_000, T0),
        store.claim({ contactId: 'c-1', planId: 'due' }, 'b', 1_000, T0),
      ]);
      const early = await store.claim({ contactId: 'c-1', planId: 'later' }, 'a', 1_000, T0);
      // Assess
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(early).toBe(false);
      expect(await store.get('c-1', 'due')).toMatchObject({ status: 'CLAIMED', leaseUntil: T0 + 1_000 });
    });

    it('hands a claimed plan to another owner only after the lease expires, and only the owner records outcomes', async () => {
      // Prepare
      const key = { contactId: 'c-1', planId: 'p' };
      await store.schedule(plan('c-1', 'p', T0));
      await store.claim(key, 'crashed', 1_000, T0);
      // Act
      const duringLease = await store.claim(key, 'b', 1_000, T0 + 999);
      const afterLease = await store.claim(key, 'b', 1_000, T0 + 1_000);
      const staleFail = await store.fail(key, 'crashed', 'late', T0 + 1_001);
      const done = await store.complete(key, 'b', { ContactId: 'c-1', ContactArn: 'arn:c-1' }, T0 + 1_002);
      // Assess
      expect([duringLease, afterLease, staleFail, done]).toEqual([false, true, false, true]);
      const stored = await store.get('c-1', 'p');
      expect(stored).toMatchObject({ status: 'DONE', result: { ContactId: 'c-1', ContactArn: 'arn:c-1' } });
      expect(stored?.leaseOwner).toBeUndefined();
      expect(await store.countTransfers('c-1')).toBe(1);
    });

    it('reschedules back to PENDING with the new due time and one more attempt', async () => {
      // Prepare
      const key = { contactId: 'c-1', planId: 'p' };
      await store.schedule(plan('c-1', 'p', T0));
      await store.claim(key, 'a', 1_000, T0);
      // Act
      const ok = await store.reschedule(key, 'a', T0 + 5_000, 'ThrottlingException: Rate exceeded', T0 + 10);
      // Assess
      expect(ok).toBe(true);
      expect(await store.get('c-1', 'p')).toMatchObject({
        status: 'PENDING',
        dueAt: T0 + 5_000,
        attempts: 1,
        reason: 'ThrottlingException: Rate exceeded',
      });
      expect(await store.claim(key, 'a', 1_000, T0 + 4_999)).toBe(false);
    });
  });

  describe('queryDue', () => {
    it('pages through due PENDING plans, then claimed plans whose lease expired, never the rest', async () => {
      // Prepare
      for (let i = 0; i < 7; i += 1) await store.schedule(plan(`c-${i}`, 'p', T0 - 100 + i));
      await store.schedule(plan('c-future', 'p', T0 + 1));
      await store.claim({ contactId: 'c-0', planId: 'p' }, 'crashed', 50, T0 - 100);
      await store.claim({ contactId: 'c-1', planId: 'p' }, 'alive', 60_000, T0);
      // Act
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.queryDue(T0, 3, cursor);
        seen.push(...page.items.map((item) => item.contactId));
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== undefined && pages < 10);
      // Assess
      expect(seen).toEqual(['c-2', 'c-3', 'c-4', 'c-5', 'c-6', 'c-0']);
    });

    it('refuses a cursor it did not produce', async () => {
      // Act / Assess
      await expect(store.queryDue(T0, 5, 'not-a-cursor')).rejects.toBeInstanceOf(TransferCursorError);
    });
  });

  describe('transfer slots and cancel', () => {
    it('gives at most 11 slots per contact, counts a retried plan once, and frees released slots', async () => {
      // Prepare
      for (let i = 0; i < 11; i += 1)
        expect(await store.reserveTransferSlot('c-1', `p${i}`, 11, T0)).toBe(true);
      // Act
      const twelfth = await store.reserveTransferSlot('c-1', 'p11', 11, T0);
      const retried = await store.reserveTransferSlot('c-1', 'p3', 11, T0);
      await store.releaseTransferSlot('c-1', 'p0', T0);
      const afterRelease = await store.reserveTransferSlot('c-1', 'p11', 11, T0);
      // Assess
      expect([twelfth, retried, afterRelease]).toEqual([false, true, true]);
      expect(await store.countTransfers('c-1')).toBe(11);
    });

    it('cancels a pending plan, refuses a finished one, and says when there is none', async () => {
      // Prepare
      await store.schedule(plan('c-1', 'pending', T0));
      await store.schedule(plan('c-1', 'done', T0));
      await store.claim({ contactId: 'c-1', planId: 'done' }, 'a', 1_000, T0);
      await store.complete(
        { contactId: 'c-1', planId: 'done' },
        'a',
        { ContactId: 'c-1', ContactArn: 'arn' },
        T0,
      );
      // Act
      const outcomes = [
        await store.cancel('c-1', 'pending', T0),
        await store.cancel('c-1', 'done', T0),
        await store.cancel('c-1', 'missing', T0),
      ];
      // Assess
      expect(outcomes).toEqual(['cancelled', 'not-cancellable', 'not-found']);
      expect((await store.get('c-1', 'pending'))?.status).toBe('CANCELLED');
      expect(await store.claim({ contactId: 'c-1', planId: 'pending' }, 'a', 1_000, T0)).toBe(false);
    });
  });

  describe('list', () => {
    it('lists by contact, by status and all, in pages, never showing the counter item', async () => {
      // Prepare
      for (let i = 0; i < 5; i += 1) await store.schedule(plan('c-1', `p${i}`, T0 + i));
      await store.schedule(plan('c-2', 'p0', T0));
      await store.reserveTransferSlot('c-1', 'p0', 11, T0);
      await store.claim({ contactId: 'c-1', planId: 'p0' }, 'a', 1_000, T0);
      // Act
      const byContact = await store.list({ contactId: 'c-1' });
      const claimed = await store.list({ status: 'CLAIMED' });
      const pendingOfC1 = await store.list({ contactId: 'c-1', status: 'PENDING' });
      const all: TransferItem[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ limit: 2, ...(cursor ? { cursor } : {}) });
        all.push(...page.items);
        cursor = page.cursor;
      } while (cursor !== undefined);
      // Assess
      expect(byContact.items.map((i) => i.planId)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
      expect(claimed.items.map((i) => `${i.contactId}/${i.planId}`)).toEqual(['c-1/p0']);
      expect(pendingOfC1.items).toHaveLength(4);
      expect(all).toHaveLength(6);
    });
  });

  describe('DynamoLedgerStore', () => {
    it('keeps the first entry for a token and reads it back with its TTL', async () => {
      // Prepare
      const ledger = new DynamoLedgerStore({ client: dynamo, tableName: 'ledger' });
      const entry = {
        clientToken: `tok-${seq}`,
        contactId: 'c-1',
        instanceId: INSTANCE,
        source: 'crm',
        eventId: 'e-1',
        idempotencyKey: 'k-1',
        ruleId: 'r',
        createdAt: T0,
      };
      // Act
      const outcomes = [await ledger.put(entry), await ledger.put({ ...entry, contactId: 'c-other' })];
      const stored = await ledger.get(entry.clientToken);
      // Assess
      expect(outcomes).toEqual(['created', 'exists']);
      expect(stored).toEqual({ ...entry, expiresAt: Math.ceil(T0 / 1000) + 30 * 86_400 });
      expect(await ledger.get('unknown')).toBeUndefined();
    });
  });

  describe('transfers CLI', () => {
    async function cli(args: string[]): Promise<{ out: string; error?: unknown }> {
      let out = '';
      const program = new Command('task-ingest')
        .exitOverride()
        .configureOutput({ writeOut: (text) => (out += text), writeErr: () => {} });
      registerTransferCommands(program, () => ({ dynamo, transfersTable: table }));
      try {
        await program.parseAsync(args, { from: 'user' });
        return { out };
      } catch (error) {
        return { out, error };
      }
    }

    it('schedules a transfer once, shows it, lists it and cancels it', async () => {
      // Prepare
      const args = [
        'transfers',
        'schedule',
        '--instance',
        INSTANCE,
        '--contact',
        'c-9',
        '--queue',
        QUEUE,
        '--flow',
        FLOW,
        '--at',
        '2030-01-01T00:00:00Z',
      ];
      // Act
      const first = await cli(args);
      const again = await cli(args);
      const scheduled = JSON.parse(first.out) as { planId: string; scheduled: string; dueAt: string };
      const shown = await cli(['transfers', 'show', 'c-9', scheduled.planId]);
      const listed = await cli(['transfers', 'list', '--status', 'PENDING']);
      const cancelled = await cli(['transfers', 'cancel', 'c-9', scheduled.planId]);
      const cancelledAgain = await cli(['transfers', 'cancel', 'c-9', scheduled.planId]);
      // Assess
      expect(scheduled).toMatchObject({ scheduled: 'created', dueAt: '2030-01-01T00:00:00.000Z' });
      expect(JSON.parse(again.out)).toMatchObject({ planId: scheduled.planId, scheduled: 'exists' });
      expect(JSON.parse(shown.out)).toMatchObject({ contactId: 'c-9', status: 'PENDING', queueId: QUEUE });
      expect(listed.out.split('\n')[1]).toMatch(
        new RegExp(`^c-9\\t${scheduled.planId}\\tPENDING\\t2030-01-01T00:00:00.000Z\\t0\\tqueue:${QUEUE}$`),
      );
      expect(cancelled.out).toBe(`cancelled c-9 ${scheduled.planId}\n`);
      expect(cancelledAgain.error).toMatchObject({
        name: 'CliUserError',
        message: expect.stringMatching(/is CANCELLED/),
      });
      expect(
        requestFromEvent(
          {
            instanceId: INSTANCE,
            contactId: 'c-9',
            queueId: QUEUE,
            contactFlowId: FLOW,
            at: '2030-01-01T00:00:00Z',
          },
          T0,
        ).planId,
      ).toBe(scheduled.planId);
    });

    it('refuses both --queue and --user as a usage error, scheduling nothing', async () => {
      // Act
      const result = await cli([
        'transfers',
        'schedule',
        '--instance',
        INSTANCE,
        '--contact',
        'c-9',
        '--queue',
        QUEUE,
        '--user',
        'u-1',
        '--flow',
        FLOW,
      ]);
      // Assess
      expect(result.error).toMatchObject({ name: 'CliUsageError', exitCode: 2 });
      expect((await store.list({})).items).toEqual([]);
    });

    it('reports a missing plan as a user error', async () => {
      // Act
      const result = await cli(['transfers', 'show', 'c-404']);
      // Assess
      expect(result.error).toMatchObject({ name: 'CliUserError', exitCode: 1 });
    });
  });
});
