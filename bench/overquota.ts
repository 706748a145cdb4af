/**
 * `npm run bench -- overquota`: parked OVER_QUOTA events coming back when capacity frees.
 *
 * The instance's active-task quota is 20; 200 events arrive at once, so 20 become tasks and 180 are
 * parked. A pool of 20 simulated agents takes the active tasks and completes each after a random
 * handling time (5-25 s, no after-contact work); the scheduled redrive runs every 5 minutes, as
 * serverless.yml schedules it. Two variants run side by side in the same run, on the same seed:
 * - **timer**: every contact event is lost (the sandbox's fault mode), so only the redrive's timer
 *   (OVER_QUOTA_BACKOFF, 60 s doubling to 1 h) brings parked events back: what the service did before;
 * - **events**: contact events flow, and each COMPLETED releases the oldest waiting event at once.
 *
 * Time is the sandbox's movable clock: the pipeline runs in real time, and whenever it is idle the
 * clock jumps to the next agent completion or redrive tick. So both variants take seconds of real
 * time, and every figure is in the service's own time, processing included.
 *
 * Figures per variant: the time from a slot freeing to the next parked event's task being created
 * (p50 / p99; the k-th creation after the first wave pairs with the k-th freed slot), StartTaskContact
 * calls per created task (the 402s included), and the drain time (first send → last task).
 */
import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { seededRandom } from '#common/random.ts';
import { FLOW_ID, INSTANCE_ID } from '#common/world.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import { type Sandbox, startSandbox } from '#sandbox/index.ts';
import { type Pipeline, startPipeline } from '#sandbox/pipeline.ts';
import { percentile, type Reporter } from './report.ts';

const SOURCE = 'com.example.overquota';
const REDRIVE_EVERY_MS = 5 * 60_000;
const TARGETS = { p50: 5, p99: 30, callsPerTask: 1.1 };

export interface OverQuotaOptions {
  quick: boolean;
}

interface Spec {
  quota: number;
  events: number;
  agents: number;
  handleMs: readonly [number, number];
  seed: number;
}

type Variant = 'timer' | 'events';

interface VariantResult {
  variant: Variant;
  created: number;
  calls: number;
  refused: number;
  /** Per parked event created: seconds from its slot freeing to its task. */
  latencies: number[];
  drainSeconds: number;
  redriveRuns: number;
  realSeconds: number;
}

/** One agent's task in hand: which contact, and when (service time) it will be done. */
interface Assignment {
  contactId: string;
  doneAt: number;
}

async function agentAction(sandbox: Sandbox, contactId: string, action: 'accept' | 'complete') {
  const res = await fetch(`${sandbox.endpoint}/_sandbox/contacts/${contactId}/${action}`, {
    method: 'POST',
    body: '{}',
  });
  if (res.status !== 200) throw new Error(`${action} ${contactId}: ${res.status} ${await res.text()}`);
}

async function sendEvents(sandbox: Sandbox, source: string, count: number, run: string): Promise<void> {
  const queueUrl = sandbox.environment.INGEST_QUEUE_URL as string;
  for (let i = 0; i < count; i += 10) {
    const entries = Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
      Id: String(j),
      MessageBody: JSON.stringify({
        specversion: '1.0',
        source,
        id: `${run}-${i + j}`,
        type: 'overquota.event',
        data: { n: i + j },
      }),
    }));
    await sandbox.clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
}

/** The agents: free ones take active tasks; done ones complete theirs (the slot frees now). */
async function agentsStep(
  sandbox: Sandbox,
  spec: Spec,
  hands: Map<string, Assignment>,
  random: () => number,
  freed: number[],
): Promise<void> {
  const t = sandbox.clock.now();
  for (const [contactId, job] of [...hands]) {
    if (job.doneAt > t) continue;
    await agentAction(sandbox, contactId, 'complete');
    freed.push(sandbox.clock.now());
    hands.delete(contactId);
  }
  const waiting = sandbox.connect
    .contacts({ channel: 'TASK', state: 'ACTIVE' })
    .filter((c) => !hands.has(c.ContactId));
  for (const contact of waiting) {
    if (hands.size >= spec.agents) break;
    await agentAction(sandbox, contact.ContactId, 'accept');
    const [min, max] = spec.handleMs;
    hands.set(contact.ContactId, {
      contactId: contact.ContactId,
      doneAt: sandbox.clock.now() + min + random() * (max - min),
    });
  }
}

async function drain(sandbox: Sandbox, pipeline: Pipeline, spec: Spec, random: () => number) {
  const hands = new Map<string, Assignment>();
  const freed: number[] = [];
  const started = sandbox.clock.now();
  let nextRedrive = started + REDRIVE_EVERY_MS;
  let redriveRuns = 0;
  const redrive = pipeline.schedules().find((name) => name.endsWith('-dlq-redrive'));
  const created = () => sandbox.connect.contacts({ channel: 'TASK' }).length;
  for (let steps = 0; created() < spec.events || hands.size > 0; steps += 1) {
    if (steps > 100_000) throw new Error('overquota bench: no progress');
    if (process.env.OVERQUOTA_TRACE) {
      process.stderr.write(
        `step ${steps}: created ${created()}, agents busy ${hands.size}, freed ${freed.length}\n`,
      );
    }
    await pipeline.idle();
    await agentsStep(sandbox, spec, hands, random, freed);
    if (sandbox.clock.now() >= nextRedrive && redrive) {
      await pipeline.runSchedule(redrive);
      redriveRuns += 1;
      nextRedrive += REDRIVE_EVERY_MS;
      continue;
    }
    await pipeline.idle();
    const next = Math.min(nextRedrive, ...[...hands.values()].map((h) => h.doneAt));
    const ahead = next - sandbox.clock.now();
    if (ahead > 0) sandbox.clock.advance(ahead);
  }
  return { freed, started, redriveRuns };
}

