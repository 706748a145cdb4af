/** Human output shared by the commands: aligned tables, times, durations, optional members. */

/**
 * Aligns rows into columns (two spaces apart, trailing blanks trimmed). Columns from `rightFrom` on
 * are right-aligned (numbers); by default every column is left-aligned.
 */
export function table(rows: readonly (readonly string[])[], rightFrom = Number.POSITIVE_INFINITY): string[] {
  const widths: number[] = [];
  for (const row of rows)
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return rows.map((row) =>
    row
      .map((cell, i) => (i >= rightFrom ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `table` as text, one line each. */
export function tableText(rows: readonly (readonly string[])[], rightFrom?: number): string {
  return `${table(rows, rightFrom).join('\n')}\n`;
}

/** Epoch ms as ISO-8601, or `-`. */
export function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

/** A duration in seconds as people read it: `45s`, `12m`, `3.5h`, `2.0d`. */
export function duration(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7_200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${(s / 3_600).toFixed(1)}h`;
  return `${(s / 86_400).toFixed(1)}d`;
}

/** How long ago an ISO time was, at `nowMs`: `12m ago`, or `never`. */
export function ago(isoTime: string | null | undefined, nowMs: number): string {
  return isoTime === null || isoTime === undefined
    ? 'never'
    : `${duration((nowMs - Date.parse(isoTime)) / 1000)} ago`;
}

/** `{ [key]: value }`, or `{}` when the value is undefined (optional members of exact types). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
