/**
 * The chaos verdict on closing the loop: the outcomes on the outcome bus and the ledger entries,
 * compared with what Connect (the emulator) and the DLQ hold at the end of a run. Pure: the run on the
 * sandbox (bench/chaos/run.ts) reads the bus and the ledger, common/chaos/report.ts calls these checks.
 *
 * - **Outcomes lost**: every created task has its task.created; every task an agent accepted its
 *   task.accepted; every completed task (an agent, a complete rule, auto-complete) its task.completed;
 *   every applied update its task.updated; every event parked PERMANENT or EXHAUSTED its task.rejected;
 *   each only when the rule that speaks for the event asks for it. The expected ids are derived the way
 *   the service derives them (lib/idempotency/ids.ts `outcomeId`), so a copy under another id is lost.
 * - **Duplicates**: publishing is at least once, so one outcome may be on the bus more than once; every
 *   copy of one id must be the same outcome (type, subject, data). An outcome its rule did not ask for
 *   is a violation too.
 * - **Ledger final**: every task's entry exists, is closed exactly when the emulator shows the task
 *   COMPLETED, has no effect pending, and its facts name the agent and disconnect reason the emulator
 *   knows.
 */
import { outcomeId } from '#lib/idempotency/ids.ts';
import { OUTCOME_TYPES, type OutcomeType } from '#lib/outcomes/outcome.ts';
import type { ChaosTask, DlqRead } from './reads.ts';
import { asksFor, CHAOS_EVENT_ATTRIBUTE, type ChaosEvent } from './scenario.ts';

/** One outcome as the outcome bus kept it: the CloudEvent of the entry's Detail. */
export interface PublishedOutcome {
  id: string;
  type: string;
  subject: string;
  data: unknown;
}

/** A task's ledger entry as the run read it at the end. */
export interface LedgerRead {
  /** Epoch ms; absent while the entry is open. */
  closedAt?: number;
  /** Effects recorded and not acknowledged. */
  pending: number;
  /** The fold of its facts (lib/contact-events/progress.ts `viewOf`). */
  agentId?: string;
  disconnectReason?: string;
  /** The facts it holds, `<type> via <source>` (for the violation lines). */
  facts?: readonly string[];
}

export interface OutcomesInput {
  published: readonly PublishedOutcome[];
  /** Outcomes put on the bus that the run could not read back (dropped from the bus's kept events first). */
  unread: number;
  /** ClientToken → its entry; a task whose token is absent has none. */
  ledger: ReadonlyMap<string, LedgerRead>;
}

export interface OutcomesReport {
  /** Entries on the outcome bus, copies included. */
  published: number;
  /** Distinct outcome ids. */
  distinct: number;
  /** Distinct outcomes per type. */
  byType: Record<string, number>;
  /** Copies beyond the first per id. */
  duplicates: number;
  /** Ids whose copies are not all the same outcome (type, subject, data). */
  conflicting: number;
  /** Outcomes that must be on the bus (distinct ids). */
  expected: number;
  /** Expected outcomes not on the bus, in all and per type. */
  lost: number;
  lostByType: Record<string, number>;
  /** Expected ids found with another type or subject. */
  mismatched: number;
  /** Outcomes whose rule did not ask for them, or about an event nobody sent. */
  unasked: number;
  /** Outcomes the run could not read back from the bus. */
  unread: number;
}

export interface LedgerReport {
  /** Tasks of valid events the emulator holds. */
  tasks: number;
  entries: number;
  missing: number;
  closed: number;
  open: number;
  /** Entries open when the task is COMPLETED (or closed when it is not), or with effects pending. */
  notFinal: number;
  /** Effects pending over all entries. */
  pendingEffects: number;
  /** Entries whose agent or disconnect reason is not the emulator's. */
  factsDisagree: number;
}

export interface LoopCheckInput {
  events: readonly ChaosEvent[];
  tasks: readonly ChaosTask[];
  dlq: readonly DlqRead[];
  /** Tracking id of an update/complete → its deliveries' outcomes (`updated` when it was applied). */
  lifecycleOutcomes?: ReadonlyMap<string, ReadonlySet<string>>;
  loop: OutcomesInput;
}

interface Expected {
  id: string;
  type: OutcomeType;
  subject: string;
  /** What it is about, for the violation line. */
  what: string;
}

/** JSON with the keys of every object sorted: two copies compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** The tasks of valid events, each with its event (the first task per event). */
function tasksOfEvents(input: LoopCheckInput): Array<{ task: ChaosTask; event: ChaosEvent }> {
  const byId = new Map(input.events.map((e) => [e.id, e]));
  const out: Array<{ task: ChaosTask; event: ChaosEvent }> = [];
  for (const task of input.tasks) {
    const event = byId.get(task.Attributes[CHAOS_EVENT_ATTRIBUTE] ?? '');
    if (event?.valid && task.ClientToken !== undefined) out.push({ task, event });
  }
  return out;
}

