/** The EventBridge client of a function instance, traced, created on first use and then reused. */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { tracer } from '#lib/observability/powertools.ts';

let client: EventBridgeClient | undefined;

export function eventBridgeClient(): EventBridgeClient {
  client ??= tracer.captureAWSv3Client(new EventBridgeClient({}));
  return client;
}
