/**
 * The `transfers` CLI commands against dynalite (in-process, loopback) with the tables created from
 * serverless.yml. The transfer store's own cases are the contract in
 * test/support/transfer-store-contract.ts (transfer-store-contract.test.ts), the ledger's in
 * test/support/ledger-contract.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requestFromEvent } from '#lib/transfers/plan.ts';
import { DynamoTransferStore } from '#lib/transfers/store/dynamo-store.ts';
import { runCli } from '#test/support/cli.ts';
import { startTransferDynalite, type TransferDynalite } from '#test/support/transfer-dynalite.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const QUEUE = 'a0a0a0a0-0000-4000-8000-000000000002';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000002';
const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);

describe('the transfers CLI on dynalite', () => {
  let db: TransferDynalite;
  let dynamo: TransferDynalite['dynamo'];
  let seq = 0;
  let table: string;
  let store: DynamoTransferStore;

  beforeAll(async () => {
    db = await startTransferDynalite();
    dynamo = db.dynamo;
  });

  afterAll(async () => {
    await db?.stop();
  });

  beforeEach(async () => {
    seq += 1;
    table = `transfers-${seq}`;
    await db.createTable('TransfersTable', table);
    store = new DynamoTransferStore({ client: dynamo, tableName: table });
  });

  describe('transfers CLI', () => {
    /** The CLI with the test's table and DynamoDB client. */
    const cli = (args: string[]) =>
      runCli(args, {
        env: { TRANSFERS_TABLE: table, TASK_INGEST_STAGE: 'test' },
        clients: { dynamo: () => dynamo },
      });

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
      expect(cancelledAgain.code).toBe(1);
      expect(cancelledAgain.err).toMatch(/is CANCELLED/);
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
      expect(result.code).toBe(2);
      expect(result.err).toContain('give exactly one of --queue or --user');
      expect((await store.list({})).items).toEqual([]);
    });

    it('reports a missing plan as a user error', async () => {
      // Act
      const result = await cli(['transfers', 'show', 'c-404']);
      // Assess
      expect(result.code).toBe(1);
    });
  });
});
