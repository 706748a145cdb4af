/**
 * The chaos run: "nothing lost, nothing duplicated, nothing invalid reaches Connect".
 *
 * One runner, two callers: `npm run chaos` (bench/chaos.ts, thousands of messages) and the small
 * fixed-seed version in `npm test` (test/integration/chaos.test.ts). The rules, events and mix are
 * common/chaos/scenario.ts; the comparison and the printed report, common/chaos/report.ts.
 *
 *   const report = await runChaos({ messages: 300, seed: 7 });
 *   console.log(formatChaosReport(report));
 *   expect(report.violations).toEqual([]);
 *
 * What it does, on an embedded sandbox with the real pipeline (poller → ingest handler built by the
 * same factory as functions/ingest.ts → DynamoDB/SQS/Connect over loopback):
 *  1. stores one rule per upstream shape (CloudEvents, EventBridge, SNS, raw JSON with a template);
 *     the EventBridge rule puts its events in the urgent lane, the raw JSON one in the bulk lane;
 *  2. sends, each to one of the three lane queues (urgent, normal, bulk; seeded, from a generator of
 *     its own so the mix itself does not depend on it), a seeded mix of valid events (some sent
 *     twice by "upstream"), and invalid ones (malformed JSON, no source, no rule, a Name over the
 *     limit, an INACTIVE template, a mapping that yields an object, an invalid EMAIL reference),
 *     each tagged with a `chaosEvent` message attribute that every rule maps into the task's
 *     Attributes and that the DLQ keeps;
 *  3. while they flow, Connect injects 500s, 429s and 402s, loses responses (task created, caller sees
 *     a 500), and in short "slow" windows holds every StartTaskContact beyond the client timeout (both
 *     as added latency before the call and as a lost response held after it); the active-task quota
 *     produces real 402s; the poller "crashes" after the handler returned and before the deletes; SQS
 *     delivers duplicates; DynamoDB calls fail now and then (the ingest's DynamoDB client does not
 *     retry, so they reach our code);
 *  4. drains in rounds: move the clock past every visibility timeout and backoff, let the queue run
 *     dry, run the scheduled redrive; after `faultyRounds` rounds the faults are switched off (the
 *     final drain is clean), until the ingest queue is empty and the DLQ holds no OVER_QUOTA message.
 *     Each pass waits as long as it progresses (bench/chaos/wait.ts); a pass that stops progressing,
 *     or any failure of the run itself, ends the run early with the reason and what it holds so far;
 *  5. compares: tasks vs distinct valid events (by ClientToken, by Name, by event), DLQ entries vs the
 *     invalid events (each with class + code, the code expected for its kind), every sent event
 *     accounted for, and no InvalidParameter/InvalidRequest/ResourceNotFound ever counted by Connect;
 *     per lane (the lane each event was sent to): lost and duplicated, and every task started in its
 *     rule's lane, or in the lane it was sent to when its rule names none. An unfinished run is
 *     compared too, what is still in a lane queue or parked for a replay counted as pending.
 *
 * Determinism: the message mix and every fault draw come from one seeded generator; the interleaving
 * of concurrent invocations (and so which draw hits which call) still varies between runs.
 */
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { type ChaosReport, type ChaosTask, compare, increment } from '#common/chaos/report.ts';
import { buildMix, CHAOS_EVENT_ATTRIBUTE, CHAOS_RULES, type ChaosEvent } from '#common/chaos/scenario.ts';
import { seededRandom } from '#common/random.ts';
import { createConnectClient } from '#lib/aws/connect.ts';
import { ingestConfigFromEnv, laneQueueUrlsFromEnv, redriveConfigFromEnv } from '#lib/config.ts';
import { RecordNotDoneError } from '#lib/ingest/errors.ts';
import { createIngestHandler, type IngestRuntime } from '#lib/ingest/handler.ts';
import { laneOfRecord } from '#lib/ingest/lane.ts';
import { LANES, type Lane, type LaneQueueUrls } from '#lib/lanes.ts';
import { silentLogger } from '#lib/observability/logger.ts';
import { runRedrive } from '#lib/redrive/redrive.ts';
import { createSqsPort } from '#lib/redrive/sqs-port.ts';
import { MAX_VISIBILITY_SECONDS } from '#lib/retry/backoff.ts';
import { classifyError } from '#lib/retry/classify.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import type { ConnectEmulatorConfigPatch } from '#sandbox/connect/emulator.ts';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#sandbox/index.ts';
import { type Pipeline, startPipeline } from '#sandbox/pipeline.ts';
import { PollerIdleTimeoutError } from '#sandbox/poller.ts';
import type { IngestHandler } from '../workload.ts';
import { ChaosRunError } from './errors.ts';
import { queueDepth, readQueue, sendAll } from './queues.ts';
import { type PassProbe, type Progress, type WaitPolicy, waitForPass, waitPolicy } from './wait.ts';

