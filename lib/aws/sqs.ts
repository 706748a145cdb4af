/** The SQS client of a function instance, traced, created on first use and then reused. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from '#lib/observability/powertools.ts';

let client: SQSClient | undefined;

export function sqsClient(): SQSClient {
  client ??= tracer.captureAWSv3Client(new SQSClient({}));
  return client;
}
