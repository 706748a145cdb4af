import { describe, expect, it } from 'vitest';
import { INSTANCE_ID } from '#common/world.ts';
import { runCli } from '#test/support/cli.ts';

describe('task-ingest tasks show (command line)', () => {
  it('wants a contactId or --source with --key, not both, not one of the pair (exit 2)', async () => {
    const env = { CONNECT_INSTANCE_IDS: INSTANCE_ID };
    for (const argv of [
      ['tasks', 'show'],
      ['tasks', 'show', '--source', 's'],
      ['tasks', 'show', 'c-1', '--source', 's', '--key', 'k'],
    ]) {
      const c = await runCli(['--stage', 'dev', ...argv], { env });
      expect(c.code, argv.join(' ')).toBe(2);
      expect(c.err).toMatch(/give a contactId/);
    }
  });

  it('asks for --instance-id when the stage instances are unknown (AWS, no CONNECT_INSTANCE_IDS)', async () => {
    // Act
    const c = await runCli(['--stage', 'prod', 'tasks', 'show', 'c-1'], { env: {} });

    // Assess
    expect(c.code).toBe(2);
    expect(c.err).toContain('pass --instance-id (or set CONNECT_INSTANCE_IDS)');
  });
});
