/**
 * The small interfaces the ingest use case depends on. Adapters over DynamoDB, SQS and Connect
 * implement them (wired in lib/ingest/handler.ts); tests pass fakes.
 */
import type { StartTaskContactCommandInput } from '@aws-sdk/client-connect';
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { TaskTemplateView } from '#lib/connect/validate-task.ts';
import type { Lane } from '#lib/lanes.ts';
import type { LedgerEntry } from '#lib/ledger/port.ts';
import type { Logger } from '#lib/observability/logger.ts';
import type { NotifySpec } from '#lib/outcomes/outcome.ts';
import type { Deadline } from '#lib/retry/deadline.ts';
import type { CompiledRule } from '#lib/rules/compile.ts';

/** Set on a message an ops replay sent back: the first message of each replay refreshes the cache. */
interface CacheHint {
  replayId?: string;
}

export interface RuleSource {
  rulesFor(source: string, hint?: CacheHint): Promise<readonly CompiledRule[]>;
}

export interface TemplateSource {
  get(instanceId: string, templateId: string, hint?: CacheHint): Promise<TaskTemplateView>;
}

export interface StartTaskResult {
  contactId: string;
  /** True when no call was made: the idempotency record already held this token's ContactId. */
  duplicate: boolean;
  /** True when the PreviousContactId chain was full and the task was linked by RelatedContactId. */
  linkedAsRelated: boolean;
}

export interface StartTaskCall {
  clientToken: string;
  request: StartTaskContactCommandInput & { ClientToken: string };
  onChainLimit: 'related' | 'park';
  /** The lane the task is started in (the record's queue's lane): the quota budget serves lanes in priority order. */
  lane: Lane;
  /**
   * The invocation's deadline: no budget slot is waited for past it.
   * @default none
   */
  deadline?: Deadline;
}

/** StartTaskContact, exactly once per ClientToken (idempotency record + Connect's own token). */
export type TaskStarter = (call: StartTaskCall) => Promise<StartTaskResult>;

export interface QueueActions {
  /** On the queue of `lane` (the record's own queue; default: the normal lane, the ingest queue). */
  changeVisibility(receiptHandle: string, seconds: number, lane?: Lane): Promise<void>;
  /** Parks a message in the DLQ; resolves with its DLQ message id when the queue gave one. */
  sendToDlq(message: {
    MessageBody: string;
    MessageAttributes: Record<string, MessageAttributeValue>;
  }): Promise<{ messageId?: string }>;
  /**
   * Sends a copy of a record back to the queue of `lane` (its own), hidden for `delaySeconds`
   * (0..900, SQS's DelaySeconds): the receive accounting of lib/ingest/receives.ts.
   */
  sendBack(
    lane: Lane,
    message: { MessageBody: string; MessageAttributes: Record<string, MessageAttributeValue> },
    delaySeconds: number,
  ): Promise<void>;
  /** Sends a message to the queue of `lane` (a rule moved the event there). */
  forward?(
    lane: Lane,
    message: { MessageBody: string; MessageAttributes: Record<string, MessageAttributeValue> },
  ): Promise<void>;
  /** The lanes `forward` can reach; absent or empty: none (every record stays in its arrival lane). */
  lanes?: readonly Lane[];
}

/** Called after a task exists (fresh or duplicate): ledger and transfer plan, both idempotent writes. */
export type AfterCreate = (input: {
  entry: LedgerEntry;
  rule: CompiledRule;
  transferAt?: number;
  /** The outcomes the rule asks for, its data evaluated (kept on the entry). */
  notify?: NotifySpec;
}) => Promise<void>;

/** Handles a rule with action "transfer" (the transfer of a task created for an earlier event). */
export type TransferRequester = (input: {
  rule: CompiledRule;
  envelope: import('#lib/envelope/types.ts').Envelope;
  receiveCount: number;
}) => Promise<{
  contactId: string;
  planId: string;
  scheduled: 'created' | 'exists';
}>;

export type IngestMetricName =
  | 'RecordsReceived'
  | 'TasksCreated'
  | 'DuplicatesSuppressed'
  | 'Transient'
  | 'OverQuota'
  | 'Permanent'
  | 'Dropped'
  | 'Forwarded'
  | 'TransfersRequested'
  | 'TasksUpdated'
  | 'TasksCompleted'
  | 'StaleEvents'
  | 'Truncated'
  | 'LinkedAsRelated'
  /** Records sent back without an attempt: the invocation's time ran short (lib/retry/deadline.ts). */
  | 'NotAttempted';

export interface IngestMetrics {
  /** Adds `value` (default 1) to the metric. */
  count(name: IngestMetricName, dimensions?: { code?: string; source?: string }, value?: number): void;
}

/**
 * What ingest logs through: the levels it uses of the one logger port (lib/observability/logger.ts).
 * Any `Logger` fits, a Powertools `Logger` as it is.
 */
export type IngestLogger = Pick<Logger, 'info' | 'warn' | 'error'>;
