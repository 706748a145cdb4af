/**
 * `npm run chaos`: the chaos scenario at volume (bench/chaos/run.ts), printing its counts, in all
 * and per priority lane (the messages go to the urgent, normal and bulk queues; two of the rules move
 * their events to a lane of their own).
 *
 *   npm run chaos                          # 3,000 messages, seed 20240501
 *   npm run chaos -- --messages 5000 --seed 42
 *
 * Exits 1 when the run found a violation (a duplicate task, a lost event, a task started outside its
 * lane, a DLQ entry without a reason, an invalid request that reached Connect, a lost outcome, two
 * different outcomes under one id, a ledger entry not in its final state), 2 when the run could
 * not finish: it then prints why and the figures it has (lost, duplicated, still on their way), or,
 * when the sandbox would not even start, one line saying so. Never a stack trace.
 */
import { Command, InvalidArgumentError } from 'commander';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer ≥ 0');
  return n;
}

const program = new Command('chaos')
  .description(
    'Chaos run: faults everywhere, messages in all three lanes, agents at work, then prove nothing was lost, duplicated (per lane) or sent invalid to Connect, no outcome lost and every ledger entry final',
  )
  .option('--messages <n>', 'SQS messages to send', positiveInteger, 3000)
  .option('--seed <n>', 'seed of the message mix and the fault draws', nonNegativeInteger, 20240501)
  .option('--active-task-quota <n>', 'Connect active-task quota (default: messages / 6)', positiveInteger)
  .option('--faulty-rounds <n>', 'drain rounds that keep the faults on', nonNegativeInteger, 3)
  .option('--quiet', 'print only the final counts')
  .parse();

const opts = program.opts<{
  messages: number;
  seed: number;
  activeTaskQuota?: number;
  faultyRounds: number;
  quiet?: boolean;
}>();

// Before the function code is imported: Powertools reads these when its module loads.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { runChaos } = await import('#bench/chaos/run.ts');
const { chaosExitCode, formatChaosReport } = await import('#common/chaos/report.ts');

try {
  const report = await runChaos({
    messages: opts.messages,
    seed: opts.seed,
    faultyRounds: opts.faultyRounds,
    faults: { activeTaskQuota: opts.activeTaskQuota ?? Math.max(20, Math.floor(opts.messages / 6)) },
    ...(opts.quiet ? {} : { log: (line: string) => console.error(`[chaos] ${line}`) }),
  });
  console.log(formatChaosReport(report));
  process.exitCode = chaosExitCode(report);
} catch (error) {
  console.error(`chaos: the run failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
