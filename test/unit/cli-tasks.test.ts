import { describe, expect, it } from 'vitest';
import type { CliIo } from '#cli/context.ts';
import { run } from '#cli/main.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), readStdin: async () => '' };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

describe('task-ingest tasks show (command line)', () => {
  it('wants a contactId or --source with --key, not both, not one of the pair (exit 2)', async () => {
    const env = { CONNECT_INSTANCE_IDS: '11111111-2222-3333-4444-555555555555' };
    for (const argv of [
      ['tasks', 'show'],
      ['tasks', 'show', '--source', 's'],
      ['tasks', 'show', 'c-1', '--source', 's', '--key', 'k'],
    ]) {
      const c = capture();
      const code = await run(['--stage', 'dev', ...argv], { io: c.io, env });
      expect(code, argv.join(' ')).toBe(2);
      expect(c.err()).toMatch(/give a contactId/);
    }
  });

  it('asks for --instance-id when the stage instances are unknown (AWS, no CONNECT_INSTANCE_IDS)', async () => {
    // Act
    const c = capture();
    const code = await run(['--stage', 'prod', 'tasks', 'show', 'c-1'], { io: c.io, env: {} });

    // Assess
    expect(code).toBe(2);
    expect(c.err()).toContain('pass --instance-id (or set CONNECT_INSTANCE_IDS)');
  });
});
