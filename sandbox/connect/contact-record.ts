/**
 * A contact as the Connect emulator holds it: what the operations, the lifecycle and the contact
 * events read and change (sandbox/connect/state.ts keeps them by id).
 */
import type { ContactReference } from './validate.ts';

export type ContactChannel = 'VOICE' | 'CHAT' | 'TASK' | 'EMAIL';
export type ContactState = 'ACTIVE' | 'ENDED';

/** A contact as the emulator holds it (timestamps in epoch milliseconds). */
export interface ContactRecord {
  contactId: string;
  arn: string;
  instanceId: string;
  channel: ContactChannel;
  initiationMethod: string;
  /**
   * ACTIVE until it is disconnected (StopContact, auto-complete, an agent completing it, a seeded
   * end). A TASK counts against the active-task quota until it is COMPLETED (`completedTimestamp`),
   * which is later than ENDED when the agent does after-contact work.
   */
  state: ContactState;
  name?: string;
  description?: string;
  attributes: Record<string, string>;
  references: Record<string, ContactReference>;
  segmentAttributes?: Record<string, unknown>;
  initiationTimestamp: number;
  lastUpdateTimestamp: number;
  scheduledTimestamp?: number;
  disconnectTimestamp?: number;
  /** StopContact's DisconnectReason.Code ('API' when none), EXPIRED (auto-complete), AGENT_DISCONNECT, or SEEDED. */
  disconnectReason?: string;
  /** When it entered its current queue (its QUEUED event); absent while a scheduled task waits. */
  enqueueTimestamp?: number;
  /** A scheduled task not queued yet: when it will be (its ScheduledTime). */
  queueDueTimestamp?: number;
  /** When the agent `userId` accepted it (CONNECTED_TO_AGENT). */
  connectedToAgentTimestamp?: number;
  afterContactWorkStartTimestamp?: number;
  afterContactWorkEndTimestamp?: number;
  /** Whole seconds of after-contact work, once it ended. */
  afterContactWorkDuration?: number;
  /** Seconds of after-contact work the agent was asked to do, while it lasts. */
  afterContactWorkSeconds?: number;
  /** When it COMPLETED: disconnected and after-contact work done. */
  completedTimestamp?: number;
  previousContactId?: string;
  relatedContactId?: string;
  /** The first contact of this contact's PreviousContactId chain (itself when it has no previous). */
  chainRootId: string;
  /** The flow the task runs (the template's or quick connect's flow when started from one); updated by transfers. */
  contactFlowId?: string;
  quickConnectId?: string;
  taskTemplateId?: string;
  /** Its queue: set when it is queued (or, for a scheduled task, the queue it will enter). */
  queueId?: string;
  /** The agent it is connected to. */
  userId?: string;
  /** Successful TransferContact calls on this contact (idempotent replays not counted). */
  transfers: number;
  clientToken?: string;
}
