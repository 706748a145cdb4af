/**
 * Task outcomes: what the service tells a publisher about the events it published. Each is a
 * CloudEvent (structured mode, specversion 1.0) put on the stack's outcome bus, so a publisher
 * subscribes with an EventBridge rule of its own (DetailType = the outcome type).
 *
 * - `task.created`: the task exists (ContactId), with the create event's source, id and idempotency key;
 * - `task.rejected`: the event was parked PERMANENT or EXHAUSTED: its class, code, reason, DLQ message id;
 * - `task.accepted`: an agent accepted the task;
 * - `task.updated`: an update event was applied (UpdateContact);
 * - `task.completed`: the task ended: how (disconnect reason, after-contact work) and when.
 *
 * Ids are deterministic (lib/idempotency/ids.ts `outcomeId`): every copy of one outcome carries the same
 * id, so a consumer drops duplicates by id. Outcomes carry identifiers, states and times only; task
 * contents appear only as the rule's `notify.data` maps them, explicitly.
 */
import { outcomeId } from '#lib/idempotency/ids.ts';

/** The CloudEvent `source` and the EventBridge `Source` of every outcome: subscribe with `source: ["connect-task-ingest"]`. */
export const OUTCOME_SOURCE = 'connect-task-ingest';

export const OUTCOME_TYPES = [
  'task.created',
  'task.rejected',
  'task.accepted',
  'task.updated',
  'task.completed',
] as const;
export type OutcomeType = (typeof OUTCOME_TYPES)[number];

/** What a create rule asked for (`notify`), as its task's ledger entry keeps it. */
export interface NotifySpec {
  outcomes: readonly OutcomeType[];
  /** The rule's `notify.data`, evaluated over the create event. */
  data?: Record<string, unknown>;
}

/** The event an outcome is about: the create event (or the rejected event). */
interface OutcomeSubject {
  source: string;
  id: string;
  idempotencyKey?: string;
}

export interface OutcomeData {
  event: OutcomeSubject;
  ruleId?: string;
  instanceId?: string;
  contactId?: string;
  /** task.rejected */
  failure?: { class: string; code: string; reason: string; dlqMessageId?: string };
  /** task.accepted, task.completed */
  agent?: { id: string; connectedAt?: string };
  /** task.updated */
  update?: { eventId: string; eventTime: string };
  /** task.completed */
  completion?: {
    disconnectedAt?: string;
    completedAt: string;
    disconnectReason?: string;
    afterContactWork?: { startedAt?: string; endedAt?: string };
  };
  /** The rule's `notify.data`. */
  mapped?: Record<string, unknown>;
}

/** A CloudEvent (structured mode): the Detail of the EventBridge entry. */
export interface Outcome {
  specversion: '1.0';
  id: string;
  /** `OUTCOME_SOURCE`; the bus tells the stage. */
  source: typeof OUTCOME_SOURCE;
  type: OutcomeType;
  /** The ContactId; for a rejection, `<event source>/<event id>`. */
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: OutcomeData;
}

/** The outcome `type` of `subject`, as one task's or one event's: same inputs, same id. */
export function buildOutcome(
  type: OutcomeType,
  idParts: readonly string[],
  subject: string,
  at: number,
  data: OutcomeData,
): Outcome {
  return {
    specversion: '1.0',
    id: outcomeId(type, idParts),
    source: OUTCOME_SOURCE,
    type,
    subject,
    time: new Date(at).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

/** True when `notify` asks for `type`. */
export function wants(notify: NotifySpec | undefined, type: OutcomeType): notify is NotifySpec {
  return notify?.outcomes.includes(type) === true;
}
