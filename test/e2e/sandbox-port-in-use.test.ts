/** `npm start -- --port <busy>`: a clear message and exit 1, not a stack trace. */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

describe('npm start on a port in use', () => {
  let busy: Server;
  let port: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((done) => busy.listen(0, '127.0.0.1', done));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((done) => busy.close(() => done()));
  });

  it('says the port is in use and how to pick another, without a stack trace, and exits 1', () => {
    // Act: the entry point `npm start` runs.
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'sandbox/main.ts', '--no-pipeline', '--port', String(port)],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );

    // Assess
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`port ${port} is in use (another sandbox running?)`);
    expect(run.stderr).toContain('npm start -- --port 4567, or SANDBOX_PORT=0');
    expect(run.stderr).not.toContain('EADDRINUSE');
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});
