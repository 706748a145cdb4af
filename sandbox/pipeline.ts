/**
 * Runs the service's functions on the sandbox the way AWS would: an SQS event-source poller per
 * `sqs` event and a scheduler for the `schedule` events of serverless.yml, invoking the real entry
 * files in `functions/` in-process, with the environment serverless.yml gives them. A function with
 * several `sqs` events (the ingest function: one per lane queue) has one poller per queue, all
 * invoking the same pool of function instances, as Lambda does.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import {
  type FunctionConfig,
  parseRate,
  type ScheduleEventConfig,
  type SqsEventConfig,
} from '#common/serverless-config.ts';
import { parseTaskSchedules } from '#lib/schedules/declaration.ts';
import type { EmulatorRequest } from './http-types.ts';
import type { Sandbox } from './index.ts';
import { createLambdaContext } from './lambda-context.ts';
import { type IdleOptions, startEventSourcePoller } from './poller.ts';
import { type Scheduler, startScheduler } from './scheduler.ts';
import { startTaskScheduler, type TaskScheduler } from './task-scheduler.ts';

// biome-ignore lint/suspicious/noExplicitAny: handlers of different event types are invoked generically
type AnyHandler = (event: any, context: Context) => Promise<unknown>;

export interface PipelineOptions {
  /**
   * Replace how a function instance is made (tests inject fault-wrapped handlers). Called once per
   * function instance, like a cold start.
   */
  handlers?: Record<string, () => AnyHandler | Promise<AnyHandler>>;
  /** Chance that an invocation's deletes are skipped after the handler returned (crash simulation). */
  killAfterRate?: number;
  /** Run the schedules on their rates (default true); false: only on demand. */
  schedules?: boolean;
  /**
   * Fire the task schedules of `custom.taskSchedules` on the movable clock (default: as `schedules`);
   * false: paused until `taskSchedules.resume()`.
   */
  taskSchedules?: boolean;
  onInvocation?: (functionName: string, info: { records: number; failures: number; error?: unknown }) => void;
}

export interface Pipeline {
  /**
   * Resolves when every polled queue is empty and no invocation is in flight (by default also
   * waiting for in-flight messages to come back and be processed), all at the same time: a handler
   * of one queue may send to another (the ingest forwards events between lane queues).
   */
  idle(options?: IdleOptions): Promise<void>;
  runSchedule(name: string): Promise<unknown>;
  schedules(): string[];
  /** The task schedules' scheduler (sends to the ingest queue). */
  taskSchedules: TaskScheduler;
  stop(): Promise<void>;
}

let instanceCounter = 0;

/** Imports a fresh copy of the function's module: a new function instance with its own module scope. */
async function loadHandler(sandbox: Sandbox, name: string): Promise<AnyHandler> {
  const fn = sandbox.config.functions[name];
  if (!fn) throw new TypeError(`serverless.yml has no function "${name}"`);
  const file = resolve(sandbox.config.serviceDir, `${fn.handlerModule}.ts`);
  instanceCounter += 1;
  const url = `${pathToFileURL(file).href}?instance=${instanceCounter}`;
  const mod = (await import(url)) as Record<string, unknown>;
  const handler = mod[fn.handlerExport];
  if (typeof handler !== 'function') throw new TypeError(`${file} does not export "${fn.handlerExport}"`);
  return handler as AnyHandler;
}

/**
 * Like Lambda, one function instance serves one invocation at a time: concurrent invocations get
 * separate instances (separate module scope: clients, caches, rate limiters), created on demand
 * (a cold start) and reused when free.
 */
function instancePool(make: () => AnyHandler | Promise<AnyHandler>): AnyHandler {
  const free: AnyHandler[] = [];
  return async (event, context) => {
    const instance = free.pop() ?? (await make());
    try {
      return await instance(event, context);
    } finally {
      free.push(instance);
    }
  };
}

type EventSourcePoller = ReturnType<typeof startEventSourcePoller>;
type ScheduledJob = Parameters<typeof startScheduler>[0]['jobs'][number];

/**
 * Starts an event-source poller per `sqs` event, the schedules of the `schedule` events and the task
 * schedules, all invoking the functions of serverless.yml, and adds the schedules' admin routes.
 *
 * @param sandbox - a started sandbox (its queues, tables and Connect emulator).
 * @param options - which schedules run on their rates, and the pollers' settings.
 * @returns the running pipeline: `idle()` waits until every queue is drained, `stop()` stops it.
 * @example
 * const sandbox = await startSandbox();
 * const pipeline = await startPipeline(sandbox);
 * // publish to the ingest queue, then
 * await pipeline.stop();
 */
