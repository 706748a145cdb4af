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
import { advanceClock, now } from '#lib/clock.ts';
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

const sandbox = await startSandbox({ port, ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}) });

const banner = [
  '',
  `connect-task-ingest sandbox on ${sandbox.endpoint} (stage "${sandbox.stage}")`,
  '  DynamoDB, SQS and the Connect task API answer there; admin API under /_sandbox/',
  '  point any AWS SDK or CLI at it:',
  `    export AWS_ENDPOINT_URL=${sandbox.endpoint} AWS_REGION=${sandbox.region} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test`,
  `    export INGEST_QUEUE_URL=${sandbox.environment.INGEST_QUEUE_URL} DLQ_URL=${sandbox.environment.DLQ_URL}`,
  `  tables: ${Object.values(sandbox.resources.tables)
    .map((t) => t.name)
    .join(', ')}`,
  values.once ? '' : '  Ctrl-C stops.',
  '',
].join('\n');
console.log(banner);

let stopping = false;
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

try {
  if (!values['no-pipeline']) {
    pipeline = await startPipeline(sandbox, { schedules: !values.once });
    let sent = 0;
    if (!values['no-demo']) {
      const manifest = loadManifest();
      await seedDemo(sandbox, manifest);
      sent = await sendDemoMessages(sandbox, manifest);
      console.log(`sent ${sent} sample messages to the ingest queue`);
    }
    await pipeline.idle();
    console.log(formatSummary(await summarize(sandbox, sent)));
    if (values.once) {
      // Scheduled transfers are hours away (the sample plan escalates after 2 h). The sandbox's clock
      // can move: jump past the due time and run the transfer sweep, as its schedule would.
      const pending = (await summarize(sandbox, sent)).transfers.filter((t) => t.status === 'PENDING');
      const latest = Math.max(0, ...pending.map((t) => t.dueAt));
      if (pending.length > 0) {
        const ms = Math.max(0, latest - now()) + 60_000;
        advanceClock(ms);
        console.log(
          `\nsandbox clock moved forward ${Math.round(ms / 60_000)} min; running the transfer sweep`,
        );
        const sweep = pipeline.schedules().find((name) => name.includes('transfer'));
        if (sweep) await pipeline.runSchedule(sweep);
        console.log(formatSummary(await summarize(sandbox, sent)));
      }
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