// ------------------------------------------------------------------------------------------------
// Options

export interface ChaosFaults {
  /** Per StartTaskContact call: injected 500 InternalServiceException. */
  internalErrorRate: number;
  /** Per StartTaskContact call: injected 429 ThrottlingException. */
  throttlingRate: number;
  /** Per StartTaskContact call: injected 402 ServiceQuotaExceededException. */
  serviceQuotaRate: number;
  /** Per StartTaskContact call that took effect: the caller never sees the response. */
  lostResponseRate: number;
  /** Concurrent active tasks before Connect answers 402 (the real quota, small here). */
  activeTaskQuota: number;
  /** Active tasks end this long after creation (emulator clock), freeing quota. */
  autoCompleteAfterSeconds: number;
  /** The ingest's Connect client request timeout (ms). */
  clientTimeoutMs: number;
  /** Real milliseconds between "slow" windows, and how long each lasts. */
  slowEveryMs: number;
  slowForMs: number;
  /** Chance the poller skips an invocation's deletes after the handler returned (a crash). */
  killAfterRate: number;
  /** Chance SQS hands out an extra copy of a received message. */
  sqsDuplicateDeliveryRate: number;
  /** Chance a DynamoDB call fails with a 500. */
  dynamodbErrorRate: number;
}

export const DEFAULT_CHAOS_FAULTS: Readonly<ChaosFaults> = Object.freeze({
  internalErrorRate: 0.08,
  throttlingRate: 0.08,
  serviceQuotaRate: 0.03,
  lostResponseRate: 0.08,
  activeTaskQuota: 60,
  autoCompleteAfterSeconds: 300,
  clientTimeoutMs: 700,
  slowEveryMs: 2_500,
  slowForMs: 400,
  killAfterRate: 0.1,
  sqsDuplicateDeliveryRate: 0.05,
  dynamodbErrorRate: 0.01,
});

export interface ChaosOptions {
  /** SQS messages to send (upstream duplicates included). */
  messages: number;
  seed: number;
  /** Share of events that are invalid (default 0.2). */
  invalidShare?: number;
  /** Share of valid events that upstream sends twice as separate messages (default 0.05). */
  upstreamDuplicateShare?: number;
  /**
   * Share of CRM cases (valid CloudEvents) that upstream later updates (2 or 3 `updated` events, newest
   * last in time, sent in any order) and, as many again by half, closes (one `closed` event); default
   * 0.3. These messages come on top of `messages`.
   */
  lifecycleShare?: number;
  faults?: Partial<ChaosFaults>;
  /** Drain rounds that still have faults on (default 3); later rounds are clean. */
  faultyRounds?: number;
  /** Give up after this many drain rounds (default 40). */
  maxRounds?: number;
  /** Clock advance per drain round, seconds (default 400: past the queue's 360 s visibility timeout). */
  roundSeconds?: number;
  /** How long a pass may wait (default: bench/chaos/wait.ts's policy for the run's volume). */
  wait?: Partial<WaitPolicy>;
  /** Progress lines (default: silent). */
  log?: (line: string) => void;
}

// ------------------------------------------------------------------------------------------------
// Faults

function stormConfig(f: ChaosFaults): ConnectEmulatorConfigPatch {
  return {
    activeTaskQuota: f.activeTaskQuota,
    autoCompleteAfterSeconds: f.autoCompleteAfterSeconds,
    errorRates: {
      StartTaskContact: {
        InternalServiceException: f.internalErrorRate,
        ThrottlingException: f.throttlingRate,
        ServiceQuotaExceededException: f.serviceQuotaRate,
      },
    },
    lostResponseRate: { StartTaskContact: f.lostResponseRate },
    lostResponseMode: 'error',
    latencyMs: { StartTaskContact: 0 },
  };
}

