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
 * What it does, on an embedded sandbox with the real pipeline (poller → ingest and contactEvents
 * handlers built by the same factories as functions/ingest.ts and functions/contact-events.ts →
 * DynamoDB/SQS/EventBridge/Connect over loopback):
 *  1. stores one rule per upstream shape (CloudEvents, EventBridge, SNS, raw JSON with a template),
 *     each asking for outcomes (`notify`); the EventBridge rule puts its events in the urgent lane, the
 *     raw JSON one in the bulk lane;
 *  2. sends, each to one of the three lane queues (urgent, normal, bulk; seeded, from a generator of
 *     its own so the mix itself does not depend on it), a seeded mix of valid events (some sent
 *     twice by "upstream"), and invalid ones (malformed JSON, no source, no rule, a Name over the
 *     limit, an INACTIVE template, a mapping that yields an object, an invalid EMAIL reference),
 *     each tagged with a `chaosEvent` message attribute that every rule maps into the task's
 *     Attributes and that the DLQ keeps;
 *  3. while they flow, Connect injects 500s, 429s and 402s, loses responses (task created, caller sees
 *     a 500), and in short "slow" windows holds every StartTaskContact beyond the client timeout (both
 *     as added latency before the call and as a lost response held after it); the active-task quota
 *     produces real 402s; the poller "crashes" after the handler returned and before the deletes (of
 *     both functions); SQS delivers duplicates; DynamoDB calls fail now and then (the functions'
 *     DynamoDB client does not retry, so they reach our code); contact events are repeated, dropped
 *     and delayed out of order (bench/chaos/faults.ts); PutEvents "crashes" before or after the bus;
 *     simulated agents accept and complete tasks, some with after-contact work (bench/chaos/agents.ts);
 *  4. drains in rounds: move the clock past every visibility timeout and backoff, let the queues run
 *     dry, run the contact events sweep and the scheduled redrive; after `faultyRounds` rounds the
 *     faults and the agents are switched off (the final drain is clean), until the ingest queue is
 *     empty and the DLQ holds no OVER_QUOTA message. Then it settles: the contact events sweep with the
 *     clock moved past every reconcile check, until a step finds nothing due. Each pass waits as long
 *     as it progresses (bench/chaos/wait.ts); a pass that stops progressing, or any failure of the run
 *     itself, ends the run early with the reason and what it holds so far;
 *  5. compares: tasks vs distinct valid events (by ClientToken, by Name, by event), DLQ entries vs the
 *     invalid events (each with class + code, the code expected for its kind), every sent event
 *     accounted for, and no InvalidParameter/InvalidRequest/ResourceNotFound ever counted by Connect;
 *     per lane (the lane each event was sent to): lost and duplicated, and every task started in its
 *     rule's lane, or in the lane it was sent to when its rule names none; the outcome bus against the
 *     end state and every task's ledger entry against the emulator (common/chaos/outcomes.ts). An
 *     unfinished run is compared too, what is still in a lane queue or parked for a replay counted as
 *     pending (its outcomes and ledger are not checked).
 *
 * Determinism: the message mix and every fault draw come from seeded generators (the contact event
 * faults' seed is drawn from the run's); the interleaving of concurrent invocations (and so which draw
 * hits which call, and which tasks the agents find queued) still varies between runs.
 */
