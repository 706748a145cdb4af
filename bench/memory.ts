/**
 * Memory: peak RSS of the service while it drains a large backlog through the sandbox, with the
 * emulator's StartTaskContact rate and the service's START_TASK_RATE both high (CPU-bound drain).
 *
 * The service (event-source poller + ingest function instances) runs in a child process
 * (bench/memory-service.ts) so its RSS is not mixed with the sandbox's, whose in-memory DynamoDB,
 * queues and Connect contacts grow with every task by design; the sandbox's RSS is printed alongside.
 */
import { fork } from 'node:child_process';
import { resolve } from 'node:path';
import { startSandbox } from '#sandbox/index.ts';
import type { EventSourceSettings, ServiceMessage } from './memory-service.ts';
import { mib, type Reporter } from './report.ts';
import { BenchError, caseMessages, installCaseRule, ROOT, sendBacklog } from './workload.ts';

/** Flat = the last decile's peak RSS at most this much above the first decile's. */
export const FLAT_RSS_GROWTH = 0.1;

export interface MemorySample {
  processed: number;
  rssBytes: number;
  peakRssBytes: number;
  heapUsedBytes: number;
  sandboxRssBytes: number;
}

export interface MemoryResult {
  messages: number;
  sendSeconds: number;
  drainSeconds: number;
  samples: MemorySample[];
  maxRssBytes: number;
  failures: number;
  firstDecilePeakBytes: number;
  lastDecilePeakBytes: number;
}

type SampleMessage = Extract<ServiceMessage, { type: 'sample' }>;
type DoneMessage = Extract<ServiceMessage, { type: 'done' }>;

/**
 * Drains `messages` CRM events through a service child process and samples its memory.
 * Input: the backlog size, the sample interval (messages) and a time limit.
 * Output: the series and the peaks. Throws BenchError when the drain does not finish in time.
 */
export async function runMemory(messages: number, every: number, timeLimitMs: number): Promise<MemoryResult> {
  const sandbox = await startSandbox({
    port: 0,
    params: { startTaskRate: '100000' },
  });
  try {
    sandbox.connect.configure({ rates: { StartTaskContact: { rate: 1_000_000, burst: 1_000_000 } } });
    await installCaseRule(sandbox);
    const queue = sandbox.resources.queues.IngestQueue;
    if (!queue) throw new BenchError('the sandbox has no IngestQueue');
    const sendMs = await sendBacklog(sandbox.clients.sqs, queue.url, caseMessages(messages, 'mem'), 16);

    const ingest = sandbox.config.functions.ingest;
    const sqsEvent = ingest?.events.find((e) => e.sqs)?.sqs;
    if (!ingest || !sqsEvent) throw new BenchError('serverless.yml has no ingest function with an sqs event');
    const settings: EventSourceSettings = {
      batchSize: sqsEvent.batchSize,
      maximumBatchingWindow: sqsEvent.maximumBatchingWindow,
      maximumConcurrency: sqsEvent.maximumConcurrency ?? 5,
      timeout: ingest.timeout,
    };
    const child = fork(resolve(ROOT, 'bench/memory-service.ts'), [], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      env: {
        PATH: process.env.PATH ?? '',
        ...sandbox.functionEnvironment('ingest'),
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        BENCH_QUEUE_ARN: queue.arn,
        BENCH_EVENT_SOURCE: JSON.stringify(settings),
        BENCH_TOTAL: String(messages),
        BENCH_SAMPLE_EVERY: String(every),
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });

    const started = performance.now();
    const samples: MemorySample[] = [];
    const done = await new Promise<DoneMessage>((resolveDone, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new BenchError(`the drain of ${messages} messages did not finish in ${timeLimitMs} ms`));
      }, timeLimitMs);
      child.on('message', (message: ServiceMessage) => {
        if (message.type === 'sample') {
          const m: SampleMessage = message;
          samples.push({
            processed: m.processed,
            rssBytes: m.rssBytes,
            peakRssBytes: m.peakRssBytes,
            heapUsedBytes: m.heapUsedBytes,
            sandboxRssBytes: process.memoryUsage.rss(),
          });
        } else {
          clearTimeout(timer);
          resolveDone(message);
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new BenchError(`the service process exited early (code ${code})`));
      });
    });
    const drainMs = performance.now() - started;
    child.removeAllListeners('exit');
    await new Promise<void>((resolveExit) => {
      child.once('exit', () => resolveExit());
      child.send('stop');
    });

    const decile = Math.ceil(messages / 10);
    const peakOf = (list: MemorySample[]) => Math.max(...list.map((s) => s.peakRssBytes));
    return {
      messages,
      sendSeconds: sendMs / 1000,
      drainSeconds: drainMs / 1000,
      samples,
      maxRssBytes: done.maxRssBytes,
      failures: done.failures,
      firstDecilePeakBytes: peakOf(samples.filter((s) => s.processed <= decile)),
      lastDecilePeakBytes: peakOf(samples.filter((s) => s.processed > messages - decile)),
    };
  } finally {
    await sandbox.stop();
  }
}

