/**
 * `npm run bench [-- <bench...>] [--quick]`: runs the benchmarks and prints their figures.
 *
 *   npm run bench                   # goodput, quota, quota-sim, overquota, squeeze, cpu, cold, memory, then the summary
 *   npm run bench -- squeeze        # ingest under a budget at a tenth of the arrival rate, 10 min (SQUEEZE_RUNS=3: three runs)
 *   npm run bench -- goodput cpu    # only these
 *   npm run bench -- --quick        # smaller sizes: a smoke run
 *
 * Each benchmark prints human tables and one JSON line per figure row; the summary compares every
 * figure that has a target (PASS/MISS). Exit code 0 even on a MISS: benchmarks report, tests assert.
 * Runs on loopback only (the embedded sandbox on a free port).
 */
import { loadavg } from 'node:os';
import { Command } from 'commander';

// Set before any function module (and its Powertools Logger/Metrics) is imported: the figures are
// printed on stdout and must not be interleaved with per-invocation logs and EMF metric lines.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const BENCHES = ['goodput', 'quota', 'quota-sim', 'overquota', 'squeeze', 'cpu', 'cold', 'memory'] as const;
type BenchName = (typeof BENCHES)[number];

type Reporter = ReturnType<typeof import('./report.ts').createReporter>;
type Runner = (report: Reporter, options: { quick: boolean }) => Promise<void>;

/** Each bench module is imported only when selected, after the environment above is set. */
const RUNNERS: Record<BenchName, Runner> = {
  goodput: async (r, o) => (await import('./goodput.ts')).goodputBench(r, o),
  quota: async (r, o) => (await import('./quota.ts')).quotaBench(r, o),
  'quota-sim': async (r, o) => (await import('./quota-sim.ts')).quotaSimBench(r, o),
  overquota: async (r, o) => (await import('./overquota.ts')).overQuotaBench(r, o),
  squeeze: async (r, o) => (await import('./squeeze.ts')).squeezeBench(r, o),
  cpu: async (r, o) => (await import('./pipeline-cpu.ts')).pipelineCpuBench(r, o),
  cold: async (r, o) => (await import('./cold-start.ts')).coldStartBench(r, o),
  memory: async (r, o) => (await import('./memory.ts')).memoryBench(r, o),
};

function isBench(name: string): name is BenchName {
  return (BENCHES as readonly string[]).includes(name);
}

async function main(): Promise<void> {
  const program = new Command('bench')
    .description(
      'Benchmarks of connect-task-ingest: goodput at the quota, sharing the quota (and its virtual-time study), parked events coming back when capacity frees, the squeeze, pipeline CPU, cold start, memory',
    )
    .argument('[bench...]', `which to run: ${BENCHES.join(', ')} (default: all)`)
    .option('--quick', 'shrink sizes for a smoke run', false)
    .parse(process.argv);
  const names = program.args.length === 0 ? [...BENCHES] : program.args;
  const unknown = names.filter((n) => !isBench(n));
  if (unknown.length > 0)
    program.error(`unknown bench: ${unknown.join(', ')} (choose from ${BENCHES.join(', ')})`);
  const selected = BENCHES.filter((b) => names.includes(b));
  const quick = Boolean(program.opts<{ quick: boolean }>().quick);

  const { createReporter } = await import('./report.ts');
  const report = createReporter();
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  report.line(
    `bench ${selected.join(', ')}${quick ? ' (quick)' : ''}; node ${process.version}; load average ${load()}`,
  );
  report.json('environment', { node: process.version, quick, loadAverageAtStart: loadavg() });

  for (const name of selected) {
    const started = performance.now();
    await RUNNERS[name](report, { quick });
    report.line(
      `(${name} took ${((performance.now() - started) / 1000).toFixed(1)} s; load average ${load()})`,
    );
  }
  report.summary();
  report.json('environment', { loadAverageAtEnd: loadavg() });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
