/**
 * The memory bench's service host, run as a child process (`fork`, with tsx and --expose-gc) so its
 * RSS is the function's alone, not the sandbox's: the SQS event-source poller and one ingest function
 * instance per concurrent invocation (as sandbox/pipeline.ts runs them), against the parent's sandbox.
 *
 * Configuration (environment): the ingest function's environment, plus
 *   BENCH_QUEUE_ARN       the ingest queue's ARN (INGEST_QUEUE_URL is in the function environment)
 *   BENCH_EVENT_SOURCE    JSON {batchSize, maximumBatchingWindow, maximumConcurrency, timeout}
 *   BENCH_TOTAL           messages to wait for
 *   BENCH_SAMPLE_EVERY    report a sample every this many processed records
 *
 * Messages to the parent: {type:'sample', processed, rssBytes, peakRssBytes, heapUsedBytes} where
 * peakRssBytes is the highest RSS seen (polled every 50 ms) since the previous sample and heapUsedBytes
 * is measured after a full GC; {type:'done', processed, maxRssBytes, failures}. The parent answers
 * 'done' with 'stop'.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { createConnectClient } from '#lib/aws/connect.ts';
import { startEventSourcePoller } from '#sandbox/poller.ts';
import { type IngestHandler, ingestInstances } from './workload.ts';

export interface EventSourceSettings {
  batchSize: number;
  maximumBatchingWindow: number;
  maximumConcurrency: number;
  timeout: number;
}

export type ServiceMessage =
  | { type: 'sample'; processed: number; rssBytes: number; peakRssBytes: number; heapUsedBytes: number }
  | { type: 'done'; processed: number; maxRssBytes: number; failures: number };

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new TypeError(`${name} must be set`);
  return value;
}

/** One function instance per concurrent invocation, reused when free (as sandbox/pipeline.ts does). */
function instancePool(make: () => IngestHandler): (event: SQSEvent, context: Context) => Promise<unknown> {
  const free: IngestHandler[] = [];
  return async (event, context) => {
    const instance = free.pop() ?? make();
    try {
      return await instance(event, context);
    } finally {
      free.push(instance);
    }
  };
}

function main(): void {
  const send = (message: ServiceMessage) => process.send?.(message);
  const total = Number(required('BENCH_TOTAL'));
  const every = Number(required('BENCH_SAMPLE_EVERY'));
  const source = JSON.parse(required('BENCH_EVENT_SOURCE')) as EventSourceSettings;
  const gc = (globalThis as { gc?: () => void }).gc;

  let processed = 0;
  let failures = 0;
  let peak = process.memoryUsage.rss();
  const poll = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);

  const instances = ingestInstances({
    connect: () => createConnectClient(),
    onOutcome(_record, outcome) {
      if (outcome.status === 'retry') {
        failures += 1;
        return;
      }
      processed += 1;
      if (processed % every === 0) {
        const rssBytes = process.memoryUsage.rss();
        const peakRssBytes = Math.max(peak, rssBytes);
        peak = 0;
        gc?.();
        send({
          type: 'sample',
          processed,
          rssBytes,
          peakRssBytes,
          heapUsedBytes: process.memoryUsage().heapUsed,
        });
      }
      if (processed === total) {
        send({ type: 'done', processed, maxRssBytes: process.resourceUsage().maxRSS * 1024, failures });
      }
    },
  });
  // The event-source mapping's own client (on AWS, the Lambda service polls; not the function).
  const pollerSqs = new SQSClient({});
  const poller = startEventSourcePoller({
    sqs: pollerSqs,
    queueUrl: required('INGEST_QUEUE_URL'),
    queueArn: required('BENCH_QUEUE_ARN'),
    functionName: 'ingest',
    handler: instancePool(instances.make),
    batchSize: source.batchSize,
    maximumBatchingWindowSeconds: source.maximumBatchingWindow,
    maximumConcurrency: source.maximumConcurrency,
    functionTimeoutSeconds: source.timeout,
    reportBatchItemFailures: true,
  });

  process.on('message', (message) => {
    if (message !== 'stop') return;
    clearInterval(poll);
    void poller.stop().then(() => {
      instances.destroy();
      pollerSqs.destroy();
      process.exit(0);
    });
  });
}

main();
