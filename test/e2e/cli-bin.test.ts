/**
 * The `task-ingest` bin as ops run it: `node bin/task-ingest.mjs`, from its JavaScript build
 * (scripts/build-cli.mjs; the bin makes it again when the sources changed), in its own process
 * against a sandbox started here, whose clock the test moves hours ahead of this machine's.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '#cli/commands/status/collect.ts';
import { buildOutcome } from '#lib/outcomes/outcome.ts';
import { EventBridgeOutcomePublisher } from '#lib/outcomes/publisher.ts';
import { buildDlqMessage } from '#lib/retry/dlq-message.ts';
import { type Sandbox, startSandbox } from '#sandbox/index.ts';
import { loopbackClientConfig } from '#test/support/loopback.ts';

const root = resolve(import.meta.dirname, '../..');
const HOUR = 3_600_000;

/** The environment the bin runs in: this process's, without an endpoint, credentials or stage. */
function binEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    'AWS_ENDPOINT_URL',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'TASK_INGEST_STAGE',
  ]) {
    delete env[name];
  }
  return env;
}

/** Runs the bin in its own process (asynchronously: the sandbox of this process must keep answering). */
async function bin(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/task-ingest.mjs', ...args], {
      cwd: root,
      env: binEnv(),
      timeout: 60_000,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, out: failed.stdout ?? '', err: failed.stderr ?? '' };
  }
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

describe('the task-ingest bin', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    // Builds dist/cli first when the sources changed since the last build (a note on stderr).
    await bin(['--help']);
    sandbox = await startSandbox({ port: 0 });
  }, 120_000);
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('prints the command groups for --help from the build, with nothing on stderr', async () => {
    // Act
    const help = await bin(['--help']);

    // Assess
    expect(help.code).toBe(0);
    expect(help.err).toBe('');
    for (const group of [
      'rules',
      'templates',
      'send',
      'dlq',
      'transfers',
      'tasks',
      'outcomes',
      'schedules',
      'status',
    ]) {
      expect(help.out).toMatch(new RegExp(`^  ${group} `, 'm'));
    }
  });

  it("ages DLQ messages and stamps the status on the sandbox's clock, not this machine's", async () => {
    // Prepare: the sandbox's clock 3 h ahead; a message that failed 10 minutes ago on that clock.
    sandbox.clock.advance(3 * HOUR);
    const message = buildDlqMessage({
      body: '{"id":"evt-aged"}',
      attributes: { source: { dataType: 'String', stringValue: 'com.example.aged' } },
      messageId: 'first-aged',
      failure: {
        class: 'PERMANENT',
        code: 'ValidationFailed',
        message: 'Name: too long',
        source: 'com.example.aged',
      },
      now: sandbox.clock.now() - 10 * 60_000,
    });
    await sandbox.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: sandbox.environment.DLQ_URL as string, ...message }),
    );

    // Act
    const list = await bin(['--endpoint', sandbox.endpoint, 'dlq', 'list']);
    const status = await bin(['--endpoint', sandbox.endpoint, 'status', '--json']);

    // Assess
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/PERMANENT {2}ValidationFailed {2}source=com\.example\.aged .* age=10m/);
    expect(status.code, status.err).toBe(0);
    const report = JSON.parse(status.out) as StatusReport;
    expect(Math.abs(Date.parse(report.at) - sandbox.clock.now())).toBeLessThan(60_000);
    expect(report.dlq.byClass.PERMANENT?.count).toBe(1);
  });

  it('says an endpoint cannot be reached, naming it, instead of "cannot find queue"', async () => {
    // Prepare
    const endpoint = `http://127.0.0.1:${await closedPort()}`;

    // Act
    const status = await bin(['--endpoint', endpoint, 'status']);

    // Assess
    expect(status.code).toBe(1);
    expect(status.err).toContain(
      `cannot reach ${endpoint} (connection refused, ECONNREFUSED): is the sandbox running?`,
    );
    expect(status.err).not.toContain('cannot find queue');
  });

  it("refuses to count schedule occurrences from this machine's clock when the sandbox does not answer", async () => {
    // Prepare
    const endpoint = `http://127.0.0.1:${await closedPort()}`;

    // Act
    const next = await bin(['--endpoint', endpoint, 'schedules', 'next', 'weekday-escalations']);

    // Assess
    expect(next.code).toBe(1);
    expect(next.err).toContain(`cannot reach ${endpoint}`);
    expect(next.out).toBe('');
  });

  it('follows the outcomes on the bus, printing each as it is published, and exits 0 on Ctrl-C (SIGINT)', async () => {
    // Prepare
    const eventbridge = new EventBridgeClient(loopbackClientConfig(sandbox.endpoint));
    const publisher = new EventBridgeOutcomePublisher(eventbridge, 'connect-task-ingest-local-outcomes');
    const publish = (type: 'task.created' | 'task.accepted', id: string) =>
      publisher.publish([
        buildOutcome(type, [id], `contact-${id}`, sandbox.clock.now(), {
          event: { source: 'com.example.follow', id },
        }),
      ]);
    await publish('task.created', 'f-1');
    const child = spawn(
      process.execPath,
      [
        'bin/task-ingest.mjs',
        '--endpoint',
        sandbox.endpoint,
        'outcomes',
        'tail',
        '--follow',
        '--interval',
        '100',
      ],
      { cwd: root, env: binEnv() },
    );
    let out = '';
    let err = '';
    const waiters: Array<() => void> = [];
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const wake of waiters.splice(0)) wake();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const exited = new Promise<number | null>((done) =>
      child.on('exit', (code) => {
        for (const wake of waiters.splice(0)) wake();
        done(code);
      }),
    );
    const printed = async (text: string) => {
      while (!out.includes(text)) {
        if (child.exitCode !== null) throw new Error(`the bin exited ${child.exitCode}: ${err}`);
        await new Promise<void>((wake) => waiters.push(wake));
      }
    };

    // Act
    await printed('com.example.follow/f-1');
    await publish('task.accepted', 'f-2');
    await printed('com.example.follow/f-2');
    child.kill('SIGINT');
    const code = await exited;
    eventbridge.destroy();

    // Assess
    expect(code, err).toBe(0);
    expect(err).toBe('');
    const lines = out.trim().split('\n');
    expect(lines.filter((line) => line.includes('com.example.follow/'))).toEqual([
      expect.stringMatching(
        /^#\d+ {2}\S+ {2}task\.created {4}o-\S+ {2}contact-f-1 {2}com\.example\.follow\/f-1$/,
      ),
      expect.stringMatching(
        /^#\d+ {2}\S+ {2}task\.accepted {3}o-\S+ {2}contact-f-2 {2}com\.example\.follow\/f-2$/,
      ),
    ]);
  });
});
