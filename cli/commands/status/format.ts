/** The human output of `task-ingest status`: backlog, DLQ, open tasks, budget per operation, drain. */
import type { StatusReport } from '#cli/commands/status/collect.ts';
import type { OpenTasksStatus } from '#cli/commands/status/open-tasks.ts';
import { ago, duration, table } from '#cli/format.ts';
import type { DrainEstimate, OperationStatus } from '#lib/budget/status.ts';
import { LANES } from '#lib/lanes.ts';

const rate = (perSecond: number) => `${perSecond.toFixed(2)}/s`;
const percent = (share: number | null) => (share === null ? '-' : `${(share * 100).toFixed(1)}%`);

function operationLines(op: OperationStatus, nowMs: number): string[] {
  const lines = [`${op.operation}`];
  if (!op.hasBudget) {
    lines.push('  no calls yet (no budget item)');
  } else {
    const budget = op.budget
      ? `budget ${rate(op.budget.ratePerSecond)} (${percent(op.budget.fraction)} of the ceiling, ${op.budget.phase})`
      : 'budget -';
    lines.push(`  ceiling ${op.ceiling === null ? '-' : rate(op.ceiling)}, ${budget}`);
    lines.push(
      op.lastThrottle
        ? `  last throttle ${ago(op.lastThrottle.at, nowMs)} (${op.lastThrottle.at}), hold ${percent(op.lastThrottle.hold)}`
        : '  never throttled',
    );
    lines.push(
      `  fallback to the local rate: ${op.fallback.recent ? 'YES, in the window' : 'not in the window'} (last ${ago(op.fallback.lastAt, nowMs)})`,
    );
  }
  const w = op.window;
  if (!op.hasBudget && w.calls === 0) return lines;
  lines.push(
    `  last ${w.minutes} min: ${w.calls} calls, ${w.throttled} throttled (${percent(w.throttledShare)}),` +
      ` achieved ${rate(w.achievedPerSecond)} = ${percent(w.budgetShare)} of the budget`,
  );
  const minuteRows = [['  minute (UTC)', 'calls', 'throttled']];
  for (const m of op.minutes)
    minuteRows.push([`  ${m.startsAt.slice(11, 16)}`, String(m.calls), String(m.throttled)]);
  lines.push(...table(minuteRows, 1));
  const active = LANES.filter((lane) => op.lanes[lane].granted > 0 || op.lanes[lane].lastDemandAt !== null);
  if (active.length > 0) {
    const laneRows = [['  lane', 'granted', 'per second', 'mean wait', 'last demand']];
    for (const lane of active) {
      const l = op.lanes[lane];
      laneRows.push([
        `  ${lane}`,
        String(l.granted),
        rate(l.grantedPerSecond),
        l.meanWaitMs === null ? '-' : `${Math.round(l.meanWaitMs)}ms`,
        ago(l.lastDemandAt, nowMs),
      ]);
    }
    lines.push(...table(laneRows, 1));
  }
  return lines;
}

function openTaskLines(status: OpenTasksStatus): string[] {
  const { quota } = status;
  const against =
    quota === null
      ? `no quota to compare with (${status.quotaError})`
      : `active-task quota ${quota.value}, from ${quota.from}`;
  const lines = [`Open tasks (the service's, per instance; ${against})`];
  if (status.missing) return [...lines, `  ledger table ${status.table} not found`];
  if (status.instancesUnknown !== undefined) return [...lines, `  ${status.instancesUnknown}`];
  const rows = [['  instance', 'open', 'quota', 'share']];
  for (const i of status.instances)
    rows.push([
      `  ${i.instanceId}`,
      String(i.open),
      quota === null ? '-' : String(quota.value),
      percent(i.share),
    ]);
  return [...lines, ...table(rows, 1)];
}

function drainLine(drain: DrainEstimate): string {
  switch (drain.basis) {
    case 'empty':
      return 'Drain: nothing waiting in the lane queues';
    case 'achieved':
      return `Drain: about ${duration(drain.seconds ?? 0)} for ${drain.backlog} message(s) at the achieved ${rate(drain.ratePerSecond ?? 0)} (StartTaskContact, last minutes)`;
    case 'budget':
      return `Drain: about ${duration(drain.seconds ?? 0)} for ${drain.backlog} message(s) at the current budget ${rate(drain.ratePerSecond ?? 0)} (nothing ran in the window)`;
    default:
      return `Drain: unknown for ${drain.backlog} message(s) (no StartTaskContact calls and no budget yet)`;
  }
}

export function formatStatus(report: StatusReport): string {
  const nowMs = Date.parse(report.at);
  const lines: string[] = [];
  const window = report.budget.missing ? '' : `, window ${report.budget.status.minutes} min`;
  lines.push(`connect-task-ingest status (stage ${report.stage ?? '-'}, ${report.at}${window})`, '');

  lines.push('Backlog');
  const rows = [['  lane', 'visible', 'in flight', 'delayed', 'total']];
  for (const lane of report.lanes) {
    if (lane.missing) rows.push([`  ${lane.lane}`, 'missing', '', '', '']);
    else
      rows.push([
        `  ${lane.lane}`,
        String(lane.visible),
        String(lane.inFlight),
        String(lane.delayed),
        String(lane.total),
      ]);
  }
  rows.push(['  all lanes', '', '', '', String(report.backlog)]);
  lines.push(...table(rows, 1));
  for (const lane of report.lanes) if (lane.missing) lines.push(`  (${lane.lane}: ${lane.reason})`);
  lines.push('');

  const dlq = report.dlq;
  if (dlq.missing) {
    lines.push(`DLQ: missing (${dlq.reason ?? ''})`);
  } else {
    const c = dlq.counts;
    lines.push(
      `DLQ: ${c?.visible ?? 0} visible, ${c?.inFlight ?? 0} in flight, ${c?.delayed ?? 0} delayed` +
        (dlq.scanned > 0 ? `; by class, of ${dlq.scanned} read${dlq.complete ? '' : ' (not all)'}:` : ''),
    );
    const classRows = Object.entries(dlq.byClass).map(([cls, sums]) => [
      `  ${cls}`,
      String(sums.count),
      `oldest first failure ${ago(sums.oldestFirstFailureAt, nowMs)}`,
    ]);
    if (classRows.length > 0) lines.push(...table(classRows, 1));
  }
  lines.push('', ...openTaskLines(report.openTasks), '');

  if (report.budget.missing) {
    lines.push(`Budget: table ${report.budget.table} not found`);
  } else {
    for (const op of report.budget.status.operations) lines.push(...operationLines(op, nowMs), '');
  }
  lines.push(drainLine(report.drain));
  return `${lines.join('\n')}\n`;
}
