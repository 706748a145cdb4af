/**
 * The failure record that travels with a message in the DLQ (and back to the ingest queue on replay).
 *
 * Format (docs/ARCHITECTURE.md, "DLQ record"): the body is kept byte-for-byte, the original message
 * attributes are kept, and ONE extra message attribute, `FAILURE_ATTRIBUTE`, carries this record as
 * JSON. SQS allows 10 message attributes; when the original already uses all 10, the message is
 * wrapped: the body becomes `WrappedMessage` JSON (original body + original attributes) and the only
 * attribute is the failure record, with `wrapped: true`. The ingest handler unwraps it. Nothing is
 * dropped.
 */
import type { Lane } from '#lib/lanes.ts';

export const FAILURE_ATTRIBUTE = 'cti.failure';
/** SQS: at most 10 message attributes per message. */
export const MAX_MESSAGE_ATTRIBUTES = 10;
export const WRAPPED_MARKER = 'connect-task-ingest/wrapped-message@1';

export type FailureClass = 'TRANSIENT' | 'OVER_QUOTA' | 'PERMANENT' | 'EXHAUSTED';

export interface FailureRecord {
  v: 1;
  class: FailureClass;
  /** Error code: a Connect exception name (ServiceQuotaExceededException), or ours (MalformedJson, NoMatchingRule, ValidationFailed, MappingFailed, TemplateInactive, ...). */
  code: string;
  /** Human-readable reason naming the problem (field and limit for validation). Never task contents. */
  message: string;
  source?: string;
  ruleId?: string;
  /** The logical event id; for raw JSON without an id attribute, the first SQS message id (stamped on the first DLQ trip). */
  eventId?: string;
  clientToken?: string;
  /**
   * The lane whose queue the message was in when it failed; replays go back to that queue. Records
   * written before lanes existed have none: the normal lane (the ingest queue).
   */
  lane?: Lane;
  /** How many times this message has been parked in the DLQ (over-quota redrives count up). */
  attempts: number;
  /** How many times the redrive has sent it back. */
  redriveCount: number;
  /** ISO-8601. */
  firstFailureAt: string;
  lastFailureAt: string;
  /** ISO-8601; OVER_QUOTA only: when the redrive may replay it. */
  nextAttemptAt?: string;
  /** The SQS message id of the first delivery that failed. */
  originalMessageId: string;
  /**
   * ISO-8601: where the redrive's age limit counts from instead of `firstFailureAt` (an ops replay of an
   * EXHAUSTED message gives it a fresh budget: attempts from 0, that replay its first redrive, age from then).
   */
  budgetFrom?: string;
  /**
   * Set by an ops replay (`dlq replay`) on the messages it sends back, one id per run: ingest refreshes
   * the source's rules and task templates the first time it sees an id, so a fix made just before the
   * replay is seen despite the caches. Not kept when the message is parked again.
   */
  replayId?: string;
  /**
   * Ingest's own receive accounting (lib/ingest/receives.ts), carried by the fresh copy ingest sends
   * back to its queue (and the original deleted) where a receive would otherwise count without an
   * attempt: `attempts` that failed before (each copy's failed receives added up), and `taskWaits`,
   * the receives an update or complete spent waiting for its create (TaskNotFound), kept apart. A
   * message whose only trip is such a copy carries a record of class TRANSIENT and 0 `attempts`.
   * Dropped when the message is parked and when it is replayed: each round in place starts at 0.
   */
  inPlace?: InPlaceCounts;
  /**
   * How many times the scheduled redrive has replayed this message after it was parked TRANSIENT
   * (its retries in place spent); at REDRIVE_TRANSIENT_ROUNDS it is left for ops as EXHAUSTED.
   */
  transientRounds?: number;
  /** True when the body is a `WrappedMessage`. */
  wrapped?: boolean;
}

/** Ingest's counts of one message across the copies it sent back (`FailureRecord.inPlace`). */
export interface InPlaceCounts {
  attempts: number;
  taskWaits: number;
}

/** An SQS message attribute as the SQS JSON protocol carries it (String/Number/Binary). */
export interface SqsAttributeValue {
  DataType: string;
  StringValue?: string;
  /** base64 */
  BinaryValue?: string;
}

export interface WrappedMessage {
  marker: typeof WRAPPED_MARKER;
  body: string;
  attributes: Record<string, SqsAttributeValue>;
}