import { performance } from 'node:perf_hooks';
import type { ConnectClient } from '@aws-sdk/client-connect';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ChaosTask } from '#common/chaos/reads.ts';
import { type ChaosReport, compare } from '#common/chaos/report.ts';
import { buildMix, CHAOS_RULES, type ChaosEvent } from '#common/chaos/scenario.ts';
import { seededRandom } from '#common/random.ts';
import { createConnectClient } from '#lib/aws/connect.ts';
import { ingestConfigFromEnv, laneQueueUrlsFromEnv, redriveConfigFromEnv } from '#lib/config.ts';
import { FIRST_CHECK_MS, type SweepSummary } from '#lib/contact-events/sweep.ts';
import { createIngestHandler } from '#lib/ingest/handler.ts';
import { LANES, type LaneQueueUrls } from '#lib/lanes.ts';
import { silentLogger } from '#lib/observability/logger.ts';
import { runRedrive } from '#lib/redrive/redrive.ts';
import { createSqsPort } from '#lib/redrive/sqs-port.ts';
import { MAX_VISIBILITY_SECONDS } from '#lib/retry/backoff.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#sandbox/index.ts';
import { type Pipeline, startPipeline } from '#sandbox/pipeline.ts';
import { PollerIdleTimeoutError } from '#sandbox/poller.ts';
import type { IngestHandler } from '../workload.ts';
import { type AgentShares, type Agents, createAgents, DEFAULT_AGENT_SHARES } from './agents.ts';
import { ChaosRunError } from './errors.ts';
import {
  type ChaosFaults,
  crashPutEvents,
  DEFAULT_CHAOS_FAULTS,
  type PutEventsCrashes,
  startFaults,
} from './faults.ts';
import {
  addSweep,
  contactEventsFunction,
  createOutcomeReader,
  type OutcomeReader,
  readLedger,
  type SweepFigures,
} from './loop.ts';
import { queueDepth, readQueue, sendAll } from './queues.ts';
import { createTracker, type Tracker } from './tracker.ts';
import { type PassProbe, type Progress, type WaitPolicy, waitForPass, waitPolicy } from './wait.ts';

// ------------------------------------------------------------------------------------------------
// Options

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
  /** What the simulated agents do while the faults are on (default bench/chaos/agents.ts's shares). */
  agents?: Partial<AgentShares>;
  /** Progress lines (default: silent). */
  log?: (line: string) => void;
}

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
  /** The outcome bus, read back as the run goes. */
  outcomes: OutcomeReader;
  crashes: PutEventsCrashes;
  agents: Agents;
  sweeps: SweepFigures;
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
  run.outcomes.read();
  return {
    'records handled': run.tracker.recordsHandled,
    invocations: run.tracker.invocations,
    'contact event invocations': run.tracker.contactEventInvocations,
    'tasks created': calls.StartTaskContact?.['200'] ?? 0,
    'Connect calls': Object.values(calls).reduce((s, byOutcome) => s + sum(byOutcome), 0),
    'lane queues visible': lanes.reduce((s, d) => s + d.visible, 0),
    'lane queues hidden': lanes.reduce((s, d) => s + d.hidden, 0),
    'DLQ messages': dlq.visible + dlq.hidden,
    'outcomes published': run.outcomes.published.length,
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
  run.outcomes.read();
  if (!outcome.idle) throw new ChaosRunError(outcome.reason);
}

function advance(run: Run, seconds: number): void {
  run.sandbox.clock.advance(seconds * 1000);
  run.clockAdvancedSeconds += seconds;
}

// ------------------------------------------------------------------------------------------------
// The drain

/**
 * The scheduled redrive, then (once the faults are off, unless `scheduledOnly`) what ops do with
 * TaskNotFound.
 */
