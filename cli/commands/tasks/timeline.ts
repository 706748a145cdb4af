/**
 * A task's timeline for `task-ingest tasks show`: what the ledger knows of it, in time order (its
 * creation, each contact fact folded from Connect's contact events, a DescribeContact reading or our
 * own StopContact, the lifecycle events applied, each outcome published), and its state now (open or
 * closed, the next reconcile check while open, the effects still pending). Pure: no I/O.
 *
 * The ledger keeps one fact per contact event type (lib/contact-events/progress.ts) and, of the
 * update events, only the newest applied (`TaskLifecycle`, lib/ledger/port.ts): the timeline shows
 * what is kept, no more. An entry written before the service folded contact events has no facts and
 * no reconcile check: its state is `untracked` and the timeline says "no contact events recorded".
 */
import { iso, table } from '#cli/format.ts';
import {
  CONTACT_EVENT_TYPES,
  type ContactEventType,
  type FactSource,
  viewOf,
} from '#lib/contact-events/progress.ts';
import type { TaskLifecycle, TaskProgress } from '#lib/ledger/port.ts';
import type { Effect } from '#lib/outcomes/effects.ts';

type TimelineEvent =
  /** The ledger entry: the task was created for this event. */
  | { kind: 'created'; eventId: string }
  /** A contact fact: the type, what said it (`ref`: the EventBridge event id, or the lifecycle event id of our StopContact). */
  | {
      kind: 'contact';
      type: ContactEventType;
      via: FactSource;
      ref: string;
      agentId?: string;
      queueId?: string;
      disconnectReason?: string;
    }
  /** The newest update event applied; `at` is that event's own time. */
  | { kind: 'updated'; eventId: string }
  /** The complete event applied (service clock). */
  | { kind: 'completed'; eventId: string }
  /** An outcome published on the outcome bus; `at` is when it was acknowledged. */
  | { kind: 'outcome'; type: string; id: string };

/** One line of the timeline: epoch ms and its ISO form. */
type TimelineItem = { at: number; time: string } & TimelineEvent;

/** An effect recorded on the entry and not yet performed. */
interface PendingEffect {
  kind: Effect['kind'];
  id: string;
  /** publish: the outcome type. */
  outcome?: string;
  /** release: the slots it frees. */
  slots?: number;
}

interface TaskNow {
  /** `untracked`: no facts and no reconcile check (the entry predates contact events). */
  status: 'open' | 'closed' | 'untracked';
  /** The furthest contact event type recorded; null before any. */
  state: ContactEventType | null;
  /** How many contact facts the entry keeps (at most one per type). */
  contactEvents: number;
  closedAt?: number;
  /** The next reconcile check (DescribeContact) while open; closed, the one reading of a task our StopContact alone ended. */
  nextCheckAt?: number;
  agentId?: string;
  queueId?: string;
  disconnectReason?: string;
  pending: PendingEffect[];
}

export interface TaskTimeline {
  timeline: TimelineItem[];
  now: TaskNow;
}

const item = (at: number, event: TimelineEvent): TimelineItem => ({ at, time: iso(at), ...event });

/** The timeline and state of a task from its progress, lifecycle and pending effects. */
export function buildTimeline(
  progress: TaskProgress,
  lifecycle: TaskLifecycle,
  pending: readonly Effect[],
): TaskTimeline {
  const { entry, facts } = progress;
  const items: TimelineItem[] = [item(entry.createdAt, { kind: 'created', eventId: entry.eventId })];
  for (const type of CONTACT_EVENT_TYPES) {
    const fact = facts[type];
    if (fact === undefined) continue;
    items.push(
      item(fact.at, {
        kind: 'contact',
        type,
        via: fact.via,
        ref: fact.ref,
        ...(fact.agentId === undefined ? {} : { agentId: fact.agentId }),
        ...(fact.queueId === undefined ? {} : { queueId: fact.queueId }),
        ...(fact.disconnectReason === undefined ? {} : { disconnectReason: fact.disconnectReason }),
      }),
    );
  }
  if (lifecycle.lastEventAt !== undefined)
    items.push(item(lifecycle.lastEventAt, { kind: 'updated', eventId: lifecycle.lastEventId ?? '?' }));
  if (lifecycle.completedAt !== undefined)
    items.push(
      item(lifecycle.completedAt, { kind: 'completed', eventId: lifecycle.completedEventId ?? '?' }),
    );
  for (const sent of progress.sent)
    items.push(item(sent.at, { kind: 'outcome', type: sent.type, id: sent.id }));
  // Stable: at one instant the order above holds (created, the facts in type order, lifecycle, outcomes).
  items.sort((a, b) => a.at - b.at);
  return { timeline: items, now: stateNow(progress, pending) };
}

