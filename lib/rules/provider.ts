/**
 * The rule provider: the ingest handler's view of the rules, per source, cached and compiled.
 *
 * Why not Powertools Parameters' DynamoDB provider: it caches raw values per key, but what is worth
 * caching here is the *compiled* rule list (JSONata compiled once per refresh), it cannot skip one
 * invalid item while keeping the rest, and it does not share one fetch between concurrent misses.
 * The TTL cache (lib/cache/ttl-cache.ts) does exactly those three things; this reads through the `RuleStore` port, so tests
 * run it against an in-memory store.
 *
 * Behaviour:
 * - one cache entry per source, fresh for `maxAgeMs` (the caller's configuration) after its fetch started;
 * - every rule of a refresh is validated and compiled once (`validateRule` + `compileRule`);
 * - concurrent calls for a source that is missing or stale share one fetch;
 * - a stored rule that no longer validates (or compiles) is skipped and reported through
 *   `onInvalidRule`, never failing the batch; a failed fetch is not cached and rejects every caller
 *   that shared it (the ingest handler treats that as transient);
 * - `invalidate()` drops the cache; a fetch already in flight then does not repopulate it;
 * - a call with a replay id (`hint.replayId`, carried by messages an ops `dlq replay` sent back) fetches
 *   the source afresh the first time this instance sees that (source, replay id): the rule fixed before
 *   the replay is used by its first message, while the rest of the replay and every other message keep
 *   the cache (a bounded set of recent replay ids is kept; a failed fetch does not count as seen).
 */
import { createTtlCache } from '#lib/cache/ttl-cache.ts';
import type { TaskLimits } from '#lib/connect/constraints.ts';
import { type CompiledRule, compileRule, validateRule } from '#lib/rules/compile.ts';
import type { RuleRecord, RuleStore } from '#lib/rules/store.ts';

/** A stored rule that was skipped because it does not validate or compile any more. */
export interface InvalidRuleReport {
  source: string;
  ruleId: string;
  version: number;
  errors: readonly string[];
}

export interface RuleProviderOptions {
  store: Pick<RuleStore, 'list'>;
  /** How long a source's rules are served from the cache, in ms (0: fetch on every call, still shared). */
  maxAgeMs: number;
  /**
   * The time in epoch ms: the cache's age, and `$now()` / `$millis()` in the rules' expressions.
   * @default Date.now
   */
  now?: () => number;
  /** Called once per refresh for each skipped rule. Defaults to a warning on stderr (ids and errors only). */
  onInvalidRule?: (report: InvalidRuleReport) => void;
  /**
   * The Connect limits rules are validated against.
   * @default the documented ones
   */
  limits?: TaskLimits;
}

export interface RuleProvider {
  /**
   * The source's usable rules, compiled (all of them, enabled or not: `selectRule` filters and orders).
   * With `hint.replayId`, the first call for that (source, replay id) fetches afresh.
   */
  rulesFor(source: string, hint?: { replayId?: string }): Promise<CompiledRule[]>;
  /** Forgets every cached source (or one), so the next call fetches. */
  invalidate(source?: string): void;
}

/**
 * Builds the provider.
 * Input: a rule store, the cache max age, optionally a clock and an invalid-rule callback.
 * Output: `rulesFor(source)` and `invalidate()`.
 * Primary course of `rulesFor`: a fresh entry → its compiled rules; a fetch in flight → share it;
 * otherwise list the source's rules, validate and compile each, report and skip the bad ones, cache.
 */
export function createRuleProvider(options: RuleProviderOptions): RuleProvider {
  const report = options.onInvalidRule ?? warnInvalidRule;
  const now = options.now ?? Date.now;
  const cache = createTtlCache<CompiledRule[]>({
    maxAgeMs: options.maxAgeMs,
    now,
  });
  const load = (source: string) => async () =>
    compileRecords(await options.store.list(source), report, { limits: options.limits, now });
  return {
    rulesFor: (source, hint) => cache.get(source, load(source), hint),
    invalidate: (source) => cache.invalidate(source),
  };
}

function compileRecords(
  records: readonly RuleRecord[],
  report: (report: InvalidRuleReport) => void,
  { limits, now }: { limits: TaskLimits | undefined; now: () => number },
): CompiledRule[] {
  const compiled: CompiledRule[] = [];
  for (const record of records) {
    const invalid = (errors: readonly string[]) => {
      try {
        report({ source: record.source, ruleId: record.ruleId, version: record.version, errors });
      } catch {
        // A failing reporter must not fail the batch: the rule is skipped either way.
      }
    };
    const result = validateRule(record.document, limits);
    if (!result.ok) {
      invalid(result.errors);
      continue;
    }
    if (result.rule.source !== record.source || result.rule.ruleId !== record.ruleId) {
      invalid(["the document's source/ruleId do not match the item key"]);
      continue;
    }
    try {
      compiled.push(compileRule(result.rule, { now }));
    } catch (error) {
      invalid([error instanceof Error ? error.message : String(error)]);
    }
  }
  return compiled;
}

function warnInvalidRule(report: InvalidRuleReport): void {
  console.warn(
    JSON.stringify({
      level: 'WARN',
      message: 'skipping a stored rule that does not validate',
      source: report.source,
      ruleId: report.ruleId,
      version: report.version,
      errors: report.errors,
    }),
  );
}