async function redrive(run: Run, scheduledOnly = false): Promise<{ replayed: number; deferred: number }> {
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
  if (run.faultsOffFromRound !== 0 && !scheduledOnly) {
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
 * One run of the contactEvents function's sweep schedule (`{action: 'sweep'}`), as the scheduler
 * invokes it. Under the faults it may fail (a DynamoDB error): counted, and the next run goes on.
 */
async function sweepContacts(run: Run): Promise<SweepSummary | undefined> {
  const name = run.pipeline?.schedules().find((n) => n.endsWith('-contact-sweep'));
  if (name === undefined) throw new ChaosRunError('serverless.yml has no contact events sweep schedule');
  const summary = (await run.pipeline?.runSchedule(name).catch(() => undefined)) as SweepSummary | undefined;
  addSweep(run.sweeps, summary);
  return summary;
}

/**
 * One drain round: the agents' last work before the clock moves (faulty rounds), the clock past every
 * visibility timeout and backoff, the queues run dry, the contact events sweep, the redrive. True
 * when nothing is left in a lane queue or waiting in the DLQ for a replay.
 */
async function drainRound(run: Run, round: number, faulty: boolean): Promise<boolean> {
  if (faulty) {
    // Accept what is queued, then complete what was just accepted: the clock move below expires the rest.
    await run.agents.tick();
    await run.agents.tick();
  }
  advance(run, run.options.roundSeconds ?? 400);
  await pass(run, `round ${round}, drain`);
  await sweepContacts(run);
  const summary = await redrive(run);
  await pass(run, `round ${round}, after the sweep and the redrive`);
  const overQuota = (await readQueue(run.sqs, run.dlqUrl)).filter((e) => e.failureClass === 'OVER_QUOTA');
  const lanes = await Promise.all(LANES.map((lane) => queueDepth(run.sqs, run.laneQueueUrls[lane])));
  const inLanes = lanes.reduce((s, d) => s + d.visible + d.hidden, 0);
  // Deferred by the redrive (hidden until due): not done yet, even though a read cannot see them.
  const dlqHidden = (await queueDepth(run.sqs, run.dlqUrl)).hidden;
  run.log(
    `round ${round}: replayed ${summary.replayed}, deferred ${summary.deferred}, OVER_QUOTA left ${overQuota.length + dlqHidden}, lane queues ${inLanes}`,
  );
  return overQuota.length + dlqHidden + inLanes === 0;
}

/**
 * Drains in rounds until the lane queues are empty and nothing waits in the DLQ for a replay, the
 * faults (and the agents) off from round `faultyRounds + 1` on. Throws ChaosRunError when a pass is
 * stuck or the rounds run out.
 */
async function drain(
  run: Run,
  faults: { stop(): Promise<void> },
  restart: () => Promise<Pipeline>,
): Promise<void> {
  const { faultyRounds = 3, maxRounds = 40 } = run.options;
  while (run.rounds < maxRounds) {
    run.rounds += 1;
    const round = run.rounds;
    if (round > faultyRounds && run.faultsOffFromRound === 0) {
      run.faultsOffFromRound = round;
      await run.agents.stop();
      await faults.stop();
      await run.pipeline?.stop();
      run.pipeline = await restart();
      run.log(`round ${round}: faults and agents off for the final drain`);
    }
    const done = await drainRound(run, round, run.faultsOffFromRound === 0);
    if (done && run.faultsOffFromRound !== 0) return;
  }
  throw new ChaosRunError(`the queues did not drain within ${maxRounds} rounds`);
}

/** Each settling step moves the clock past a new task's first reconcile check (an hour) and more. */
const SETTLE_STEP_SECONDS = FIRST_CHECK_MS / 1000 + 300;
const MAX_SETTLE_STEPS = 8;
/** Sweep runs per step at most: each reads up to 100 items per partition. */
const MAX_SWEEPS_PER_STEP = 500;

/**
 * After the drain: the contact events sweep with the clock moved past every reconcile check (an open
 * task's first is an hour after its creation, a disconnected one's two minutes after the disconnect),
 * then the scheduled redrive, run until a step finds nothing due, with the pipeline idle in between (a
 * release sends waiting events back, an expiry publishes contact events). Throws ChaosRunError when it does not settle.
 */
async function settle(run: Run): Promise<void> {
  for (let step = 1; step <= MAX_SETTLE_STEPS; step += 1) {
    advance(run, SETTLE_STEP_SECONDS);
    await run.sandbox.connect.contactEvents.flush();
    await pass(run, `settling, step ${step}`);
    let found = 0;
    for (let i = 0; i < MAX_SWEEPS_PER_STEP; i += 1) {
      const summary = await sweepContacts(run);
      const did = summary === undefined ? 1 : summary.drained + summary.checked;
      found += did;
      if (did === 0) break;
    }
    await run.sandbox.connect.contactEvents.flush();
    await pass(run, `settling, step ${step}, after the sweep`);
    // A release by the sweep sends a waiting event back, which the emulator may refuse (402) and
    // ingest park again: the scheduled redrive keeps running, as it does deployed.
    const { replayed } = await redrive(run, true);
    if (replayed > 0) await pass(run, `settling, step ${step}, after the redrive`);
    found += replayed;
    run.log(`settling, step ${step}: the sweep and the redrive found ${found} items due`);
    if (found === 0) return;
  }
  throw new ChaosRunError(`the contact events sweep still found work after ${MAX_SETTLE_STEPS} steps`);
}

/**
 * After the run stopped early: the tracking ids still in a lane queue. The pipeline is stopped and
 * the clock moved past the longest visibility timeout SQS allows, so every message a stopped
 * invocation held, a backoff hid or the redrive deferred shows again (in the DLQ too, for its read).
 */
async function stillQueued(run: Run): Promise<Set<string>> {
  await run.pipeline?.stop();
  advance(run, MAX_VISIBILITY_SECONDS);
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

/** The run's clients: the ingest's, and the EventBridge client both functions publish outcomes with. */
interface Clients {
  connect: ConnectClient;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  eventbridge: EventBridgeClient;
}

function createClients(
  sandbox: Sandbox,
  faults: ChaosFaults,
  crash: { crashes: PutEventsCrashes; random: () => number },
): Clients {
  const clientConfig = {
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: SANDBOX_CREDENTIALS,
  };
  return {
    // The production Connect client (2 attempts, explicit timeouts), with a short request timeout.
    connect: createConnectClient({ requestTimeoutMs: faults.clientTimeoutMs, maxAttempts: 2 }),
    sqs: new SQSClient(clientConfig),
    // No SDK retries: the injected DynamoDB errors reach the idempotency, ledger and rules code.
    dynamodb: new DynamoDBClient({ ...clientConfig, maxAttempts: 1 }),
    eventbridge: crashPutEvents(new EventBridgeClient(clientConfig), crash.crashes, crash.random),
  };
}

/** What the run reads at its end: the emulator's tasks, the DLQ, and (finished) the bus and the ledger. */
async function endState(run: Run, finished: boolean) {
  await run.sandbox.connect.contactEvents.flush();
  run.outcomes.read();
  const tasks = run.sandbox.connect.contacts({ channel: 'TASK' }) as unknown as ChaosTask[];
  const tokens = tasks.flatMap((t) => (t.ClientToken === undefined ? [] : [t.ClientToken]));
  const loop = finished
    ? {
        published: run.outcomes.published,
        unread: run.outcomes.unread(),
        ledger: await readLedger(
          run.sandbox.clients.dynamodb,
          run.sandbox.environment.LEDGER_TABLE as string,
          tokens,
        ),
      }
    : undefined;
  return { tasks, dlq: await readQueue(run.sqs, run.dlqUrl), ...(loop ? { loop } : {}) };
}

/**
 * Runs the scenario.
 *
 * Input: how many messages, the seed, optional fault rates, drain limits and wait policy.
 * Output: the report (counts, observed faults, violations). When the run cannot finish (a pass
 * stops progressing, the rounds run out, a send is refused...) the report says why in `unfinished`,
 * with what Connect, the DLQ and the lane queues hold at that point. Throws only when the sandbox
 * itself cannot start.
 * Primary course: sandbox + pipeline with faults and agents → send the mix → drain in rounds (clock,
 * queue, contact events sweep, redrive; faults off after `faultyRounds`) → settle the ledger with the
 * sweep → read Connect's tasks, the DLQ, the outcome bus and the ledger → compare with what was sent.
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
  // Drawn after the mix, so the mix stays what it was.
  const contactEventSeed = Math.floor(random() * 2 ** 32);

  const sandbox: Sandbox = await startSandbox({ port: 0, random });
  // The budgets of StartTaskContact and of the sweep's DescribeContact far above what the run needs.
  Object.assign(process.env, sandbox.environment, { START_TASK_RATE: '1000', DESCRIBE_CONTACT_RATE: '1000' });
  const crashes: PutEventsCrashes = { rate: 0, calls: 0, crashedBefore: 0, crashedAfter: 0 };
  const clients = createClients(sandbox, faults, { crashes, random: seededRandom(options.seed ^ 0xeb0c5) });
  const functionTimeoutMs = (sandbox.config.functions.ingest?.timeout ?? 60) * 1000;
  const run: Run = {
    options,
    log,
    sandbox,
    sqs: clients.sqs,
    laneQueueUrls: laneQueueUrlsFromEnv(),
    dlqUrl: sandbox.environment.DLQ_URL as string,
    tracker: createTracker(),
    policy: waitPolicy({ messages: sends.length, functionTimeoutMs }, options.wait),
    outcomes: createOutcomeReader(sandbox.events, sandbox.environment.OUTCOME_BUS_NAME as string),
    crashes,
    agents: createAgents({
      endpoint: sandbox.endpoint,
      activeTasks: () => sandbox.connect.contacts({ channel: 'TASK', state: 'ACTIVE' }),
      random: seededRandom(options.seed ^ 0xa9e47),
      shares: { ...DEFAULT_AGENT_SHARES, ...options.agents },
    }),
    sweeps: { runs: 0, failed: 0, checked: 0, closed: 0, confirmed: 0, drained: 0 },
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
      await sendAndDrain(run, clients, faults, { events, sends, started, contactEventSeed });
      await settle(run);
    } catch (error) {
      unfinished = oneLine(error);
      log(`stopping: ${unfinished}`);
      await run.agents.stop().catch(() => {});
      queued = await stillQueued(run);
    }
    const report = compare({
      seed: options.seed,
      events,
      sends,
      ...(await endState(run, unfinished === undefined)),
      connectCounts: sandbox.connect.callCounts().StartTaskContact ?? {},
      ...(unfinished !== undefined ? { unfinished, queued: queued ?? new Set<string>() } : {}),
      startedIn: run.tracker.startedIn,
      lifecycleOutcomes: run.tracker.lifecycleOutcomes,
    });
    return finish(report, run, started);
  } finally {
    clearInterval(watch);
    await run.agents.stop().catch(() => {});
    await run.pipeline?.stop();
    for (const client of Object.values(clients)) client.destroy();
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
  const o = report.observed;
  o.killedInvocations = t.killedInvocations;
  o.invocations = t.invocations;
  o.recordOutcomes = t.recordOutcomes;
  o.redriveReplayed = run.redriveReplayed;
  o.redriveRuns = run.redriveRuns;
  o.taskNotFoundReplayed = run.taskNotFoundReplayed;
  const { emitted, delivered, dropped, repeated } = run.sandbox.connect.contactEvents.stats();
  o.contactEvents = { emitted, delivered, dropped, repeated };
  o.contactEventInvocations = t.contactEventInvocations;
  o.killedContactEventInvocations = t.killedContactEventInvocations;
  const { calls, crashedBefore, crashedAfter } = run.crashes;
  o.putEvents = { calls, crashedBefore, crashedAfter };
  o.agents = { ...run.agents.figures };
  o.contactSweeps = { ...run.sweeps };
  report.rounds = run.rounds;
  report.clockAdvancedSeconds = run.clockAdvancedSeconds;
  report.faultsOffFromRound = run.faultsOffFromRound;
  report.elapsedMs = Math.round(performance.now() - started);
  return report;
}

/** Rules, faults, agents and pipeline on; the mix sent to the lanes; the first pass; the drain. */
async function sendAndDrain(
  run: Run,
  clients: Clients,
  faultSettings: ChaosFaults,
  mix: {
    events: readonly ChaosEvent[];
    sends: readonly ChaosEvent[];
    started: number;
    contactEventSeed: number;
  },
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
  const makeContactEvents = contactEventsFunction(clients, sandbox.clock.now);
  const pipelineWith = (killAfterRate: number) =>
    startPipeline(sandbox, {
      schedules: false,
      ...(killAfterRate > 0 ? { killAfterRate } : {}),
      handlers: { ingest: makeIngest, contactEvents: makeContactEvents },
      onInvocation: (name, info) => tracker.onInvocation(name, info as { killed?: boolean }),
    });

  const faults = startFaults(sandbox, faultSettings, {
    crashes: run.crashes,
    contactEventSeed: mix.contactEventSeed,
  });
  try {
    run.pipeline = await pipelineWith(faultSettings.killAfterRate);
    run.agents.start();
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
    await faults.stop();
  }
}