/** A slow window: every call waits beyond the client timeout, and lost responses are held, not failed. */
function slowConfig(f: ChaosFaults): ConnectEmulatorConfigPatch {
  return {
    latencyMs: { StartTaskContact: f.clientTimeoutMs + 300 },
    lostResponseMode: 'timeout',
    lostResponseDelayMs: f.clientTimeoutMs + 500,
  };
}

const CLEAN_CONNECT: ConnectEmulatorConfigPatch = {
  errorRates: { StartTaskContact: {} },
  lostResponseRate: { StartTaskContact: 0 },
  lostResponseMode: 'error',
  latencyMs: { StartTaskContact: 0 },
};

/** Turns every fault on (Connect's storm with its slow windows, SQS duplicates, DynamoDB errors). */
function startFaults(sandbox: Sandbox, faults: ChaosFaults): { stop(): void } {
  sandbox.connect.configure(stormConfig(faults));
  sandbox.sqs.setFaults({ duplicateDeliveryRate: faults.sqsDuplicateDeliveryRate });
  sandbox.setDynamoDbErrorRate(faults.dynamodbErrorRate);
  let slow = false;
  let timer: NodeJS.Timeout | undefined;
  const toggleSlow = () => {
    slow = !slow;
    sandbox.connect.configure(slow ? slowConfig(faults) : stormConfig(faults));
    timer = setTimeout(toggleSlow, slow ? faults.slowForMs : faults.slowEveryMs);
  };
  timer = setTimeout(toggleSlow, faults.slowEveryMs);
  return {
    stop() {
      clearTimeout(timer);
      sandbox.connect.configure(CLEAN_CONNECT);
      sandbox.sqs.setFaults({ duplicateDeliveryRate: 0 });
      sandbox.setDynamoDbErrorRate(0);
    },
  };
}

// ------------------------------------------------------------------------------------------------
// What the run observes

type Outcome = Parameters<NonNullable<IngestRuntime['onOutcome']>>[1];

/** The counters and sets the ingest's outcomes and the poller's invocations feed. */
function createTracker() {
  const t = {
    recordOutcomes: {} as Record<string, number>,
    /** ClientToken → the lanes whose deliveries created it or found it created. */
    startedIn: new Map<string, Set<Lane>>(),
    /** Tracking id of an update/complete → the outcomes its deliveries had (updated, completed, stale). */
    lifecycleOutcomes: new Map<string, Set<string>>(),
    invocations: 0,
    killedInvocations: 0,
    recordsHandled: 0,
    onOutcome(record: SQSRecord, outcome: Outcome): void {
      t.recordsHandled += 1;
      if (outcome.status === 'updated' || outcome.status === 'completed' || outcome.status === 'stale') {
        const id = record.messageAttributes?.[CHAOS_EVENT_ATTRIBUTE]?.stringValue ?? '';
        const seen = t.lifecycleOutcomes.get(id) ?? new Set<string>();
        seen.add(outcome.status);
        t.lifecycleOutcomes.set(id, seen);
      }
      if (outcome.status === 'created' || outcome.status === 'duplicate') {
        const lanes = t.startedIn.get(outcome.clientToken) ?? new Set<Lane>();
        lanes.add(laneOfRecord(record));
        t.startedIn.set(outcome.clientToken, lanes);
      }
      if (outcome.status === 'retry') {
        const { error } = outcome;
        increment(
          t.recordOutcomes,
          error instanceof RecordNotDoneError
            ? `retry ${error.failureClass} ${error.code}`
            : `retry (escaped) ${classifyError(error).code}`,
        );
      } else if (outcome.status === 'parked')
        increment(t.recordOutcomes, `parked ${outcome.failureClass} ${outcome.code}`);
      else increment(t.recordOutcomes, outcome.status);
    },
    onInvocation(name: string, info: { killed?: boolean }): void {
      if (name !== 'ingest') return;
      t.invocations += 1;
      if (info.killed) t.killedInvocations += 1;
    },
  };
  return t;
}

type Tracker = ReturnType<typeof createTracker>;

