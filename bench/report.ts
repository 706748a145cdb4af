/**
 * How benchmarks print: a human table per result set, one JSON line per figure row (prefixed by
 * nothing, so `npm run bench | grep '^{'` collects them), and a closing summary of every figure that
 * has a target, with PASS or MISS.
 */

export type Cell = string | number | undefined;

interface Target {
  /** The figure passes when `value <op> limit`. */
  op: '<=' | '>=' | '>';
  limit: number;
}

interface Check {
  bench: string;
  figure: string;
  value: number;
  unit: string;
  target: Target;
  /** Why the figure is what it is, or how it was measured (kept short). */
  note?: string;
}

export interface Reporter {
  /** Prints an aligned table with a title line. */
  table(title: string, columns: readonly string[], rows: ReadonlyArray<readonly Cell[]>): void;
  /** Prints one JSON line `{"bench": bench, ...fields}`. */
  json(bench: string, fields: Record<string, unknown>): void;
  /** Prints a free line (definitions, progress). */
  line(text: string): void;
  /** Records a figure against its target for the summary. */
  check(check: Check): void;
  checks(): readonly Check[];
  /** Prints the summary table of every check; returns the number of misses. */
  summary(): number;
}

/** Rounds for display: integers stay, small values keep 3 significant decimals. */
export function fmt(value: Cell, digits = 2): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(digits);
}

function passes(value: number, target: Target): boolean {
  if (target.op === '<=') return value <= target.limit;
  return target.op === '>=' ? value >= target.limit : value > target.limit;
}

/** Nearest-rank percentile (p in 0..100) of unsorted numbers; NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/**
 * Seconds from `fromMs` until the rate over a 5-s sliding window of the sorted event times reaches
 * 0.95 × `quota`; Infinity when it never does. The window (t − 5 s, t] is highest right at an event,
 * so every event from `fromMs` on is looked at.
 */
export function secondsBackToQuota(sortedMs: readonly number[], fromMs: number, quota: number): number {
  const need = 0.95 * quota * 5;
  for (let i = 0, lo = 0; i < sortedMs.length; i += 1) {
    const t = sortedMs[i] as number;
    while ((sortedMs[lo] as number) <= t - 5_000) lo += 1;
    if (t >= fromMs && i - lo + 1 >= need) return (t - fromMs) / 1000;
  }
  return Number.POSITIVE_INFINITY;
}

export function mib(bytes: number): number {
  return bytes / (1024 * 1024);
}

/** Rounds numbers in JSON output to keep lines short and stable. */
function roundForJson(value: unknown): unknown {
  if (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value)) {
    return Math.round(value * 10_000) / 10_000;
  }
  return value;
}

export function createReporter(
  write: (text: string) => void = (text) => process.stdout.write(text),
): Reporter {
  const recorded: Check[] = [];
  const println = (text = '') => write(`${text}\n`);

  const table: Reporter['table'] = (title, columns, rows) => {
    const text = rows.map((row) => columns.map((_, i) => fmt(row[i])));
    const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? '').length)));
    const render = (cells: readonly string[]) =>
      cells
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  ');
    println();
    println(title);
    println(render(columns));
    println(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of text) println(render(r));
  };

  return {
    table,
    json(bench, fields) {
      const rounded = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, roundForJson(v)]));
      println(JSON.stringify({ bench, ...rounded }));
    },
    line: println,
    check(check) {
      recorded.push(check);
    },
    checks: () => recorded,
    summary() {
      let misses = 0;
      const rows = recorded.map((c) => {
        const ok = passes(c.value, c.target);
        if (!ok) misses += 1;
        return [
          c.bench,
          c.figure,
          `${fmt(c.value, 3)} ${c.unit}`.trim(),
          `${c.target.op} ${fmt(c.target.limit)} ${c.unit}`.trim(),
          ok ? 'PASS' : 'MISS',
        ];
      });
      table(
        'Summary: every figure against its target',
        ['bench', 'figure', 'value', 'target', 'result'],
        rows,
      );
      for (const c of recorded) {
        println(
          JSON.stringify({
            bench: 'summary',
            of: c.bench,
            figure: c.figure,
            value: roundForJson(c.value),
            unit: c.unit,
            target: `${c.target.op} ${c.target.limit}`,
            result: passes(c.value, c.target) ? 'PASS' : 'MISS',
            ...(c.note ? { note: c.note } : {}),
          }),
        );
      }
      return misses;
    },
  };
}
