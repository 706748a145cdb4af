import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

describe('npm start -- --once', () => {
  it('drains the demo, prints the created tasks, the transfer and the DLQ reasons, and exits 0', () => {
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
    expect(out).toContain('tasks created: 4');
    expect(out).toContain('Case 1001: Customer cannot reset password');
    expect(out).toContain('Delayed order 5001');
    expect(out).toContain('escalate-after-2h: DONE');
    expect(out).toContain('DLQ entries: 3');
    expect(out).toMatch(/PERMANENT MalformedJson: message body is not valid JSON/);
    expect(out).toMatch(/PERMANENT NoMatchingRule \[com\.example\.unknown\]/);
    expect(out).toMatch(
      /ValidationFailed \[com\.example\.returns\]: TaskTemplateId: the task template is INACTIVE/,
    );
  });
});
