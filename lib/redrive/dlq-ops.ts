/**
 * Read-mostly DLQ helpers for ops (the `dlq list|show|delete` commands).
 *
 * SQS has no "peek": reading a message hides it for its visibility timeout. These helpers receive with
 * a short hold (`LIST_HOLD_SECONDS`) so that one pass walks the queue without re-reading, and make every
 * message they did not delete visible again when the pass ends (`scan.ts`). Listing therefore does not
 * hide messages from the redrive or from the next listing, except for the few seconds a pass takes (or
 * the hold, if the CLI dies mid-pass). Each pass also counts one receive on every message it reads.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { type ReadDlqMessage, readDlqMessage } from '#lib/retry/dlq-message.ts';
import type { FailureRecord } from '#lib/retry/failure-record.ts';
import { DlqOpsError } from './errors.ts';
import { type DlqFilter, isEmptyFilter, matchesFilter } from './filter.ts';
import { DEFAULT_MAX_SCAN } from './redrive.ts';
import { type StopReason, scanQueue, type VisitOutcome } from './scan.ts';
import type { ReceivedMessage, SqsPort } from './sqs-port.ts';

/** Hold while listing: long enough for a pass over a few thousand messages, short if the CLI dies. */
const LIST_HOLD_SECONDS = 60;

export interface DlqOpsDeps {
  sqs: SqsPort;
  dlqUrl: string;
  /**
   * The time in epoch ms, against which filters on age and due time are judged.
   * @default Date.now
   */
  now?: () => number;
}

export interface DlqEntry {
  messageId: string;
  receiveCount?: number;
  /** Epoch ms when this copy entered the DLQ. */
  sentAt?: number;
  failure?: FailureRecord;
  problem?: string;
  /** UTF-8 bytes of the original body (the contents are not listed). */
  bodyBytes: number;
  /** Names of the original attributes (values are not listed). */
  attributeNames: string[];
}

export interface DlqShown extends DlqEntry {
  body: string;
  attributes: Record<string, MessageAttributeValue>;
}

function entryOf(messageId: string, read: ReadDlqMessage, receiveCount?: number, sentAt?: number): DlqEntry {
  const entry: DlqEntry = {
    messageId,
    bodyBytes: Buffer.byteLength(read.body, 'utf8'),
    attributeNames: Object.keys(read.attributes).sort(),
  };
  if (receiveCount !== undefined) entry.receiveCount = receiveCount;
  if (sentAt !== undefined) entry.sentAt = sentAt;
  if (read.failure) entry.failure = read.failure;
  if (read.problem !== undefined) entry.problem = read.problem;
  return entry;
}

/** One listing pass over the DLQ: every message received with the listing hold, read, and visited. */
async function scanDlq(
  deps: DlqOpsDeps,
  maxScan: number | undefined,
  visit: (
    message: ReceivedMessage,
    read: ReadDlqMessage,
  ) => Promise<{ outcome: VisitOutcome; stop?: boolean }>,
): Promise<{ scanned: number; stoppedBy: StopReason }> {
  return await scanQueue(deps.sqs, {
    queueUrl: deps.dlqUrl,
    maxScan: maxScan ?? DEFAULT_MAX_SCAN,
    holdSeconds: LIST_HOLD_SECONDS,
    visit: (message) =>
      visit(message, readDlqMessage({ Body: message.body, MessageAttributes: message.attributes })),
  });
}

/** The entry of a received message (failure record, sizes, no contents). */
function entryOfMessage(message: ReceivedMessage, read: ReadDlqMessage): DlqEntry {
  return entryOf(message.messageId, read, message.receiveCount, message.sentAt);
}

/**
 * Lists DLQ messages matching `filter` (at most `max` entries, at most `maxScan` received).
 * Output: one entry per message, with the failure record and sizes but no contents.
 */
export async function listDlq(
  deps: DlqOpsDeps,
  options: { filter?: DlqFilter; max?: number; maxScan?: number } = {},
): Promise<{ entries: DlqEntry[]; scanned: number; stoppedBy: StopReason }> {
  const clock = deps.now ?? Date.now;
  const entries: DlqEntry[] = [];
  const result = await scanDlq(deps, options.maxScan, async (message, read) => {
    if (matchesFilter(options.filter, message.messageId, read.failure, clock())) {
      entries.push(entryOfMessage(message, read));
    }
    return { outcome: 'hold', stop: options.max !== undefined && entries.length >= options.max };
  });
  return { entries, scanned: result.scanned, stoppedBy: result.stoppedBy };
}

/**
 * Finds one DLQ message by its SQS message id or its `originalMessageId` (a full scan, at most
 * `maxScan` messages) and returns its original body, attributes and failure record; undefined if not
 * found.
 */
export async function showDlqMessage(
  deps: DlqOpsDeps,
  messageId: string,
  options: { maxScan?: number } = {},
): Promise<DlqShown | undefined> {
  let found: DlqShown | undefined;
  await scanDlq(deps, options.maxScan, async (message, read) => {
    if (message.messageId !== messageId && read.failure?.originalMessageId !== messageId) {
      return { outcome: 'hold' };
    }
    found = { ...entryOfMessage(message, read), body: read.body, attributes: read.attributes };
    return { outcome: 'hold', stop: true };
  });
  return found;
}

/**
 * Deletes DLQ messages: the ones named in `filter.messageIds` and/or matching the other criteria.
 * An empty filter is refused (`DlqOpsError`): emptying the whole DLQ is a purge, not a delete.
 * With `dryRun`, lists what would be deleted and deletes nothing.
 */
export async function deleteDlqMessages(
  deps: DlqOpsDeps,
  options: { filter: DlqFilter; dryRun?: boolean; max?: number; maxScan?: number },
): Promise<{ deleted: DlqEntry[]; scanned: number; problems: { messageId: string; problem: string }[] }> {
  if (isEmptyFilter(options.filter)) {
    throw new DlqOpsError('refusing to delete without a message id or a filter');
  }
  const clock = deps.now ?? Date.now;
  const deleted: DlqEntry[] = [];
  const problems: { messageId: string; problem: string }[] = [];
  const result = await scanDlq(deps, options.maxScan, async (message, read) => {
    if (!matchesFilter(options.filter, message.messageId, read.failure, clock())) return { outcome: 'hold' };
    const entry = entryOfMessage(message, read);
    if (!options.dryRun) {
      try {
        await deps.sqs.delete(deps.dlqUrl, message.receiptHandle);
      } catch (error) {
        problems.push({
          messageId: message.messageId,
          problem: `delete failed: ${error instanceof Error ? error.message : 'unknown error'}`,
        });
        return { outcome: 'hold' };
      }
    }
    deleted.push(entry);
    return {
      outcome: options.dryRun ? 'hold' : 'done',
      stop: options.max !== undefined && deleted.length >= options.max,
    };
  });
  return { deleted, scanned: result.scanned, problems };
}