export async function startPipeline(sandbox: Sandbox, options: PipelineOptions = {}): Promise<Pipeline> {
  // The function modules read their configuration at import time, as on Lambda.
  Object.assign(process.env, sandbox.environment);

  const pollers: EventSourcePoller[] = [];
  const jobs: ScheduledJob[] = [];
  for (const [name, fn] of Object.entries(sandbox.config.functions)) {
    const handler = instancePool(options.handlers?.[name] ?? (() => loadHandler(sandbox, name)));
    for (const event of fn.events) {
      if (event.sqs?.enabled) pollers.push(startPoller(sandbox, name, fn, event.sqs, handler, options));
      const job = event.schedule?.enabled ? scheduledJob(name, fn, event.schedule, handler) : undefined;
      if (job) jobs.push(job);
    }
  }

  const taskSchedules = startTaskScheduler({
    schedules: parseTaskSchedules(sandbox.config.custom.taskSchedules),
    sqs: sandbox.clients.sqs,
    queueUrl: sandbox.environment.INGEST_QUEUE_URL as string,
    start: options.taskSchedules ?? options.schedules !== false,
  });
  const scheduler = startScheduler({
    jobs:
      options.schedules === false ? jobs.map((job) => ({ ...job, rateMs: Number.POSITIVE_INFINITY })) : jobs,
  });
  sandbox.addAdminRoute(scheduleRoutes(scheduler, taskSchedules));

  return {
    async idle(idleOptions = {}) {
      // Messages a task schedule is sending are on their way to a queue: wait for them first.
      await taskSchedules.flush();
      await allIdle(pollers, idleOptions);
    },
    runSchedule: (name) => scheduler.runNow(name),
    schedules: () => jobs.map((job) => job.name),
    taskSchedules,
    async stop() {
      await taskSchedules.stop();
      await scheduler.stop();
      await Promise.all(pollers.map((p) => p.stop()));
    },
  };
}

/** The event-source mapping of one `sqs` event of a function. */
function startPoller(
  sandbox: Sandbox,
  name: string,
  fn: FunctionConfig,
  sqs: SqsEventConfig,
  handler: AnyHandler,
  options: PipelineOptions,
): EventSourcePoller {
  const arn = sandbox.resources.resolveString(sqs.arn, `functions.${name}.events.sqs.arn`);
  const queue = Object.values(sandbox.resources.queues).find((q) => q.arn === arn);
  if (!queue) throw new TypeError(`functions.${name}: no sandbox queue has ARN ${arn}`);
  return startEventSourcePoller({
    sqs: sandbox.clients.sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    functionName: name,
    handler,
    batchSize: sqs.batchSize,
    maximumBatchingWindowSeconds: sqs.maximumBatchingWindow,
    maximumConcurrency: sqs.maximumConcurrency ?? 5,
    functionTimeoutSeconds: fn.timeout,
    reportBatchItemFailures: sqs.functionResponseType === 'ReportBatchItemFailures',
    ...(options.killAfterRate ? { faults: { killAfterRate: options.killAfterRate } } : {}),
    ...(options.onInvocation ? { onInvocation: (info) => options.onInvocation?.(name, info) } : {}),
  });
}

/** The scheduler job of one `schedule` event; undefined without a rate. */
function scheduledJob(
  name: string,
  fn: FunctionConfig,
  schedule: ScheduleEventConfig,
  handler: AnyHandler,
): ScheduledJob | undefined {
  const rate = schedule.rate[0];
  if (!rate) return undefined;
  return {
    name: schedule.name ?? `${name}-schedule`,
    rateMs: parseRate(rate),
    input: schedule.input ?? {},
    invoke: (input: unknown) =>
      handler(input, createLambdaContext({ functionName: name, timeoutMs: fn.timeout * 1000 })),
  };
}

/** GET /_sandbox/schedules lists both schedulers; POST /_sandbox/schedules/<name>/run runs one now. */
function scheduleRoutes(scheduler: Scheduler, taskSchedules: TaskScheduler) {
  const ok = (body: unknown) => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return async (req: EmulatorRequest) => {
    const path = req.path.replace(/\/+$/, '');
    if (path === '/_sandbox/schedules' && req.method === 'GET') {
      return ok({ schedules: scheduler.list(), taskSchedules: taskSchedules.list() });
    }
    const run = /^\/_sandbox\/schedules\/([^/]+)\/run$/.exec(path);
    if (run && req.method === 'POST') {
      const result = await scheduler.runNow(decodeURIComponent(run[1] as string));
      return ok({ result: result ?? null });
    }
    return undefined;
  };
}

/**
 * Resolves when every poller is idle at the same time. Each poller's idle looks at its own queue only,
 * and a handler still running on queue A when B went quiet may send to B. A round in which no poller
 * received anything, and which began with no poller busy (or followed such a round), ran no handler:
 * every queue it saw empty stayed empty.
 */
async function allIdle(pollers: readonly EventSourcePoller[], idleOptions: IdleOptions): Promise<void> {
  const deadline =
    idleOptions.timeoutMs === undefined ? undefined : performance.now() + idleOptions.timeoutMs;
  const round = () =>
    Promise.all(
      pollers.map((p) =>
        p.idle({
          ...idleOptions,
          ...(deadline === undefined ? {} : { timeoutMs: Math.max(0, deadline - performance.now()) }),
        }),
      ),
    );
  if (pollers.length <= 1) return void (await round());
  /** Records received by every poller so far: unchanged over a round means no handler ran in it. */
  const received = () => pollers.reduce((sum, p) => sum + p.stats().recordsReceived, 0);
  let quietBefore = false;
  for (;;) {
    const calm = pollers.every((p) => !p.busy());
    const before = received();
    await round();
    const quiet = received() === before;
    if (quiet && (calm || quietBefore)) return;
    quietBefore = quiet;
  }
}
