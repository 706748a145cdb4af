/**
 * What the service knows of a task's life in Connect, as a fold of facts: at most one fact per
 * contact event type, each a snapshot of what one event (or a DescribeContact, or our own StopContact)
 * said. Pure: no I/O.
 *
 * Contact events are delivered best effort: late, repeated, out of order or not at all (Amazon Connect
 * admin guide, "Amazon Connect contact events"). The fold is built for that:
 * - **Per type, one fact wins** by a total order (`outranks`): an event from Connect beats a
 *   DescribeContact reading, which beats our own StopContact; then the later time; then the larger
 *   reference. The winner does not depend on the order facts arrive in, and a repeated fact changes
 *   nothing.
 * - **The view** (`viewOf`) is the highest type present (INITIATED < QUEUED < CONNECTED_TO_AGENT <
 *   DISCONNECTED < COMPLETED), each field taken from the highest fact that carries it. An older event
 *   arriving late never rolls the state back, and a missing event leaves only its own gap (every event
 *   carries the timestamps known so far).
 * - A task is **open** until a COMPLETED fact exists: COMPLETED is when the contact has fully ended,
 *   after-contact work included.
 */

export const CONTACT_EVENT_TYPES = [
  'INITIATED',
  'QUEUED',
  'CONNECTED_TO_AGENT',
  'DISCONNECTED',
  'COMPLETED',
] as const;
export type ContactEventType = (typeof CONTACT_EVENT_TYPES)[number];

/** Where a fact came from: a contact event, a DescribeContact reading, or our own StopContact. */
export type FactSource = 'event' | 'reconcile' | 'api';

/** What Connect said of the contact at one point: the agent, the queue, every time so far (epoch ms). */
interface ContactSnapshot {
  agentId?: string;
  queueId?: string;
  initiatedAt?: number;
  enqueuedAt?: number;
  connectedAt?: number;
  disconnectedAt?: number;
  acwStartAt?: number;
  acwEndAt?: number;
  disconnectReason?: string;
}

export interface ContactFact extends ContactSnapshot {
  type: ContactEventType;
  /** When it happened (epoch ms): the type's own timestamp, else the event's time. */
  at: number;
  /** What said it: the EventBridge event id, `describe`, or the lifecycle event id. */
  ref: string;
  via: FactSource;
}

export type ContactFacts = Partial<Record<ContactEventType, ContactFact>>;

/** The task as the facts tell it: each snapshot field from the furthest fact that has it. */
export interface TaskView extends ContactSnapshot {
  /** The furthest type seen; undefined before any fact. */
  state?: ContactEventType;
  open: boolean;
  completedAt?: number;
}

const VIA_RANK: Record<FactSource, number> = { api: 0, reconcile: 1, event: 2 };

/** True when `a` takes the place of `b` (same type): a total order, so the fold is order-independent. */
function outranks(a: ContactFact, b: ContactFact): boolean {
  if (VIA_RANK[a.via] !== VIA_RANK[b.via]) return VIA_RANK[a.via] > VIA_RANK[b.via];
  if (a.at !== b.at) return a.at > b.at;
  return a.ref > b.ref;
}

export interface FoldResult {
  facts: ContactFacts;
  /** False when the fact changed nothing (a repeat, or one outranked by the stored fact). */
  changed: boolean;
  /** True when no fact of this type was known before: the type's first arrival. */
  first: boolean;
}

/** Folds one fact into the facts (the input is not modified). */
export function foldFact(facts: ContactFacts, fact: ContactFact): FoldResult {
  const stored = facts[fact.type];
  if (stored !== undefined && !outranks(fact, stored)) return { facts, changed: false, first: false };
  return { facts: { ...facts, [fact.type]: fact }, changed: true, first: stored === undefined };
}

const VIEW_FIELDS = [
  'agentId',
  'queueId',
  'initiatedAt',
  'enqueuedAt',
  'connectedAt',
  'disconnectedAt',
  'acwStartAt',
  'acwEndAt',
  'disconnectReason',
] as const;

/**
 * The view of the facts: the furthest type, each field from the furthest fact that has it. What
 * Connect said (an event, a DescribeContact reading) comes before what our own call assumed: a
 * `complete` rule's StopContact records reason `API`, but an agent may have disconnected the contact
 * before it, and Connect's DISCONNECTED then knows better even when its COMPLETED event is lost.
 */
export function viewOf(facts: ContactFacts): TaskView {
  const present = CONTACT_EVENT_TYPES.filter((type) => facts[type] !== undefined).reverse();
  const view: TaskView = { open: facts.COMPLETED === undefined };
  const top = present[0];
  if (top !== undefined) view.state = top;
  const fromConnect = present.filter((type) => facts[type]?.via !== 'api');
  const byAuthority = [...fromConnect, ...present.filter((type) => facts[type]?.via === 'api')];
  for (const field of VIEW_FIELDS) {
    for (const type of byAuthority) {
      const value = facts[type]?.[field];
      if (value !== undefined) {
        (view as unknown as Record<string, unknown>)[field] = value;
        break;
      }
    }
  }
  if (facts.COMPLETED !== undefined) view.completedAt = facts.COMPLETED.at;
  return view;
}
