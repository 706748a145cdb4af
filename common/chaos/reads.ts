/**
 * What a chaos run reads back to compare with what it sent: the tasks of the Connect emulator and the
 * DLQ's messages. Both the report (common/chaos/report.ts) and the outcome checks
 * (common/chaos/outcomes.ts) read them.
 */

/** A task as the Connect emulator shows it: the members the comparison reads. */
export interface ChaosTask {
  ContactId: string;
  Name?: string;
  Description?: string;
  ClientToken?: string;
  Attributes: Record<string, string>;
  References?: Record<string, { Value?: string }>;
  /** ACTIVE or ENDED. */
  State?: string;
  /** The agent it was connected to. */
  UserId?: string;
  DisconnectReason?: string;
  /** ISO-8601: an agent accepted it. */
  ConnectedToAgentTimestamp?: string;
  /** ISO-8601: it ended, after-contact work included. */
  CompletedTimestamp?: string;
}

/** One DLQ message as read back: its event's tracking id and failure record, or what is wrong with it. */
export interface DlqRead {
  eventId?: string;
  failureClass?: string;
  code?: string;
  problem?: string;
}
