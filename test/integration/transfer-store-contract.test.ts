/**
 * One contract, two implementations: the DynamoDB adapter of the transfers table on dynalite, and the
 * in-memory test double the unit tests use.
 */
import { afterAll, beforeAll } from 'vitest';
import { DynamoTransferStore } from '#lib/transfers/store/dynamo-store.ts';
import { InMemoryTransferStore } from '#test/support/memory-transfer-store.ts';
import { startTransferDynalite, type TransferDynalite } from '#test/support/transfer-dynalite.ts';
import { transferStoreContract } from '#test/support/transfer-store-contract.ts';

let db: TransferDynalite;
let seq = 0;

beforeAll(async () => {
  db = await startTransferDynalite();
});

afterAll(async () => {
  await db?.stop();
});

transferStoreContract('DynamoTransferStore on dynalite', async () => {
  seq += 1;
  const tableName = `transfers-contract-${seq}`;
  await db.createTable('TransfersTable', tableName);
  return new DynamoTransferStore({ client: db.dynamo, tableName });
});

transferStoreContract('InMemoryTransferStore', async () => new InMemoryTransferStore());