/** Every outcome the end state calls for, once per id. */
function expectedOutcomes(input: LoopCheckInput): Expected[] {
  const out = new Map<string, Expected>();
  const add = (kind: ChaosEvent['kind'], e: Omit<Expected, 'id'>, parts: readonly string[]) => {
    if (asksFor(kind, e.type)) out.set(outcomeId(e.type, parts), { ...e, id: outcomeId(e.type, parts) });
  };
  const tasks = tasksOfEvents(input);
  for (const { task, event } of tasks) {
    const token = task.ClientToken as string;
    const about = (type: OutcomeType, why: string) => ({
      type,
      subject: task.ContactId,
      what: `${type} of ${event.id} (task ${task.ContactId}${why})`,
    });
    add(event.kind, about('task.created', ''), [token]);
    if (task.ConnectedToAgentTimestamp !== undefined)
      add(event.kind, about('task.accepted', `, accepted by agent ${task.UserId}`), [token]);
    if (task.CompletedTimestamp !== undefined)
      add(event.kind, about('task.completed', `, completed, ${task.DisconnectReason ?? 'no reason'}`), [
        token,
      ]);
  }
  const taskOf = new Map(tasks.map(({ task, event }) => [event.id, task]));
  for (const e of input.events) {
    const task = taskOf.get(e.caseOf ?? '');
    if (e.kind !== 'update' || !task || !e.envelope || !input.lifecycleOutcomes?.get(e.id)?.has('updated'))
      continue;
    const what = `task.updated of ${e.id} (task ${task.ContactId}, update ${e.envelope.id})`;
    add(e.kind, { type: 'task.updated', subject: task.ContactId, what }, [
      task.ClientToken as string,
      e.envelope.id,
    ]);
  }
  const byId = new Map(input.events.map((e) => [e.id, e]));
  for (const entry of input.dlq) {
    const event = byId.get(entry.eventId ?? '');
    const parked = entry.failureClass === 'PERMANENT' || entry.failureClass === 'EXHAUSTED';
    if (!parked || !event?.envelope || entry.code === undefined) continue;
    const { source, id } = event.envelope;
    const what = `task.rejected of ${event.id} (${event.kind}, ${entry.failureClass} ${entry.code})`;
    add(event.kind, { type: 'task.rejected', subject: `${source}/${id}`, what }, [
      source,
      id,
      entry.failureClass as string,
      entry.code,
    ]);
  }
  return [...out.values()];
}

/** The paths (`data.failure.dlqMessageId`) at which two JSON values differ. */
function differingPaths(a: unknown, b: unknown, path = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => differingPaths(a[k], b[k], path ? `${path}.${k}` : k));
  }
  return canonicalJson(a) === canonicalJson(b) ? [] : [path || '(the value)'];
}

/** The copies per id; ids whose copies differ are reported. */
function groupCopies(published: readonly PublishedOutcome[], violations: string[]) {
  const copies = new Map<string, PublishedOutcome[]>();
  for (const o of published) copies.set(o.id, [...(copies.get(o.id) ?? []), o]);
  let conflicting = 0;
  for (const [id, list] of copies) {
    const shape = (o: PublishedOutcome) => ({ type: o.type, subject: o.subject, data: o.data });
    const shapes = new Set(list.map((o) => canonicalJson(shape(o))));
    if (shapes.size > 1) {
      conflicting += 1;
      const first = list[0] as PublishedOutcome;
      const other = list.find(
        (o) => canonicalJson(shape(o)) !== canonicalJson(shape(first)),
      ) as PublishedOutcome;
      violations.push(
        `outcome ${id} (${first.type} about ${first.subject}) was published ${list.length} times as ${shapes.size} different outcomes, differing in ${differingPaths(shape(first), shape(other)).join(', ')}`,
      );
    }
  }
  return { copies, conflicting };
}

/** Outcomes about an event nobody sent, or of a type its rule did not ask for. */
function unaskedOutcomes(
  input: LoopCheckInput,
  copies: ReadonlyMap<string, PublishedOutcome[]>,
  violations: string[],
): number {
  const byEnvelope = new Map(
    input.events.filter((e) => e.envelope).map((e) => [`${e.envelope?.source}\n${e.envelope?.id}`, e]),
  );
  let unasked = 0;
  for (const [id, [first]] of copies) {
    if (!first) continue;
    const about = (first.data as { event?: { source?: string; id?: string } } | undefined)?.event;
    const event = byEnvelope.get(`${about?.source}\n${about?.id}`);
    const type = first.type as OutcomeType;
    if (event !== undefined && OUTCOME_TYPES.includes(type) && asksFor(event.kind, type)) continue;
    unasked += 1;
    violations.push(
      event === undefined
        ? `outcome ${id} (${first.type}) is about an event nobody sent: ${about?.source}/${about?.id}`
        : `outcome ${id} (${first.type}) of ${event.id} was published, but its rule does not ask for it`,
    );
  }
  return unasked;
}

