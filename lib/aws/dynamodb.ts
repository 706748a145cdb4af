/** The DynamoDB client of a function instance, traced, created on first use and then reused. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tracer } from '#lib/observability/powertools.ts';

let client: DynamoDBClient | undefined;

export function dynamoDbClient(): DynamoDBClient {
  client ??= tracer.captureAWSv3Client(new DynamoDBClient({}));
  return client;
}
