/**
 * The chaos scenario's verdict: what Connect and the DLQ hold, compared with what upstream sent
 * (common/chaos/scenario.ts), as counts and one line per broken promise, and the lines
 * `npm run chaos` prints. bench/chaos/run.ts gathers the inputs on the sandbox; the outcomes and the
 * ledger entries are checked by common/chaos/outcomes.ts.
 */
import { LANES, type Lane } from '#lib/lanes.ts';
import {
  checkLedger,
  checkOutcomes,
  type LedgerReport,
  type OutcomesInput,
  type OutcomesReport,
} from './outcomes.ts';
import type { ChaosTask, DlqRead } from './reads.ts';
import { CHAOS_EVENT_ATTRIBUTE, type ChaosEvent, type EventKind, EXPECTED_CODES } from './scenario.ts';

interface LaneReport {
  /** Events sent to this lane's queue (upstream duplicates not counted twice). */
  events: number;
  valid: number;
  tasks: number;
  /** Tasks beyond the first per event of this lane. */
  duplicates: number;
  lost: number;
  /** Valid events of this lane whose task was started in a lane other than the expected one. */
  misplaced: number;
}

export interface ChaosReport {
  seed: number;
  messagesSent: number;
  events: { total: number; valid: number; invalid: number; upstreamDuplicates: number };
  eventsByKind: Partial<Record<EventKind, number>>;
  tasks: {
    created: number;
    distinctClientTokens: number;
    distinctNames: number;
    distinctEvents: number;
    /** Tasks beyond the first per ClientToken, per Name or per event (all must be 0). */
    duplicates: number;
  };
  dlq: {
    entries: number;
    distinctEvents: number;
    /** `${class} ${code}` → entries. */
    byReason: Record<string, number>;
    /** Entries beyond the first for one event (SQS duplicate deliveries of an invalid message). */
    extraCopies: number;
    /** Entries without a readable failure record. */
    withoutReason: number;
  };
  accounting: {
    lost: number;
    validNotCreated: number;
    unknown: number;
    /**
     * Only when the run did not finish: events (updates and closes included) still on their way when
     * it stopped, in a lane queue or parked for a replay (OVER_QUOTA, TaskNotFound). Not lost.
     */
    pending: number;
  };
  /** Updates and completes of the CRM cases: each must be applied or found stale, the newest update last. */
  lifecycle: {
    updates: number;
    completes: number;
    /** Lifecycle messages with no applied/stale outcome, or parked in the DLQ. */
    lost: number;
    /** Tasks whose final Description/status is not their newest update's. */
    reordered: number;
  };
  /** The same accounting per lane an event was sent to. */
  byLane: Record<Lane, LaneReport>;
  /** Fault and outcome counters observed during the run. */
  observed: {
    connect: Record<string, number>;
    killedInvocations: number;
    invocations: number;
    recordOutcomes: Record<string, number>;
    redriveReplayed: number;
    redriveRuns: number;
    /** Updates/completes parked TaskNotFound (their create was held up longer) that ops replayed. */
    taskNotFoundReplayed: number;
    /** The Connect emulator's contact events, with the fault mode's drops and repeats. */
    contactEvents: { emitted: number; delivered: number; dropped: number; repeated: number };
    /** contactEvents function invocations on the contact events queue, and those killed before their deletes. */
    contactEventInvocations: number;
    killedContactEventInvocations: number;
    /** PutEvents calls of the ingest and contactEvents functions, and those that "crashed" before or after the bus. */
    putEvents: { calls: number; crashedBefore: number; crashedAfter: number };
    /** What the simulated agents did; `refused`: the emulator said no (the task had ended meanwhile). */
    agents: { accepted: number; completed: number; withAfterWork: number; refused: number };
    /** Runs of the contact events sweep schedule (each round and the settling at the end). */
    contactSweeps: {
      runs: number;
      failed: number;
      checked: number;
      closed: number;
      confirmed: number;
      drained: number;
    };
  };
  /** The outcome bus against the end state; absent when the run did not get that far. */
  outcomes?: OutcomesReport;
  /** The ledger entries against the emulator; absent when the run did not get that far. */
  ledger?: LedgerReport;
  rounds: number;
  clockAdvancedSeconds: number;
  faultsOffFromRound: number;
  elapsedMs: number;
  /** Why the run stopped before it could prove anything (absent: it finished). */
  unfinished?: string;
  /** Every broken promise, one line each; empty when the run is clean. */
  violations: string[];
}