/** Outcomes: none lost, copies of one id alike, none its rule did not ask for. */
export function checkOutcomes(input: LoopCheckInput, violations: string[]): OutcomesReport {
  const { published, unread } = input.loop;
  if (unread > 0)
    violations.push(`${unread} outcomes on the bus were not read back: the outcome checks are incomplete`);
  const { copies, conflicting } = groupCopies(published, violations);
  const byType: Record<string, number> = {};
  for (const [first] of copies.values()) if (first) byType[first.type] = (byType[first.type] ?? 0) + 1;
  const expected = expectedOutcomes(input);
  const factsOf = (contactId: string) => {
    const task = input.tasks.find((t) => t.ContactId === contactId);
    const facts =
      task?.ClientToken === undefined ? undefined : input.loop.ledger.get(task.ClientToken)?.facts;
    return facts === undefined ? '' : `; the ledger holds ${facts.join(', ') || 'no facts'}`;
  };
  const lostByType: Record<string, number> = {};
  let lost = 0;
  let mismatched = 0;
  for (const e of expected) {
    const found = copies.get(e.id)?.[0];
    if (found === undefined) {
      lost += 1;
      lostByType[e.type] = (lostByType[e.type] ?? 0) + 1;
      violations.push(`outcome lost: ${e.what}${e.type === 'task.rejected' ? '' : factsOf(e.subject)}`);
    } else if (found.type !== e.type || found.subject !== e.subject) {
      mismatched += 1;
      violations.push(`outcome ${e.id}: ${e.what} was published as ${found.type} about ${found.subject}`);
    }
  }
  return {
    published: published.length,
    distinct: copies.size,
    byType,
    duplicates: published.length - copies.size,
    conflicting,
    expected: expected.length,
    lost,
    lostByType,
    mismatched,
    unasked: unaskedOutcomes(input, copies, violations),
    unread,
  };
}

/** The entry against the emulator's task: closed exactly when COMPLETED, nothing pending, the same facts. */
function entryProblems(task: ChaosTask, read: LedgerRead): { final: string[]; facts: string[] } {
  const final: string[] = [];
  const facts: string[] = [];
  const completed = task.CompletedTimestamp !== undefined;
  if (completed !== (read.closedAt !== undefined)) {
    final.push(
      `is ${completed ? 'open' : 'closed'}, the emulator shows the task ${completed ? 'COMPLETED' : (task.State ?? 'active')}`,
    );
  }
  if (read.pending > 0) final.push(`has ${read.pending} effects pending`);
  if (task.UserId !== undefined && read.agentId !== task.UserId)
    facts.push(`names agent ${read.agentId ?? '(none)'}, the emulator ${task.UserId}`);
  if (task.DisconnectReason !== undefined && read.disconnectReason !== task.DisconnectReason) {
    facts.push(
      `has disconnect reason ${read.disconnectReason ?? '(none)'}, the emulator ${task.DisconnectReason}`,
    );
  }
  return { final, facts };
}

/** Ledger: every task's entry in its final state, agreeing with the emulator. */
export function checkLedger(input: LoopCheckInput, violations: string[]): LedgerReport {
  const report: LedgerReport = {
    tasks: 0,
    entries: 0,
    missing: 0,
    closed: 0,
    open: 0,
    notFinal: 0,
    pendingEffects: 0,
    factsDisagree: 0,
  };
  for (const { task, event } of tasksOfEvents(input)) {
    report.tasks += 1;
    const read = input.loop.ledger.get(task.ClientToken as string);
    const name = `ledger entry of ${event.id} (task ${task.ContactId})`;
    if (read === undefined) {
      report.missing += 1;
      violations.push(`${name} does not exist`);
      continue;
    }
    report.entries += 1;
    if (read.closedAt === undefined) report.open += 1;
    else report.closed += 1;
    report.pendingEffects += read.pending;
    const problems = entryProblems(task, read);
    if (problems.final.length > 0) report.notFinal += 1;
    if (problems.facts.length > 0) report.factsDisagree += 1;
    for (const p of [...problems.final, ...problems.facts]) violations.push(`${name} ${p}`);
  }
  return report;
}