export async function memoryBench(report: Reporter, options: { quick: boolean }): Promise<void> {
  const messages = options.quick ? 5_000 : 100_000;
  const every = messages / 20;
  report.line('');
  report.line('== memory ==');
  report.line(
    `${messages} CRM events sent before start, drained by the service in its own process (poller + ingest ` +
      'instances, serverless.yml event-source settings, START_TASK_RATE 100000, emulator rate 1e6/s). ' +
      `Sample every ${every} messages: RSS now, peak RSS since the previous sample (polled every 50 ms), ` +
      'heap used after a full GC; sandbox RSS = the bench process holding the emulators (grows with stored state by design).',
  );
  const r = await runMemory(messages, every, options.quick ? 600_000 : 3_600_000);
  report.table(
    'service memory while draining',
    ['processed', 'RSS MiB', 'peak RSS MiB', 'heap after GC MiB', 'sandbox RSS MiB'],
    r.samples.map((s) => [
      s.processed,
      mib(s.rssBytes),
      mib(s.peakRssBytes),
      mib(s.heapUsedBytes),
      mib(s.sandboxRssBytes),
    ]),
  );
  for (const s of r.samples) {
    report.json('memory-sample', {
      processed: s.processed,
      rssMiB: mib(s.rssBytes),
      peakRssMiB: mib(s.peakRssBytes),
      heapUsedMiB: mib(s.heapUsedBytes),
      sandboxRssMiB: mib(s.sandboxRssBytes),
    });
  }
  const growth = r.lastDecilePeakBytes / r.firstDecilePeakBytes - 1;
  const throughput = r.messages / r.drainSeconds;
  report.table(
    'memory summary',
    [
      'messages',
      'send s',
      'drain s',
      'msgs/s',
      'max RSS MiB',
      '1st decile peak MiB',
      'last decile peak MiB',
      'growth %',
    ],
    [
      [
        r.messages,
        r.sendSeconds,
        r.drainSeconds,
        throughput,
        mib(r.maxRssBytes),
        mib(r.firstDecilePeakBytes),
        mib(r.lastDecilePeakBytes),
        100 * growth,
      ],
    ],
  );
  report.json('memory', {
    messages: r.messages,
    sendSeconds: r.sendSeconds,
    drainSeconds: r.drainSeconds,
    messagesPerSecond: throughput,
    maxRssMiB: mib(r.maxRssBytes),
    firstDecilePeakRssMiB: mib(r.firstDecilePeakBytes),
    lastDecilePeakRssMiB: mib(r.lastDecilePeakBytes),
    growth,
    transientFailures: r.failures,
  });
  report.check({
    bench: 'memory',
    figure: 'peak RSS growth, last vs first decile',
    value: 100 * growth,
    unit: '%',
    target: { op: '<=', limit: 100 * FLAT_RSS_GROWTH },
    note: `max RSS ${mib(r.maxRssBytes).toFixed(1)} MiB`,
  });
}
