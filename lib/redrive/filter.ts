/**
 * Which DLQ messages an ops command (or a filtered redrive) acts on.
 */
import type { FailureClass, FailureRecord } from '#lib/retry/failure-record.ts';

export interface DlqFilter {
  source?: string;
  class?: FailureClass;
  code?: string;
  /** Only messages whose first failure is at least this old (seconds). */
  olderThanSeconds?: number;
  ruleId?: string;
  /** SQS message ids; a message matches by its current id or its `originalMessageId`. */
  messageIds?: string[];
}

/** True when the filter names no criterion at all (it would match every message). */
export function isEmptyFilter(filter: DlqFilter | undefined): boolean {
  if (!filter) return true;
  return (
    filter.source === undefined &&
    filter.class === undefined &&
    filter.code === undefined &&
    filter.olderThanSeconds === undefined &&
    filter.ruleId === undefined &&
    (filter.messageIds === undefined || filter.messageIds.length === 0)
  );
}

/**
 * Does a message match? A message without a readable record (`failure` undefined) matches only a
 * filter that names nothing but message ids, and only by its SQS message id.
 */
export function matchesFilter(
  filter: DlqFilter | undefined,
  messageId: string,
  failure: FailureRecord | undefined,
  nowMs: number,
): boolean {
  if (!filter) return true;
  if (filter.messageIds && filter.messageIds.length > 0) {
    const ids = new Set(filter.messageIds);
    if (!ids.has(messageId) && !(failure && ids.has(failure.originalMessageId))) return false;
  }
  const recordCriteria =
    filter.source !== undefined ||
    filter.class !== undefined ||
    filter.code !== undefined ||
    filter.olderThanSeconds !== undefined ||
    filter.ruleId !== undefined;
  if (!failure) return !recordCriteria;
  if (filter.source !== undefined && failure.source !== filter.source) return false;
  if (filter.class !== undefined && failure.class !== filter.class) return false;
  if (filter.code !== undefined && failure.code !== filter.code) return false;
  if (filter.ruleId !== undefined && failure.ruleId !== filter.ruleId) return false;
  if (filter.olderThanSeconds !== undefined) {
    const first = Date.parse(failure.firstFailureAt);
    if (!(nowMs - first >= filter.olderThanSeconds * 1000)) return false;
  }
  return true;
}
