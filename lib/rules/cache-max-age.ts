/**
 * Parses the text of RULES_CACHE_SECONDS (the caller reads the environment) into milliseconds:
 * absent or empty → `defaultSeconds`; otherwise a finite, non-negative number of seconds.
 */
export function rulesCacheMaxAgeMs(raw: string | undefined, defaultSeconds = 30): number {
  if (raw === undefined || raw.trim() === '') return defaultSeconds * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new TypeError(`RULES_CACHE_SECONDS must be a non-negative number of seconds, got "${raw}"`);
  }
  return seconds * 1000;
}
