/**
 * An event as EventBridge delivers it to a target ("Amazon EventBridge events", EventBridge User
 * Guide): the envelope fields and the parsed `detail`.
 */
export interface EventEnvelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO-8601 to the second, as EventBridge writes it: `2025-01-02T03:04:05Z`. */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** `time` of an envelope: the instant `ms` (epoch milliseconds) to the second. */
export function eventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