export interface CompareInput {
  seed: number;
  events: readonly ChaosEvent[];
  sends: readonly ChaosEvent[];
  tasks: readonly ChaosTask[];
  dlq: readonly DlqRead[];
  connectCounts: Record<string, number>;
  /** Why the run stopped early; absent when it drained. */
  unfinished?: string;
  /** Tracking ids of the events still in a lane queue when an unfinished run stopped. */
  queued?: ReadonlySet<string>;
  /** ClientToken → the lanes its task was started (or found started) in; absent: not checked. */
  startedIn?: ReadonlyMap<string, ReadonlySet<Lane>>;
  /** Tracking id of an update/complete → its deliveries' outcomes; absent: every one counts as lost. */
  lifecycleOutcomes?: ReadonlyMap<string, ReadonlySet<string>>;
  /** The outcome bus and the ledger after the final sweep; absent: not checked (an unfinished run). */
  loop?: OutcomesInput;
}

export function increment(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** Count per key (an absent key counts as "(none)"). */
function countBy<T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, number> {
  const groups = new Map<string, number>();
  for (const item of items) {
    const k = key(item) ?? '(none)';
    groups.set(k, (groups.get(k) ?? 0) + 1);
  }
  return groups;
}

/** Tasks: one per ClientToken, per Name, per event, each of a known valid event under its name. */
function checkTasks(input: CompareInput, byId: ReadonlyMap<string, ChaosEvent>, violations: string[]) {
  const { tasks } = input;
  const byToken = countBy(tasks, (t) => t.ClientToken);
  const byName = countBy(tasks, (t) => t.Name);
  const byEvent = countBy(tasks, (t) => t.Attributes[CHAOS_EVENT_ATTRIBUTE]);
  const extra = (groups: Map<string, number>) => [...groups.values()].reduce((s, n) => s + n - 1, 0);
  const duplicates = Math.max(extra(byToken), extra(byName), extra(byEvent));
  for (const [token, n] of byToken)
    if (n > 1) violations.push(`duplicate: ${n} tasks with ClientToken ${token}`);
  for (const [name, n] of byName) if (n > 1) violations.push(`duplicate: ${n} tasks named "${name}"`);
  let unknown = 0;
  for (const t of tasks) {
    const event = byId.get(t.Attributes[CHAOS_EVENT_ATTRIBUTE] ?? '');
    if (!event) {
      unknown += 1;
      violations.push(`task ${t.ContactId} carries no known ${CHAOS_EVENT_ATTRIBUTE}`);
    } else if (!event.valid) {
      violations.push(`invalid event ${event.id} (${event.kind}) became task ${t.ContactId}`);
    } else if (t.Name !== event.expectedName) {
      violations.push(
        `task ${t.ContactId} of ${event.id} is named "${t.Name}", expected "${event.expectedName}"`,
      );
    }
  }
  const createdEvents = [...byEvent.keys()].filter((k) => byId.get(k)?.valid).length;
  return { byToken, byName, byEvent, duplicates, unknown, createdEvents };
}

/** A DLQ entry a finished run would have replayed (the redrive, or ops for TaskNotFound). */
const awaitsReplay = (entry: DlqRead) => entry.failureClass === 'OVER_QUOTA' || entry.code === 'TaskNotFound';

/**
 * DLQ: every entry has a reason, invalid events their expected code, and no valid event or update is
 * parked (in an unfinished run, those waiting for a replay are pending instead).
 */
function checkDlq(input: CompareInput, byId: ReadonlyMap<string, ChaosEvent>, violations: string[]) {
  const byReason: Record<string, number> = {};
  const dlqByEvent = new Map<string, DlqRead[]>();
  const awaiting = new Set<string>();
  let withoutReason = 0;
  let unknown = 0;
  for (const entry of input.dlq) {
    if (entry.problem !== undefined || entry.failureClass === undefined || entry.code === undefined) {
      withoutReason += 1;
      violations.push(
        `DLQ entry of ${entry.eventId ?? 'an unknown event'} has no reason: ${entry.problem ?? 'no class/code'}`,
      );
    } else {
      increment(byReason, `${entry.failureClass} ${entry.code}`);
    }
    const list = dlqByEvent.get(entry.eventId ?? '') ?? [];
    list.push(entry);
    dlqByEvent.set(entry.eventId ?? '', list);
  }
  for (const [eventId, entries] of dlqByEvent) {
    const event = byId.get(eventId);
    if (!event) {
      unknown += entries.length;
      violations.push(`DLQ holds ${entries.length} entries of unknown event "${eventId}"`);
      continue;
    }
    for (const entry of entries) {
      if (event.valid && input.unfinished !== undefined && awaitsReplay(entry)) {
        awaiting.add(eventId);
      } else if (event.caseOf !== undefined) {
        violations.push(`${event.kind} ${eventId} is in the DLQ: ${entry.failureClass} ${entry.code}`);
      } else if (event.valid) {
        violations.push(
          `valid event ${eventId} (${event.kind}) is in the DLQ: ${entry.failureClass} ${entry.code}`,
        );
      } else if (entry.failureClass !== 'PERMANENT' || entry.code !== EXPECTED_CODES[event.kind]) {
        violations.push(
          `event ${eventId} (${event.kind}) parked as ${entry.failureClass} ${entry.code}, expected PERMANENT ${EXPECTED_CODES[event.kind]}`,
        );
      }
    }
  }
  const extraCopies = [...dlqByEvent.values()].reduce((s, list) => s + list.length - 1, 0);
  return { byReason, dlqByEvent, awaiting, withoutReason, unknown, extraCopies };
}

/**
 * Lifecycle: every update/complete applied or found stale (never lost, never parked), and each
 * updated task's final state is its newest update's, whatever order they arrived in.
 */
function checkLifecycle(
  input: CompareInput,
  lifecycle: readonly ChaosEvent[],
  isPending: (id: string) => boolean,
  dlqByEvent: ReadonlyMap<string, unknown>,
  violations: string[],
) {
  let lost = 0;
  let pending = 0;
  let reordered = 0;
  const newestUpdate = new Map<string, number>();
  for (const e of lifecycle) {
    const outcomes = input.lifecycleOutcomes?.get(e.id);
    const done = outcomes !== undefined && outcomes.size > 0;
    if (!done && isPending(e.id)) pending += 1;
    else if (!done || dlqByEvent.has(e.id)) {
      lost += 1;
      violations.push(`lost: ${e.kind} ${e.id} was neither applied nor found stale`);
    }
    if (e.kind === 'update' && e.caseOf !== undefined && e.seq !== undefined) {
      newestUpdate.set(e.caseOf, Math.max(newestUpdate.get(e.caseOf) ?? 0, e.seq));
    }
  }
  // An unfinished run may stop before the newest update is applied: nothing to hold it to.
  for (const [caseOf, seq] of input.unfinished === undefined ? newestUpdate : []) {
    const task = input.tasks.find((t) => t.Attributes[CHAOS_EVENT_ATTRIBUTE] === caseOf);
    const status = task?.References?.status?.Value;
    if (task && (task.Description !== `Update ${seq}` || status !== `s${seq}`)) {
      reordered += 1;
      violations.push(
        `task of ${caseOf} ends with update "${task.Description}" / status ${status}, expected its newest, Update ${seq}`,
      );
    }
  }
  return { lost, pending, reordered };
}

/** Per lane: the accounting over the events sent to it, and where their tasks were started. */
function laneFigures(
  input: CompareInput,
  events: readonly ChaosEvent[],
  byId: ReadonlyMap<string, ChaosEvent>,
  found: { byEvent: ReadonlyMap<string, number>; dlqByEvent: ReadonlyMap<string, unknown> },
  isPending: (id: string) => boolean,
  violations: string[],
): Record<Lane, LaneReport> {
  const byLane = Object.fromEntries(
    LANES.map((lane) => [lane, { events: 0, valid: 0, tasks: 0, duplicates: 0, lost: 0, misplaced: 0 }]),
  ) as Record<Lane, LaneReport>;
  for (const e of events) {
    const lane = byLane[e.lane];
    const count = found.byEvent.get(e.id) ?? 0;
    lane.events += 1;
    if (e.valid) lane.valid += 1;
    lane.tasks += count;
    lane.duplicates += Math.max(0, count - 1);
    if (count === 0 && !found.dlqByEvent.has(e.id) && !isPending(e.id)) lane.lost += 1;
  }
  for (const t of input.startedIn ? input.tasks : []) {
    const event = byId.get(t.Attributes[CHAOS_EVENT_ATTRIBUTE] ?? '');
    if (!event?.valid) continue;
    const lanes = [...(input.startedIn?.get(t.ClientToken ?? '') ?? [])];
    // A task Connect created while its caller saw an error (a lost response) has no delivery that saw
    // it yet; in an unfinished run that delivery may still be on its way: pending, not misplaced.
    if (lanes.length === 0 && isPending(event.id)) continue;
    const wrong = lanes.filter((lane) => lane !== event.expectedLane);
    if (lanes.length === 0 || wrong.length > 0) {
      byLane[event.lane].misplaced += 1;
      violations.push(
        `task of ${event.id} (${event.kind}, sent to ${event.lane}) started in lane ${lanes.join('+') || 'none seen'}, expected ${event.expectedLane}`,
      );
    }
  }
  return byLane;
}

/**
 * Compares what Connect and the DLQ hold with what was sent. Exported for its own unit test: the
 * checks must be able to fail. An unfinished run is compared too: what it holds so far, with the
 * events still on their way counted as pending, not lost.
 */
export function compare(input: CompareInput): ChaosReport {
  const violations: string[] = [];
  if (input.unfinished !== undefined) violations.push(`the run did not finish: ${input.unfinished}`);
  const byId = new Map(input.events.map((e) => [e.id, e]));
  // Updates and completes are checked apart: they make no task of their own.
  const lifecycle = input.events.filter((e) => e.caseOf !== undefined);
  const events = input.events.filter((e) => e.caseOf === undefined);
  const valid = events.filter((e) => e.valid);
  const eventsByKind: Partial<Record<EventKind, number>> = {};
  for (const e of input.events) increment(eventsByKind, e.kind);

  const tasks = checkTasks(input, byId, violations);
  const dlq = checkDlq(input, byId, violations);
  const isPending = (id: string) => input.queued?.has(id) === true || dlq.awaiting.has(id);
  const lifecycleFigures = checkLifecycle(input, lifecycle, isPending, dlq.dlqByEvent, violations);

  // Accounting by event: every sent event is a task or a DLQ entry (or, unfinished, on its way).
  let lost = 0;
  let validNotCreated = 0;
  let pending = lifecycleFigures.pending;
  for (const e of events) {
    const inTasks = (tasks.byEvent.get(e.id) ?? 0) > 0;
    if (!inTasks && isPending(e.id)) pending += 1;
    else if (!inTasks && !dlq.dlqByEvent.has(e.id)) {
      lost += 1;
      violations.push(`lost: event ${e.id} (${e.kind}) is neither a task nor in the DLQ`);
    } else if (e.valid && !inTasks) {
      validNotCreated += 1;
    }
  }

  // Nothing invalid reached Connect.
  for (const code of ['InvalidParameterException', 'InvalidRequestException', 'ResourceNotFoundException']) {
    const n = input.connectCounts[code] ?? 0;
    if (n > 0) violations.push(`Connect answered ${n} StartTaskContact calls with ${code}`);
  }
  const byLane = laneFigures(input, events, byId, { ...tasks, ...dlq }, isPending, violations);
  if (input.unfinished === undefined && input.tasks.length !== valid.length) {
    violations.push(`${input.tasks.length} tasks for ${valid.length} distinct valid events`);
  }
  const loopInput = input.loop && { ...input, loop: input.loop };
  const outcomes = loopInput && checkOutcomes(loopInput, violations);
  const ledger = loopInput && checkLedger(loopInput, violations);

  return {
    seed: input.seed,
    messagesSent: input.sends.length,
    events: {
      total: events.length,
      valid: valid.length,
      invalid: events.length - valid.length,
      upstreamDuplicates: input.sends.length - input.events.length,
    },
    eventsByKind,
    tasks: {
      created: input.tasks.length,
      distinctClientTokens: tasks.byToken.size,
      distinctNames: tasks.byName.size,
      distinctEvents: tasks.createdEvents,
      duplicates: tasks.duplicates,
    },
    dlq: {
      entries: input.dlq.length,
      distinctEvents: dlq.dlqByEvent.size,
      byReason: dlq.byReason,
      extraCopies: dlq.extraCopies,
      withoutReason: dlq.withoutReason,
    },
    accounting: { lost, validNotCreated, unknown: tasks.unknown + dlq.unknown, pending },
    lifecycle: {
      updates: lifecycle.filter((e) => e.kind === 'update').length,
      completes: lifecycle.filter((e) => e.kind === 'complete').length,
      lost: lifecycleFigures.lost,
      reordered: lifecycleFigures.reordered,
    },
    byLane,
    observed: {
      connect: { ...input.connectCounts },
      killedInvocations: 0,
      invocations: 0,
      recordOutcomes: {},
      redriveReplayed: 0,
      redriveRuns: 0,
      taskNotFoundReplayed: 0,
      contactEvents: { emitted: 0, delivered: 0, dropped: 0, repeated: 0 },
      contactEventInvocations: 0,
      killedContactEventInvocations: 0,
      putEvents: { calls: 0, crashedBefore: 0, crashedAfter: 0 },
      agents: { accepted: 0, completed: 0, withAfterWork: 0, refused: 0 },
      contactSweeps: { runs: 0, failed: 0, checked: 0, closed: 0, confirmed: 0, drained: 0 },
    },
    ...(outcomes ? { outcomes } : {}),
    ...(ledger ? { ledger } : {}),
    rounds: 0,
    clockAdvancedSeconds: 0,
    faultsOffFromRound: 0,
    elapsedMs: 0,
    ...(input.unfinished !== undefined ? { unfinished: input.unfinished } : {}),
    violations,
  };
}

/** `npm run chaos`'s exit code: 0 every promise held, 1 a violation, 2 the run did not finish. */
export function chaosExitCode(r: ChaosReport): 0 | 1 | 2 {
  if (r.unfinished !== undefined) return 2;
  return r.violations.length === 0 ? 0 : 1;
}

/** The outcomes, the ledger, and what drove them: contact events, PutEvents crashes, agents, sweeps. */
function loopLines(r: ChaosReport): string[] {
  const o = r.outcomes;
  const l = r.ledger;
  const { contactEvents: ce, putEvents: pe, agents: a, contactSweeps: sw } = r.observed;
  const types = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([type, n]) => `${type.replace('task.', '')} ${n}`)
      .join(', ');
  return [
    ...(o
      ? [
          `  outcomes:               ${o.published} published, ${o.distinct} distinct (${types(o.byType)}); ${o.duplicates} duplicates, ${o.conflicting} conflicting`,
          `                          expected ${o.expected}: ${o.lost} lost${o.lost > 0 ? ` (${types(o.lostByType)})` : ''}, ${o.mismatched} mismatched; ${o.unasked} not asked for; ${o.unread} unread`,
        ]
      : ['  outcomes:               not checked']),
    l
      ? `  ledger:                 ${l.tasks} tasks: ${l.entries} entries (${l.closed} closed, ${l.open} open), ${l.missing} missing; ${l.notFinal} not final, ${l.pendingEffects} effects pending, ${l.factsDisagree} disagree with the emulator`
      : '  ledger:                 not checked',
    `  contact events:         ${ce.emitted} emitted, ${ce.delivered} delivered (${ce.dropped} dropped, ${ce.repeated} repeated); ${r.observed.contactEventInvocations} invocations (${r.observed.killedContactEventInvocations} killed)`,
    `  PutEvents:              ${pe.calls} calls, ${pe.crashedBefore} crashed before the bus, ${pe.crashedAfter} after`,
    `  agents:                 ${a.accepted} accepted, ${a.completed} completed (${a.withAfterWork} with after-contact work), ${a.refused} refused`,
    `  contact sweeps:         ${sw.runs} runs (${sw.failed} failed): ${sw.checked} checked, ${sw.closed} closed, ${sw.confirmed} ended on our StopContact read once, ${sw.drained} drained`,
  ];
}