/** One sandbox and pipeline for both variants (the functions' clients are built once per process). */
interface Stage {
  sandbox: Sandbox;
  pipeline: Pipeline;
}

async function runVariant(
  { sandbox, pipeline }: Stage,
  variant: Variant,
  spec: Spec,
): Promise<VariantResult> {
  const realStart = performance.now();
  const source = `${SOURCE}.${variant}`;
  sandbox.connect.reset();
  await new DynamoRuleStore({
    client: sandbox.clients.dynamodb,
    tableName: sandbox.environment.RULES_TABLE as string,
    now: sandbox.clock.now,
  }).put({
    source,
    ruleId: 'overquota',
    instanceId: INSTANCE_ID,
    target: { contactFlowId: FLOW_ID },
    mapping: { name: "'Event ' & $string(data.n)" },
  });
  // Each variant starts as a fresh stage: no slot of the instance taken by the service's tasks.
  await new DynamoLedger({
    client: sandbox.clients.dynamodb,
    tableName: sandbox.environment.LEDGER_TABLE as string,
  }).setSlots(INSTANCE_ID, 0);
  sandbox.connect.configure({
    activeTaskQuota: spec.quota,
    contactEvents: { dropRate: variant === 'timer' ? 1 : 0 },
  });
  await sendEvents(sandbox, source, spec.events, `${variant}-${randomUUID().slice(0, 8)}`);
  const { freed, started, redriveRuns } = await drain(sandbox, pipeline, spec, seededRandom(spec.seed + 1));
  const creations = sandbox.connect
    .contacts({ channel: 'TASK' })
    .map((c) => Date.parse(c.InitiationTimestamp))
    .sort((a, b) => a - b);
  const parked = creations.slice(spec.quota);
  const frees = [...freed].sort((a, b) => a - b);
  const latencies = parked.map((at, k) => (at - (frees[k] ?? at)) / 1000);
  const counts = sandbox.connect.callCounts().StartTaskContact ?? {};
  const calls = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return {
    variant,
    created: creations.length,
    calls,
    refused: counts.ServiceQuotaExceededException ?? 0,
    latencies,
    drainSeconds: ((creations.at(-1) ?? started) - started) / 1000,
    redriveRuns,
    realSeconds: (performance.now() - realStart) / 1000,
  };
}

async function runBoth(spec: Spec): Promise<VariantResult[]> {
  const sandbox = await startSandbox({ port: 0, random: seededRandom(spec.seed) });
  try {
    const pipeline = await startPipeline(sandbox, { schedules: false });
    // The stage's activeTaskQuota param, as a deployment that knows its quota sets it: the function
    // instances read it when they start, after the pipeline applied the sandbox environment.
    process.env.ACTIVE_TASK_QUOTA = String(spec.quota);
    try {
      const results: VariantResult[] = [];
      for (const variant of ['timer', 'events'] as const) {
        results.push(await runVariant({ sandbox, pipeline }, variant, spec));
      }
      return results;
    } finally {
      await pipeline.stop();
    }
  } finally {
    await sandbox.stop();
  }
}

export async function overQuotaBench(report: Reporter, options: OverQuotaOptions): Promise<void> {
  const spec: Spec = options.quick
    ? { quota: 5, events: 30, agents: 5, handleMs: [5_000, 25_000], seed: 20241206 }
    : { quota: 20, events: 200, agents: 20, handleMs: [5_000, 25_000], seed: 20241206 };
  report.line(
    `overquota: active-task quota ${spec.quota}, ${spec.events} events at once, ${spec.agents} agents handling each task 5-25 s; ` +
      'timer = contact events lost, only the 5-minute redrive brings parked events back; events = each COMPLETED releases one',
  );
  const results = await runBoth(spec);
  const rows = results.map((r) => [
    r.variant,
    r.created,
    percentile(r.latencies, 50),
    percentile(r.latencies, 99),
    r.calls / Math.max(1, r.created),
    r.refused,
    r.drainSeconds,
    r.redriveRuns,
    r.realSeconds,
  ]);
  report.table(
    'Parked events coming back when a slot frees (service time, the sandbox clock)',
    [
      'variant',
      'tasks',
      'free→task p50 s',
      'p99 s',
      'calls/task',
      '402s',
      'drain s',
      'redrive runs',
      'real s',
    ],
    rows,
  );
  for (const r of results) {
    report.json('overquota', {
      variant: r.variant,
      tasks: r.created,
      p50Seconds: percentile(r.latencies, 50),
      p99Seconds: percentile(r.latencies, 99),
      callsPerTask: r.calls / Math.max(1, r.created),
      refused402: r.refused,
      drainSeconds: r.drainSeconds,
      redriveRuns: r.redriveRuns,
    });
  }
  const events = results.find((r) => r.variant === 'events');
  if (!events) return;
  const note = `events variant; timer variant beside it: p50 ${percentile(results[0]?.latencies ?? [], 50).toFixed(1)} s`;
  report.check({
    bench: 'overquota',
    figure: 'free→task p50',
    value: percentile(events.latencies, 50),
    unit: 's',
    target: { op: '<=', limit: TARGETS.p50 },
    note,
  });
  report.check({
    bench: 'overquota',
    figure: 'free→task p99',
    value: percentile(events.latencies, 99),
    unit: 's',
    target: { op: '<=', limit: TARGETS.p99 },
  });
  report.check({
    bench: 'overquota',
    figure: 'calls per task',
    value: events.calls / Math.max(1, events.created),
    unit: '',
    target: { op: '<=', limit: TARGETS.callsPerTask },
  });
}
