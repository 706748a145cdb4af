/**
 * Ingest: SQS lane queues (urgent, normal = the ingest queue, bulk) → per-source rules →
 * StartTaskContact, exactly once. Wiring only; the use case is lib/ingest/process-record.ts.
 */
import { awsClients } from '#lib/aws/clients.ts';
import { ingestConfigFromEnv, laneQueueUrlsFromEnv } from '#lib/config.ts';
import { createIngestHandler } from '#lib/ingest/handler.ts';

const laneQueueUrls = laneQueueUrlsFromEnv();
const config = { ...ingestConfigFromEnv(), ingestQueueUrl: laneQueueUrls.normal, laneQueueUrls };

export const handler = createIngestHandler({ config, clients: awsClients() });
