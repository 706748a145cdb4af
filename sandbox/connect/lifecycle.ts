/**
 * The life of a contact after it is created, each step with the contact event it publishes:
 *
 *   queued (QUEUED) → connected to an agent (CONNECTED_TO_AGENT) → disconnected (DISCONNECTED)
 *   → completed (COMPLETED: at once, or when the agent's after-contact work ends)
 *
 * plus the steps that come due on the emulator clock (`sweepContacts`): a scheduled task's QUEUED
 * at its ScheduledTime, auto-complete after `autoCompleteAfterSeconds` (disconnect reason EXPIRED),
 * and COMPLETED when after-contact work is over. Each runs at its own due time, in time order.
 */
import type { ContactEventType } from './contact-event-detail.ts';
import type { ContactRecord } from './contact-record.ts';
import type { ConnectState } from './state.ts';

/** The contact enters `queueId` at `at` (also a transfer to a queue); any agent lets go of it. */
export function queueContact(state: ConnectState, contact: ContactRecord, queueId: string, at: number): void {
  Object.assign(contact, {
    queueId,
    enqueueTimestamp: at,
    queueDueTimestamp: undefined,
    userId: undefined,
    connectedToAgentTimestamp: undefined,
  });
  changed(state, contact, at, 'QUEUED');
}

/**
 * The agent `userId` accepts the contact at `at`. `fromQueue` false (a transfer to the agent): the
 * contact leaves its queue.
 */
export function connectToAgent(
  state: ConnectState,
  contact: ContactRecord,
  userId: string,
  at: number,
  fromQueue = true,
): void {
  const leftQueue = fromQueue ? {} : { queueId: undefined, enqueueTimestamp: undefined };
  Object.assign(contact, {
    ...leftQueue,
    queueDueTimestamp: undefined,
    userId,
    connectedToAgentTimestamp: at,
  });
  changed(state, contact, at, 'CONNECTED_TO_AGENT');
}

/** The contact changed at `at`: its last update moves there, and the event of the change is published. */
function changed(state: ConnectState, contact: ContactRecord, at: number, type: ContactEventType): void {
  contact.lastUpdateTimestamp = Math.max(contact.lastUpdateTimestamp, at);
  state.emit(type, contact);
}

/**
 * The contact ends at `at` with `reason`. Without after-contact work it completes at once (COMPLETED
 * right after DISCONNECTED, with the same data); with `afterContactWorkSeconds` the agent's work
 * starts now and the sweep completes it when the seconds have passed on the emulator clock.
 */
export function disconnectContact(
  state: ConnectState,
  contact: ContactRecord,
  at: number,
  reason: string,
  afterContactWorkSeconds?: number,
): void {
  state.endContact(contact, at, reason);
  if (afterContactWorkSeconds !== undefined) {
    contact.afterContactWorkStartTimestamp = at;
    contact.afterContactWorkSeconds = afterContactWorkSeconds;
    state.waiting.add(contact);
  }
  state.emit('DISCONNECTED', contact);
  if (afterContactWorkSeconds === undefined) completeContact(state, contact, at);
}

/** The contact is done at `at`: after-contact work (if any) ends, the quota slot is freed. */
function completeContact(state: ConnectState, contact: ContactRecord, at: number): void {
  const seconds = contact.afterContactWorkSeconds;
  if (seconds !== undefined) {
    contact.afterContactWorkEndTimestamp = at;
    contact.afterContactWorkDuration = seconds;
    contact.afterContactWorkSeconds = undefined;
  }
  state.completeContact(contact, at);
  state.emit('COMPLETED', contact);
}

interface Due {
  at: number;
  /** False once an earlier step changed the contact so that this one no longer applies. */
  applies(): boolean;
  run(): void;
}

/** What has come due by `t`: steps of the waiting contacts, and auto-complete of the active tasks. */
function dueSteps(state: ConnectState, t: number): Due[] {
  const steps: Due[] = [];
  for (const contact of state.waiting) {
    const { queueDueTimestamp: queueAt, queueId, afterContactWorkStartTimestamp: acwStart } = contact;
    const seconds = contact.afterContactWorkSeconds;
    if (queueAt === undefined && seconds === undefined) state.waiting.delete(contact);
    if (queueAt !== undefined && queueAt <= t && queueId !== undefined) {
      steps.push({
        at: queueAt,
        applies: () => contact.state === 'ACTIVE' && contact.queueDueTimestamp === queueAt,
        run: () => queueContact(state, contact, queueId, queueAt),
      });
    }
    const acwEnd = seconds === undefined || acwStart === undefined ? undefined : acwStart + seconds * 1000;
    if (acwEnd !== undefined && acwEnd <= t) {
      steps.push({
        at: acwEnd,
        applies: () => contact.completedTimestamp === undefined,
        run: () => completeContact(state, contact, acwEnd),
      });
    }
  }
  return [...steps, ...expirySteps(state, t)].sort((a, b) => a.at - b.at);
}

/** Auto-complete (`autoCompleteAfterSeconds`): the active tasks past their time, reason EXPIRED. */
function expirySteps(state: ConnectState, t: number): Due[] {
  const after = state.config().autoCompleteAfterSeconds;
  if (after === null) return [];
  const steps: Due[] = [];
  for (const ids of state.activeTasks.values()) {
    for (const id of ids) {
      const contact = state.contacts.get(id);
      const at =
        contact === undefined ? Number.POSITIVE_INFINITY : contact.initiationTimestamp + after * 1000;
      if (contact?.state !== 'ACTIVE' || at > t) continue;
      steps.push({
        at,
        applies: () => contact.state === 'ACTIVE',
        run: () => disconnectContact(state, contact, at, 'EXPIRED'),
      });
    }
  }
  return steps;
}

/** Runs every step due by now, oldest first; one an earlier step made moot is skipped. */
export function sweepContacts(state: ConnectState): void {
  for (const step of dueSteps(state, state.now())) if (step.applies()) step.run();
}
