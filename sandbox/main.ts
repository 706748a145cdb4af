/**
 * `npm start`: the sandbox in the foreground, with the whole pipeline running on it.
 *
 *   npm start                     sandbox + pipeline + demo, live summary; Ctrl-C stops
 *   npm start -- --once           drain the demo, print the summary, exit 0
 *   npm start -- --port 4567      another port (or SANDBOX_PORT)
 *   npm start -- --data-dir DIR   persist DynamoDB data
 *   npm start -- --no-pipeline    only the AWS endpoints (npm run sandbox)
 *   npm start -- --no-demo        pipeline without the sample data
 */
import { parseArgs } from 'node:util';
import { formatInTimeZone } from '#lib/schedules/expression.ts';
import { formatSummary, loadManifest, seedDemo, sendDemoMessages, summarize } from './demo.ts';
import { sandboxPortFromEnv, startSandbox } from './index.ts';
import { startPipeline } from './pipeline.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    once: { type: 'boolean', default: false },
    'no-pipeline': { type: 'boolean', default: false },
    'no-demo': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log(
    'usage: npm start [-- --once] [--port N] [--data-dir DIR] [--no-pipeline] [--no-demo]\n' +
      'Starts the local sandbox (DynamoDB, SQS, Connect on one loopback endpoint) and runs the pipeline on it.',
  );
  process.exit(0);
}

const port = values.port === undefined ? sandboxPortFromEnv() : Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`--port must be an integer 0..65535, got "${values.port}"`);
  process.exit(2);
}

// Quiet function logs in the foreground demo unless asked for (POWERTOOLS_LOG_LEVEL=INFO shows them).
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
// Local tooling runs on Node 20 (Lambda runs nodejs22.x); the SDK's Node 22 notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';

const sandbox = await startSandbox({
  port,
  ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
}).catch((error: unknown) => {
  // Another sandbox (or anything else) on the port: say so and how to pick another, no stack trace.
  if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
  console.error(
    `port ${port} is in use (another sandbox running?): stop it, or pick another port with npm start -- --port 4567, or SANDBOX_PORT=0 for a free one`,
  );
  process.exit(1);
});

const banner = [
  '',
  `connect-task-ingest sandbox on ${sandbox.endpoint} (stage "${sandbox.stage}")`,
  '  DynamoDB, SQS and the Connect task API answer there; admin API under /_sandbox/',
  '  point any AWS SDK or CLI at it:',
  `    export AWS_ENDPOINT_URL=${sandbox.endpoint} AWS_REGION=${sandbox.region} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test`,
  `    export INGEST_QUEUE_URL=${sandbox.environment.INGEST_QUEUE_URL} DLQ_URL=${sandbox.environment.DLQ_URL}`,
  `  queues: ${Object.values(sandbox.resources.queues)
    .map((q) => q.name)
    .join(', ')}`,
  `  tables: ${Object.values(sandbox.resources.tables)
    .map((t) => t.name)
    .join(', ')}`,
  values.once ? '' : '  Ctrl-C stops.',
  '',
].join('\n');
console.log(banner);

let stopping = false;
let sent = 0;
let pipeline: Awaited<ReturnType<typeof startPipeline>> | undefined;
const shutdown = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await pipeline?.stop();
  await sandbox.stop();
  process.exit(code);
};
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/**
 * What --once shows after the drain, on the sandbox's movable clock (hours pass in an instant):
 * 1. the sample escalation plan comes due and the transfer sweep performs it;
 * 2. with the instance at its active-task quota, one more event is parked in the DLQ as OVER_QUOTA;
 * 3. an agent accepts a task and completes it; its COMPLETED contact event frees the slot, the parked
 *    event is created seconds later (not at its backoff), and the publisher gets its outcomes;
 * 4. the task schedules start (paused until now, so nothing earlier is invented) and the clock moves to
 *    the next occurrence of any of them: one task per occurrence appears.
 */
/** Connect's default active-task quota, restored once the demo has shown a slot freeing. */
const DEFAULT_ACTIVE_TASK_QUOTA = 2500;

/** `POST /_sandbox/contacts/<id>/<action>`, as an agent's desktop would act on the task. */
async function agent(contactId: string, action: 'accept' | 'complete', body: object = {}): Promise<void> {
  const res = await fetch(`${sandbox.endpoint}/_sandbox/contacts/${contactId}/${action}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${action} ${contactId}: ${res.status} ${await res.text()}`);
}

/** Step 3 of --once: a slot frees and the parked event comes back at once. */
async function agentFreesASlot(): Promise<void> {
  if (!pipeline) return;
  const active = sandbox.connect.contacts({ channel: 'TASK', state: 'ACTIVE' });
  const task = active.find((c) => c.Name?.startsWith('Case 1001')) ?? active[0];
  if (!task) return;
  const short = `${task.ContactId.slice(0, 4)}…`;
  console.log(`\n▸ an agent accepts task ${short} and completes it, with 30 s of after-contact work`);
  await agent(task.ContactId, 'accept');
  await agent(task.ContactId, 'complete', { afterContactWorkSeconds: 30 });
  sandbox.clock.advance(30_000);
  const freedAt = performance.now();
  await pipeline.idle();
  const bus = sandbox.environment.OUTCOME_BUS_NAME as string;
  for (const { event } of sandbox.events.kept(bus).events) {
    const outcome = event.detail as { type: string; subject: string; data: Record<string, unknown> };
    if (outcome.subject !== task.ContactId) continue;
    console.log(
      `  ⇢ the publisher gets ${[outcome.type, describeOutcome(outcome.data)].filter(Boolean).join(' ')}`,
    );
  }
  const created = sandbox.connect.contacts({ channel: 'TASK' }).find((c) => c.Name?.startsWith('Case 1002'));
  if (created) {
    const seconds = ((performance.now() - freedAt) / 1000).toFixed(1);
    console.log(`  ✓ the parked event is a task within ${seconds} s of the slot freeing: ${created.Name}`);
  }
}