function stateNow(progress: TaskProgress, pending: readonly Effect[]): TaskNow {
  const view = viewOf(progress.facts);
  const contactEvents = CONTACT_EVENT_TYPES.filter((type) => progress.facts[type] !== undefined).length;
  const status =
    progress.closedAt !== undefined
      ? 'closed'
      : progress.checkAt === undefined && contactEvents === 0
        ? 'untracked'
        : 'open';
  return {
    status,
    state: view.state ?? null,
    contactEvents,
    ...(progress.closedAt === undefined ? {} : { closedAt: progress.closedAt }),
    // Open: the next reconcile check; closed: the one reading of a task our own StopContact ended.
    ...(status === 'untracked' || progress.checkAt === undefined ? {} : { nextCheckAt: progress.checkAt }),
    ...(view.agentId === undefined ? {} : { agentId: view.agentId }),
    ...(view.queueId === undefined ? {} : { queueId: view.queueId }),
    ...(view.disconnectReason === undefined ? {} : { disconnectReason: view.disconnectReason }),
    pending: pending.map((effect) =>
      effect.kind === 'publish'
        ? { kind: effect.kind, id: effect.id, outcome: effect.outcome.type }
        : { kind: effect.kind, id: effect.id, slots: effect.slots },
    ),
  };
}

const VIA: Record<FactSource, (ref: string) => string> = {
  event: (ref) => `contact event ${ref}`,
  reconcile: () => 'DescribeContact (reconcile)',
  api: (ref) => `our StopContact (lifecycle event ${ref})`,
};

function describeItem(event: TimelineEvent): [string, string] {
  switch (event.kind) {
    case 'created':
      return ['created', `ledger entry, event ${event.eventId}`];
    case 'contact': {
      const details = [
        VIA[event.via](event.ref),
        ...(event.agentId === undefined ? [] : [`agent ${event.agentId}`]),
        ...(event.queueId === undefined ? [] : [`queue ${event.queueId}`]),
        ...(event.disconnectReason === undefined ? [] : [`reason ${event.disconnectReason}`]),
      ];
      return [event.type, details.join(', ')];
    }
    case 'updated':
      return ['update applied', `event ${event.eventId} (the time is the event's own)`];
    case 'completed':
      return ['complete applied', `event ${event.eventId}`];
    case 'outcome':
      return [`${event.type} sent`, `outcome ${event.id}`];
  }
}

function pendingText(pending: readonly PendingEffect[]): string {
  if (pending.length === 0) return 'none';
  return pending
    .map((p) => (p.kind === 'publish' ? `publish ${p.outcome}` : `release ${p.slots} slot(s)`))
    .join(', ');
}

function stateLine(now: TaskNow): string {
  const furthest = now.state ?? 'no contact events recorded yet';
  switch (now.status) {
    case 'closed':
      return now.nextCheckAt === undefined
        ? `closed ${iso(now.closedAt)} (${now.state ?? '-'})`
        : `closed ${iso(now.closedAt)} (${now.state ?? '-'}) by our StopContact alone, DescribeContact reading due ${iso(now.nextCheckAt)}`;
    case 'open':
      return `open (${furthest}), next reconcile check ${iso(now.nextCheckAt)}`;
    default:
      return 'unknown: no contact events recorded and no reconcile check (the entry predates contact events)';
  }
}

/** The human output: the timeline and the state now. */
export function renderTimeline({ timeline, now }: TaskTimeline): string {
  const rows = timeline.map((entry) => [`  ${entry.time}`, ...describeItem(entry)]);
  let text = `\ntimeline (ledger)\n${table(rows).join('\n')}\n`;
  if (now.contactEvents === 0) text += '  no contact events recorded\n';
  text += '\nstate now\n';
  const pairs: Array<[string, string]> = [
    ['  state', stateLine(now)],
    ...(now.agentId === undefined ? [] : ([['  agent', now.agentId]] as Array<[string, string]>)),
    ...(now.queueId === undefined ? [] : ([['  queue', now.queueId]] as Array<[string, string]>)),
    ...(now.disconnectReason === undefined
      ? []
      : ([['  disconnect reason', now.disconnectReason]] as Array<[string, string]>)),
    ['  effects pending', pendingText(now.pending)],
  ];
  return `${text}${table(pairs).join('\n')}\n`;
}
