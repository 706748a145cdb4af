/**
 * dynalite (in-process, loopback) for the transfers-area integration tests, with tables created
 * from serverless.yml's definitions so the keys and the `byStatusDue` index are the deployed ones.
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
import dynalite from 'dynalite';
import { loadServerlessConfig } from '#common/serverless-config.ts';

interface TableProperties {
  AttributeDefinitions: AttributeDefinition[];
  KeySchema: KeySchemaElement[];
  GlobalSecondaryIndexes?: GlobalSecondaryIndex[];
}

export interface TransferDynalite {
  dynamo: DynamoDBClient;
  /** Creates `tableName` with the definition of serverless.yml's resource `logicalId`. */
  createTable(logicalId: 'TransfersTable' | 'LedgerTable', tableName: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startTransferDynalite(): Promise<TransferDynalite> {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const dynamo = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const resources = loadServerlessConfig({ stage: 'test' }).resources.Resources;
  return {
    dynamo,
    async createTable(logicalId, tableName) {
      const p = (resources[logicalId] as { Properties: TableProperties }).Properties;
      await dynamo.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: p.AttributeDefinitions,
          KeySchema: p.KeySchema,
          ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes } : {}),
        }),
      );
    },
    async stop() {
      dynamo.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