/** The report as the lines `npm run chaos` prints. */
export function formatChaosReport(r: ChaosReport): string {
  const kv = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `    ${k}: ${v}`)
      .join('\n');
  const pending =
    r.unfinished !== undefined ? `; still on their way when the run stopped: ${r.accounting.pending}` : '';
  return [
    `chaos run (seed ${r.seed}): ${r.elapsedMs} ms, ${r.rounds} drain rounds, clock +${r.clockAdvancedSeconds} s, faults off from round ${r.faultsOffFromRound}`,
    ...(r.unfinished !== undefined ? [`  DID NOT FINISH:         ${r.unfinished}`] : []),
    `  sent messages:          ${r.messagesSent} (${r.events.upstreamDuplicates} upstream duplicates)`,
    `  events:                 ${r.events.total} (${r.events.valid} valid, ${r.events.invalid} invalid)`,
    `  tasks created:          ${r.tasks.created} (distinct ClientTokens ${r.tasks.distinctClientTokens}, names ${r.tasks.distinctNames}, events ${r.tasks.distinctEvents})`,
    `  duplicates:             ${r.tasks.duplicates}`,
    `  DLQ entries:            ${r.dlq.entries} (${r.dlq.distinctEvents} events, ${r.dlq.extraCopies} extra copies, ${r.dlq.withoutReason} without reason)`,
    kv(r.dlq.byReason),
    `  lost:                   ${r.accounting.lost}; valid not created: ${r.accounting.validNotCreated}; unknown: ${r.accounting.unknown}${pending}`,
    `  lifecycle:              ${r.lifecycle.updates} updates, ${r.lifecycle.completes} completes; ${r.lifecycle.lost} lost, ${r.lifecycle.reordered} tasks not at their newest update`,
    '  per lane sent to (events, valid, tasks, duplicated, lost, started in the wrong lane):',
    ...LANES.map((lane) => {
      const l = r.byLane[lane];
      return `    ${lane.padEnd(7)} ${l.events} events, ${l.valid} valid, ${l.tasks} tasks, ${l.duplicates} duplicated, ${l.lost} lost, ${l.misplaced} misplaced`;
    }),
    ...loopLines(r),
    `  invocations:            ${r.observed.invocations} (${r.observed.killedInvocations} killed before their deletes)`,
    `  redrive:                ${r.observed.redriveRuns} runs, ${r.observed.redriveReplayed} replayed; ops replayed ${r.observed.taskNotFoundReplayed} TaskNotFound`,
    '  Connect StartTaskContact outcomes:',
    kv(r.observed.connect),
    '  record outcomes:',
    kv(r.observed.recordOutcomes),
    `  violations:             ${r.violations.length}`,
    ...r.violations.slice(0, 50).map((v) => `    - ${v}`),
  ].join('\n');
}
