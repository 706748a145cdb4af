/**
 * Pipeline CPU: the in-process cost of one message from body to a validated request with its
 * ClientToken — envelope → rule select → JSONata mapping → seed validation → token — with the
 * crm-case rule compiled once and warmed, as a warm function instance runs it. No I/O is involved.
 */
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import { validateTaskRequest } from '#lib/connect/validate-task.ts';
import { type LambdaMessageAttributes, parseEnvelope } from '#lib/envelope/parse.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { mapToTaskRequest } from '#lib/mapping/map.ts';
import { compileRule, selectRule, validateRule } from '#lib/rules/compile.ts';
import { median, percentile, type Reporter } from './report.ts';
import { BenchError, caseMessages, RULE_FILE, readJson } from './workload.ts';

export interface PipelineCpuResult {
  iterations: number;
  medianMicros: number;
  p99Micros: number;
  /** Process CPU time (user + system) over the measured loop, divided by the iterations. */
  cpuMicrosPerMessage: number;
}

/**
 * Measures the pipeline.
 * Input: warm-up and measured iteration counts.
 * Output: wall-clock µs per message (median, p99) and process CPU µs per message.
 * Primary course: compile the rule once → run the warm-up → time each measured message with
 * performance.now(), over distinct bodies built beforehand (one case id per message).
 */
export async function measurePipelineCpu(warmup: number, iterations: number): Promise<PipelineCpuResult> {
  const validated = validateRule(readJson(RULE_FILE));
  if (!validated.ok) throw new BenchError(`${RULE_FILE} does not validate: ${validated.errors.join('; ')}`);
  const rules = [compileRule(validated.rule)];
  const messages = caseMessages(warmup + iterations, 'cpu');
  const attributes: LambdaMessageAttributes = Object.fromEntries(
    Object.entries(messages[0]?.attributes ?? {}).map(([k, v]) => [
      k,
      {
        dataType: v.DataType ?? 'String',
        ...(v.StringValue === undefined ? {} : { stringValue: v.StringValue }),
      },
    ]),
  );
  const now = Date.now();

  const one = async (body: string, i: number) => {
    const envelope = parseEnvelope({ body, messageId: `m-${i}`, attributes });
    const compiled = await selectRule(rules, envelope);
    if (compiled?.rule.action !== 'create')
      throw new BenchError('the crm-case rule did not match its own sample');
    const { rule } = compiled;
    const mapped = await mapToTaskRequest(compiled, envelope, { now });
    const token = taskClientToken(rule.instanceId, envelope.source, mapped.idempotencyKey);
    const out = validateTaskRequest(
      { ...mapped.request, ClientToken: token },
      {
        limits: DEFAULT_TASK_LIMITS,
        now,
        truncate: rule.options.truncate,
      },
    );
    if (!out.ok)
      throw new BenchError(`sample did not validate: ${out.issues.map((x) => x.message).join('; ')}`);
  };

  for (let i = 0; i < warmup; i++) await one((messages[i] as { body: string }).body, i);

  const samples = new Float64Array(iterations);
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const body = (messages[warmup + i] as { body: string }).body;
    const t0 = performance.now();
    await one(body, warmup + i);
    samples[i] = performance.now() - t0;
  }
  const cpu = process.cpuUsage(cpuBefore);
  const micros = Array.from(samples, (ms) => ms * 1000);
  return {
    iterations,
    medianMicros: median(micros),
    p99Micros: percentile(micros, 99),
    cpuMicrosPerMessage: (cpu.user + cpu.system) / iterations,
  };
}

export async function pipelineCpuBench(report: Reporter, options: { quick: boolean }): Promise<void> {
  const warmup = options.quick ? 1_000 : 5_000;
  const iterations = options.quick ? 2_000 : 20_000;
  report.line('');
  report.line('== pipeline CPU ==');
  report.line(
    'per message: parseEnvelope → selectRule → mapToTaskRequest (JSONata) → taskClientToken → validateTaskRequest; ' +
      `crm-case rule compiled once; ${warmup} warm-up messages, then ${iterations} timed one by one (wall µs); ` +
      'CPU µs = process user+system time over the timed loop ÷ messages.',
  );
  const r = await measurePipelineCpu(warmup, iterations);
  report.table(
    'pipeline CPU per message',
    ['rule', 'iterations', 'median µs', 'p99 µs', 'CPU µs/msg'],
    [['crm-case', r.iterations, r.medianMicros, r.p99Micros, r.cpuMicrosPerMessage]],
  );
  report.json('cpu', {
    rule: 'crm-case',
    message: 'cloudevents',
    iterations: r.iterations,
    medianMicros: r.medianMicros,
    p99Micros: r.p99Micros,
    cpuMicrosPerMessage: r.cpuMicrosPerMessage,
  });
  report.check({
    bench: 'cpu',
    figure: 'pipeline median per message',
    value: r.medianMicros,
    unit: 'µs',
    // Far below the StartTaskContact call each message feeds (tens of ms), at 2–20 calls a second.
    target: { op: '<=', limit: 500 },
  });
}