/** One line of an outcome's data: who, how it ended. */
function describeOutcome(data: Record<string, unknown>): string {
  const agentId = (data.agent as { id?: string } | undefined)?.id;
  const completion = data.completion as { disconnectReason?: string; afterContactWork?: unknown } | undefined;
  const parts = [
    agentId ? `(agent ${agentId.slice(0, 4)}…)` : '',
    completion?.disconnectReason ? completion.disconnectReason : '',
    completion?.afterContactWork ? 'after-contact work done' : '',
  ];
  return parts.filter(Boolean).join(', ');
}

async function onceScenario(): Promise<void> {
  if (!pipeline) return;
  const run = async (part: string) => {
    const name = pipeline?.schedules().find((n) => n.includes(part));
    if (name) await pipeline?.runSchedule(name);
  };
  const step = (text: string) => console.log(`\n▸ ${text}`);

  const pending = (await summarize(sandbox, sent)).transfers.filter((t) => t.status === 'PENDING');
  if (pending.length > 0) {
    const ms = Math.max(0, Math.max(...pending.map((t) => t.dueAt)) - sandbox.clock.now()) + 60_000;
    sandbox.clock.advance(ms);
    step(
      `sandbox clock +${Math.round(ms / 60_000)} min: the escalation plan is due; running the transfer sweep`,
    );
    await run('transfer');
  }

  const manifest = values['no-demo'] ? undefined : loadManifest();
  if (manifest?.overQuota) {
    const active = sandbox.connect.contacts({ channel: 'TASK', state: 'ACTIVE' }).length;
    sandbox.connect.configure({ activeTaskQuota: active });
    step(`the instance allows ${active} active tasks and has ${active}: one more event arrives`);
    sent += await sendDemoMessages(sandbox, manifest, [manifest.overQuota]);
    await pipeline.idle();
    const parked = (await summarize(sandbox, sent)).dlq.filter((d) => d.class === 'OVER_QUOTA');
    for (const d of parked) console.log(`  ✗ ${d.class} ${d.code}: ${d.reason}`);

    await agentFreesASlot();
    sandbox.connect.configure({ activeTaskQuota: DEFAULT_ACTIVE_TASK_QUOTA });
    step('the scheduled DLQ redrive runs: the parked copy of that event no longer waits');
    const name = pipeline.schedules().find((n) => n.includes('redrive'));
    const summary = name ? ((await pipeline.runSchedule(name)) as { superseded?: number }) : undefined;
    console.log(`  ✓ ${summary?.superseded ?? 0} OVER_QUOTA copy deleted from the DLQ: its task exists`);
  }

  pipeline.taskSchedules.resume();
  const next = pipeline.taskSchedules
    .list()
    .filter((s) => s.nextAt !== null)
    .sort((a, b) => Date.parse(a.nextAt as string) - Date.parse(b.nextAt as string))[0];
  if (next?.nextAt) {
    const at = Date.parse(next.nextAt);
    const ms = Math.max(0, at - sandbox.clock.now());
    sandbox.clock.advance(ms);
    const minutes = Math.round(ms / 60_000);
    const moved = minutes < 120 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
    step(
      `sandbox clock +${moved}: task schedule ${next.name} (${next.expression}, ${next.timezone}) is due at ${formatInTimeZone(at, next.timezone)}`,
    );
    await pipeline.idle();
  }
  console.log('');
  console.log(formatSummary(await summarize(sandbox, sent)));
}

try {
  if (!values['no-pipeline']) {
    pipeline = await startPipeline(sandbox, { schedules: !values.once });
    if (!values['no-demo']) {
      const manifest = loadManifest();
      await seedDemo(sandbox, manifest);
      const running = pipeline;
      sent = await sendDemoMessages(sandbox, manifest, manifest.messages, () => running.idle());
      console.log(`sent ${sent} sample messages to the ingest queue`);
    }
    await pipeline.idle();
    console.log(formatSummary(await summarize(sandbox, sent)));
    if (values.once) {
      await onceScenario();
      await shutdown(0);
    } else {
      console.log('\nwaiting for more messages (task-ingest send ..., or any SQS client)...');
      let last = '';
      setInterval(() => {
        void summarize(sandbox, sent).then((summary) => {
          const text = formatSummary(summary);
          if (text !== last) {
            last = text;
            console.log(`\n${new Date().toISOString()}\n${text}`);
          }
        });
      }, 3000).unref();
    }
  }
} catch (error) {
  console.error('sandbox failed:', error);
  await shutdown(1);
}
