/**
 * One contract, two implementations: the DynamoDB adapter of the ledger table on dynalite, and the
 * in-memory test double the unit tests use.
 */
import { afterAll, beforeAll } from 'vitest';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import { ledgerContract } from '#test/support/ledger-contract.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';
import { startTransferDynalite, type TransferDynalite } from '#test/support/transfer-dynalite.ts';

let db: TransferDynalite;
let seq = 0;

beforeAll(async () => {
  db = await startTransferDynalite();
});

afterAll(async () => {
  await db?.stop();
});

ledgerContract('DynamoLedger on dynalite', async () => {
  seq += 1;
  const tableName = `ledger-contract-${seq}`;
  await db.createTable('LedgerTable', tableName);
  return new DynamoLedger({ client: db.dynamo, tableName });
});

ledgerContract('InMemoryLedger', async () => new InMemoryLedger());