/** Everything one run holds: the sandbox, its clients and queues, and where the drain stands. */
interface Run {
  options: ChaosOptions;
  log: (line: string) => void;
  sandbox: Sandbox;
  sqs: SQSClient;
  laneQueueUrls: LaneQueueUrls;
  dlqUrl: string;
  tracker: Tracker;
  policy: WaitPolicy;
  pipeline?: Pipeline;
  rounds: number;
  clockAdvancedSeconds: number;
  faultsOffFromRound: number;
  redriveRuns: number;
  redriveReplayed: number;
  taskNotFoundReplayed: number;
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((s, n) => s + n, 0);

/** The counters a pass's progress is measured by. */
async function progressOf(run: Run): Promise<Progress> {
  const lanes = await Promise.all(LANES.map((lane) => queueDepth(run.sqs, run.laneQueueUrls[lane])));
  const dlq = await queueDepth(run.sqs, run.dlqUrl);
  const calls = run.sandbox.connect.callCounts();
  return {
    'records handled': run.tracker.recordsHandled,
    invocations: run.tracker.invocations,
    'tasks created': calls.StartTaskContact?.['200'] ?? 0,
    'Connect calls': Object.values(calls).reduce((s, byOutcome) => s + sum(byOutcome), 0),
    'lane queues visible': lanes.reduce((s, d) => s + d.visible, 0),
    'lane queues hidden': lanes.reduce((s, d) => s + d.hidden, 0),
    'DLQ messages': dlq.visible + dlq.hidden,
  };
}

/** Waits for the pipeline to go idle while the pass progresses; a stuck pass ends the run. */
async function pass(run: Run, label: string): Promise<void> {
  const probe: PassProbe = {
    async idle(ms) {
      try {
        await run.pipeline?.idle({ includeInvisible: false, timeoutMs: ms });
        return true;
      } catch (error) {
        if (error instanceof PollerIdleTimeoutError) return false;
        throw error;
      }
    },
    progress: () => progressOf(run),
    now: () => performance.now(),
  };
  const outcome = await waitForPass(label, probe, run.policy);
  if (!outcome.idle) throw new ChaosRunError(outcome.reason);
}

// ------------------------------------------------------------------------------------------------
// The drain

/** The scheduled redrive, then (once the faults are off) what ops do with TaskNotFound. */
async function redrive(run: Run): Promise<{ replayed: number; deferred: number }> {
  const config = redriveConfigFromEnv();
  const base = {
    sqs: createSqsPort(run.sqs),
    dlqUrl: run.dlqUrl,
    ingestQueueUrl: run.laneQueueUrls.normal,
    laneQueueUrls: config.laneQueueUrls,
    now: run.sandbox.clock.now,
  };
  run.redriveRuns += 1;
  const summary = await runRedrive(
    { ...base, limits: config.limits, overQuotaBackoff: config.overQuotaBackoff },
    { mode: 'scheduled', maxScan: 100_000 },
  );
  run.redriveReplayed += summary.replayed;
  if (run.faultsOffFromRound !== 0) {
    // An update whose create waited in the DLQ longer than the update's receives is parked
    // TaskNotFound: ops run `dlq replay --code TaskNotFound` once the create exists.
    const replayed = await runRedrive(base, {
      mode: 'ops-replay',
      filter: { code: 'TaskNotFound' },
      maxScan: 100_000,
    });
    run.taskNotFoundReplayed += replayed.replayed;
  }
  return summary;
}

/**
 * Drains in rounds until the lane queues are empty and nothing waits in the DLQ for a replay, the
 * faults off from round `faultyRounds + 1` on. Throws ChaosRunError when a pass is stuck or the
 * rounds run out.
 */
async function drain(run: Run, faults: { stop(): void }, restart: () => Promise<Pipeline>): Promise<void> {
  const { faultyRounds = 3, maxRounds = 40, roundSeconds = 400 } = run.options;
  while (run.rounds < maxRounds) {
    run.rounds += 1;
    const round = run.rounds;
    if (round > faultyRounds && run.faultsOffFromRound === 0) {
      run.faultsOffFromRound = round;
      faults.stop();
      await run.pipeline?.stop();
      run.pipeline = await restart();
      run.log(`round ${round}: faults off for the final drain`);
    }
    run.sandbox.clock.advance(roundSeconds * 1000);
    run.clockAdvancedSeconds += roundSeconds;
    await pass(run, `round ${round}, drain`);
    const summary = await redrive(run);
    await pass(run, `round ${round}, after the redrive`);
    const overQuota = (await readQueue(run.sqs, run.dlqUrl)).filter((e) => e.failureClass === 'OVER_QUOTA');
    const lanes = await Promise.all(LANES.map((lane) => queueDepth(run.sqs, run.laneQueueUrls[lane])));
    const inLanes = lanes.reduce((s, d) => s + d.visible + d.hidden, 0);
    // Deferred by the redrive (hidden until due): not done yet, even though a read cannot see them.
    const dlqHidden = (await queueDepth(run.sqs, run.dlqUrl)).hidden;
    run.log(
      `round ${round}: replayed ${summary.replayed}, deferred ${summary.deferred}, OVER_QUOTA left ${overQuota.length + dlqHidden}, lane queues ${inLanes}`,
    );
    if (overQuota.length + dlqHidden + inLanes === 0 && run.faultsOffFromRound !== 0) return;
  }
  throw new ChaosRunError(`the queues did not drain within ${maxRounds} rounds`);
}

/**
 * After the run stopped early: the tracking ids still in a lane queue. The pipeline is stopped and
 * the clock moved past the longest visibility timeout SQS allows, so every message a stopped
 * invocation held, a backoff hid or the redrive deferred shows again (in the DLQ too, for its read).
 */
async function stillQueued(run: Run): Promise<Set<string>> {
  await run.pipeline?.stop();
  run.sandbox.clock.advance(MAX_VISIBILITY_SECONDS * 1000);
  run.clockAdvancedSeconds += MAX_VISIBILITY_SECONDS;
  const ids = new Set<string>();
  for (const lane of LANES) {
    for (const m of await readQueue(run.sqs, run.laneQueueUrls[lane])) if (m.eventId) ids.add(m.eventId);
  }
  return ids;
}

/** An error as one line: its message and its causes', never a stack. */
function oneLine(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    parts.push(e instanceof Error ? e.message || e.name : String(e));
    if (!(e instanceof Error)) break;
  }
  return parts.join(': ');
}

