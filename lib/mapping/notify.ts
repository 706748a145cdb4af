/**
 * A create rule's `notify` over its event: which outcomes its publisher wants and the data they carry
 * (`notify.data`, key → JSONata), evaluated before any Connect call so that a rule that cannot map
 * its data refuses the event (PERMANENT `MappingFailed`) instead of failing after the task exists.
 * The data is kept on the task's ledger entry for the outcomes of later events.
 */
import type { Envelope } from '#lib/envelope/types.ts';
import type { NotifySpec } from '#lib/outcomes/outcome.ts';
import type { CompiledRule } from '#lib/rules/compile.ts';
import { MappingError } from './errors.ts';

/** The most `notify.data` may weigh as JSON: an outcome must always fit in one PutEvents entry (256 KB). */
const NOTIFY_DATA_MAX_BYTES = 8 * 1024;

/** The rule's `notify`, its data evaluated; undefined when the rule asks for no outcomes. */
export async function evaluateNotify(compiled: CompiledRule, env: Envelope): Promise<NotifySpec | undefined> {
  const { rule } = compiled;
  if (rule.action !== 'create' || rule.notify === undefined) return undefined;
  const data: Record<string, unknown> = {};
  for (const [key, expression] of compiled.notifyData ?? []) {
    const value = await expression.evaluate(env);
    if (typeof value === 'function') {
      throw new MappingError(`notify.data.${key}`, `notify.data.${key} produced a function`, {
        ruleId: rule.ruleId,
      });
    }
    // A JSONata result as plain JSON (sequences become arrays); undefined omits the key.
    if (value !== undefined) data[key] = JSON.parse(JSON.stringify(value));
  }
  const bytes = Buffer.byteLength(JSON.stringify(data), 'utf8');
  if (bytes > NOTIFY_DATA_MAX_BYTES) {
    throw new MappingError(
      'notify.data',
      `notify.data is ${bytes} bytes as JSON; at most ${NOTIFY_DATA_MAX_BYTES}`,
      {
        ruleId: rule.ruleId,
      },
    );
  }
  const outcomes = rule.notify.outcomes;
  return Object.keys(data).length === 0 ? { outcomes } : { outcomes, data };
}
