/**
 * Ingest: SQS ingest queue → per-source rules → StartTaskContact, exactly once.
 * Wiring only; the use case is lib/ingest/process-record.ts.
 */
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { awsClients } from '#lib/aws/clients.ts';
import { ingestConfigFromEnv } from '#lib/config.ts';
import { createIngestHandler } from '#lib/ingest/handler.ts';

const config = {
  ...ingestConfigFromEnv(),
  ingestQueueUrl: getStringFromEnv({ key: 'INGEST_QUEUE_URL', errorMessage: 'INGEST_QUEUE_URL must be set' }),
};

export const handler = createIngestHandler({ config, clients: awsClients() });