// ------------------------------------------------------------------------------------------------
// The run

/**
 * Runs the scenario.
 *
 * Input: how many messages, the seed, optional fault rates, drain limits and wait policy.
 * Output: the report (counts, observed faults, violations). When the run cannot finish (a pass
 * stops progressing, the rounds run out, a send is refused...) the report says why in `unfinished`,
 * with what Connect, the DLQ and the lane queues hold at that point. Throws only when the sandbox
 * itself cannot start.
 * Primary course: sandbox + pipeline with faults → send the mix → drain in rounds (clock, queue, redrive;
 * faults off after `faultyRounds`) → read Connect's tasks and the DLQ → compare with what was sent.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const faults: ChaosFaults = { ...DEFAULT_CHAOS_FAULTS, ...options.faults };
  const random = seededRandom(options.seed);
  const { events, sends } = buildMix({
    messages: options.messages,
    random,
    laneRandom: seededRandom(options.seed ^ 0x1a9e5),
    invalidShare: options.invalidShare ?? 0.2,
    upstreamDuplicateShare: options.upstreamDuplicateShare ?? 0.05,
    lifecycleShare: options.lifecycleShare ?? 0.3,
    lifecycleRandom: seededRandom(options.seed ^ 0x11fec),
  });

  const sandbox: Sandbox = await startSandbox({ port: 0, random });
  Object.assign(process.env, sandbox.environment, { START_TASK_RATE: '1000' });
  const clientConfig = {
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: SANDBOX_CREDENTIALS,
  };
  // The production Connect client (2 attempts, explicit timeouts), with a short request timeout.
  const connect = createConnectClient({ requestTimeoutMs: faults.clientTimeoutMs, maxAttempts: 2 });
  const sqs = new SQSClient(clientConfig);
  // No SDK retries: the injected DynamoDB errors reach the idempotency, ledger and rules code.
  const dynamodb = new DynamoDBClient({ ...clientConfig, maxAttempts: 1 });
  const functionTimeoutMs = (sandbox.config.functions.ingest?.timeout ?? 60) * 1000;
  const run: Run = {
    options,
    log,
    sandbox,
    sqs,
    laneQueueUrls: laneQueueUrlsFromEnv(),
    dlqUrl: sandbox.environment.DLQ_URL as string,
    tracker: createTracker(),
    policy: waitPolicy({ messages: sends.length, functionTimeoutMs }, options.wait),
    rounds: 0,
    clockAdvancedSeconds: 0,
    faultsOffFromRound: 0,
    redriveRuns: 0,
    redriveReplayed: 0,
    taskNotFoundReplayed: 0,
  };
  const watch = options.log ? setInterval(() => log(`… ${progressLine(run.tracker)}`), 5_000) : undefined;
  watch?.unref();
  let unfinished: string | undefined;
  let queued: Set<string> | undefined;
  try {
    try {
      await sendAndDrain(run, { connect, sqs, dynamodb }, faults, { events, sends, started });
    } catch (error) {
      unfinished = oneLine(error);
      log(`stopping: ${unfinished}`);
      queued = await stillQueued(run);
    }
    const report = compare({
      seed: options.seed,
      events,
      sends,
      tasks: sandbox.connect.contacts({ channel: 'TASK' }) as unknown as ChaosTask[],
      dlq: await readQueue(sqs, run.dlqUrl),
      connectCounts: sandbox.connect.callCounts().StartTaskContact ?? {},
      ...(unfinished !== undefined ? { unfinished, queued: queued ?? new Set<string>() } : {}),
      startedIn: run.tracker.startedIn,
      lifecycleOutcomes: run.tracker.lifecycleOutcomes,
    });
    return finish(report, run, started);
  } finally {
    clearInterval(watch);
    await run.pipeline?.stop();
    connect.destroy();
    sqs.destroy();
    dynamodb.destroy();
    await sandbox.stop();
  }
}

function progressLine(t: Tracker): string {
  const outcomes = Object.entries(t.recordOutcomes)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${t.invocations} invocations, ${t.killedInvocations} killed; ${outcomes}`;
}

/** The report with what the run observed beside the comparison. */
function finish(report: ChaosReport, run: Run, started: number): ChaosReport {
  const t = run.tracker;
  report.observed.killedInvocations = t.killedInvocations;
  report.observed.invocations = t.invocations;
  report.observed.recordOutcomes = t.recordOutcomes;
  report.observed.redriveReplayed = run.redriveReplayed;
  report.observed.redriveRuns = run.redriveRuns;
  report.observed.taskNotFoundReplayed = run.taskNotFoundReplayed;
  report.rounds = run.rounds;
  report.clockAdvancedSeconds = run.clockAdvancedSeconds;
  report.faultsOffFromRound = run.faultsOffFromRound;
  report.elapsedMs = Math.round(performance.now() - started);
  return report;
}

