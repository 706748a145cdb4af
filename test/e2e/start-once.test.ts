import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

describe('npm start -- --once', () => {
  it('drains the demo, then shows a transfer, an agent completing a task and the parked event created as its slot frees, and exits 0', () => {
    // Act: the same entry point `npm start` runs, on a free port.
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'sandbox/main.ts', '--once', '--port', '0'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
    });
    // Assess
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/sandbox on http:\/\/127\.0\.0\.1:\d+/);
    const at = out.indexOf('▸ sandbox clock');
    expect(at).toBeGreaterThan(0);
    const drained = out.slice(0, at);
    const scenario = out.slice(at);
    // The drain: one task per distinct valid event (the repeated CloudEvent is suppressed), DLQ reasons.
    expect(drained).toContain('tasks created: 5');
    // A CRM case opened, edited and closed: one task, updated, then completed.
    expect(drained).toMatch(
      /Case 1003: Parcel arrived damaged \(photos received\) {2}\(updated, completed\)/,
    );
    expect(drained).toContain('Case 1001: Customer cannot reset password');
    expect(drained).toContain('Delayed order 5001');
    expect(drained).toContain('escalate-after-2h: PENDING');
    expect(drained).toContain('DLQ entries: 3');
    expect(drained).toMatch(/PERMANENT MalformedJson: message body is not valid JSON/);
    expect(drained).toMatch(/PERMANENT NoMatchingRule \[com\.example\.unknown\]/);
    expect(drained).toMatch(
      /ValidationFailed \[com\.example\.returns\]: TaskTemplateId: the task template is INACTIVE/,
    );
    // The scenario: the plan transfers; an event over the active-task quota is parked; an agent
    // accepts and completes a task; its slot brings the parked event back within seconds; the
    // publisher gets the task's outcomes; the redrive deletes the parked copy (its task exists).
    expect(scenario).toMatch(/OVER_QUOTA ServiceQuotaExceededException/);
    expect(scenario).toMatch(/an agent accepts task \S+ and completes it/);
    expect(scenario).toMatch(/the publisher gets task\.accepted \(agent /);
    expect(scenario).toMatch(/the publisher gets task\.completed \(agent [^)]+\), AGENT_DISCONNECT/);
    expect(scenario).toMatch(
      /the parked event is a task within [\d.]+ s of the slot freeing: Case 1002: Invoice shows the wrong address/,
    );
    expect(scenario).toContain('1 OVER_QUOTA copy deleted from the DLQ: its task exists');
    // Then the task schedules start and the clock moves to the next occurrence: one task for it.
    expect(scenario).toMatch(
      /▸ sandbox clock \+[^:]+: task schedule (weekday-escalations|monthly-disputes) \(cron\([^)]*\), Europe\/Berlin\) is due at /,
    );
    expect(scenario).toContain('tasks created: 7');
    expect(scenario).toMatch(/Check the overnight escalations|Review the open disputes/);
    expect(scenario).toContain('Case 1002: Invoice shows the wrong address');
    expect(scenario).toMatch(/Case 1001: Customer cannot reset password {2}\(transferred 1×\)/);
    expect(scenario).toContain('escalate-after-2h: DONE');
    expect(scenario.split('DLQ entries:').at(-1)).not.toContain('OVER_QUOTA');
    expect(run.stderr).not.toContain('No application metrics');
  });
});