/** Rules, faults and pipeline on; the mix sent to the lanes; the first pass; the drain. */
async function sendAndDrain(
  run: Run,
  clients: IngestRuntime['clients'],
  faultSettings: ChaosFaults,
  mix: { events: readonly ChaosEvent[]; sends: readonly ChaosEvent[]; started: number },
): Promise<void> {
  const { sandbox, tracker } = run;
  const store = new DynamoRuleStore({
    client: sandbox.clients.dynamodb,
    tableName: sandbox.environment.RULES_TABLE as string,
    now: sandbox.clock.now,
  });
  for (const rule of CHAOS_RULES) await store.put(rule);

  // Read once, before startPipeline re-applies serverless.yml's environment (START_TASK_RATE 2).
  const config = {
    ...ingestConfigFromEnv(),
    ingestQueueUrl: run.laneQueueUrls.normal,
    laneQueueUrls: run.laneQueueUrls,
  };
  const makeIngest = (): IngestHandler =>
    createIngestHandler({
      config,
      clients,
      now: sandbox.clock.now,
      log: silentLogger,
      onOutcome: tracker.onOutcome,
    }) as unknown as IngestHandler;
  const pipelineWith = (killAfterRate: number) =>
    startPipeline(sandbox, {
      schedules: false,
      ...(killAfterRate > 0 ? { killAfterRate } : {}),
      handlers: { ingest: makeIngest },
      onInvocation: (name, info) => tracker.onInvocation(name, info as { killed?: boolean }),
    });

  const faults = startFaults(sandbox, faultSettings);
  try {
    run.pipeline = await pipelineWith(faultSettings.killAfterRate);
    run.log(
      `sending ${mix.sends.length} messages (${mix.events.length} events, seed ${run.options.seed}) to ${LANES.length} lanes`,
    );
    await Promise.all(
      LANES.map((lane) =>
        sendAll(
          run.sqs,
          run.laneQueueUrls[lane],
          mix.sends.filter((e) => e.lane === lane),
        ),
      ),
    );
    await pass(run, 'first pass');
    run.log(`first pass done after ${Math.round(performance.now() - mix.started)} ms`);
    await drain(run, faults, () => pipelineWith(0));
  } finally {
    faults.stop();
  }
}
