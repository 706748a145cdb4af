/**
 * The loop closed with Amazon Connect, as ops see it through the CLI against a sandbox running the
 * pipeline (the real function entry files): a rule with `"notify": {}` creates a task, an agent accepts
 * and completes it through the sandbox's agent routes, and `tasks show` prints its timeline, `status`
 * the open tasks against the emulator's quota, `outcomes tail` the outcomes on the outcome bus.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '#cli/commands/status/collect.ts';
import type { TaskReport } from '#cli/commands/tasks/report.ts';
import { FLOW_ID, INSTANCE_ID } from '#common/world.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import type { Outcome } from '#lib/outcomes/outcome.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import { type Sandbox, startSandbox } from '#sandbox/index.ts';
import { type Pipeline, startPipeline } from '#sandbox/pipeline.ts';
import { sandboxCli } from '#test/support/cli.ts';

const SOURCE = 'com.example.loop';
const BUS = 'connect-task-ingest-local-outcomes';
/** A guard against a hang while waiting on a condition, not a timing assertion. */
const GIVE_UP_MS = 20_000;

describe('tasks show, status and outcomes tail after a task is accepted and completed (sandbox, pipeline)', () => {
  let sandbox: Sandbox;
  let pipeline: Pipeline;
  let ledger: DynamoLedger;
  const cli = sandboxCli(() => sandbox.endpoint);

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    pipeline = await startPipeline(sandbox, { schedules: false });
    // The contactEvents function reads its own environment (CONTACT_EVENTS_QUEUE_URL, beside
    // provider.environment) when its module first loads, at its first invocation.
    Object.assign(process.env, sandbox.functionEnvironment('contactEvents'));
    ledger = new DynamoLedger({
      client: sandbox.clients.dynamodb,
      tableName: sandbox.environment.LEDGER_TABLE as string,
    });
    await new DynamoRuleStore({
      client: sandbox.clients.dynamodb,
      tableName: sandbox.environment.RULES_TABLE as string,
    }).put({
      source: SOURCE,
      ruleId: 'create',
      instanceId: INSTANCE_ID,
      target: { contactFlowId: FLOW_ID },
      mapping: { name: "'Loop ' & data.ref" },
      notify: {},
    });
    await admin('config', 'PUT', { activeTaskQuota: 10 });
  }, 60_000);
  afterAll(async () => {
    await pipeline?.stop();
    await sandbox?.stop();
  });

  async function admin(path: string, method = 'POST', body: unknown = {}): Promise<void> {
    const response = await fetch(`${sandbox.endpoint}/_sandbox/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status, `${method} ${path}: ${await response.clone().text()}`).toBeLessThan(300);
  }

  /** Resolves with `read()`'s value once `done` holds for it, checking every 20 ms. */
  async function until<T>(read: () => Promise<T> | T, done: (value: T) => boolean, what: string): Promise<T> {
    const giveUpAt = Date.now() + GIVE_UP_MS;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const outcomes = () =>
    sandbox.events.kept(BUS).events.map((kept) => kept.event.detail as unknown as Outcome);

  /** Sends the create event `id` and resolves with its task's ContactId, from its task.created outcome. */
  async function createTask(id: string): Promise<string> {
    await sandbox.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: sandbox.environment.INGEST_QUEUE_URL as string,
        MessageBody: JSON.stringify({
          specversion: '1.0',
          source: SOURCE,
          id,
          type: 'loop',
          data: { ref: id },
        }),
      }),
    );
    const created = await until(
      () => outcomes().find((o) => o.type === 'task.created' && o.data.event.id === id),
      (o) => o !== undefined,
      `task.created of ${id}`,
    );
    return created?.subject as string;
  }

  /** Waits until the task's entry lists `type` as sent and has nothing pending (the writer acknowledged). */
  async function settled(id: string, type: string): Promise<void> {
    const token = taskClientToken(INSTANCE_ID, SOURCE, id);
    await until(
      () => ledger.progress(token),
      (p) => p !== undefined && p.pending === 0 && p.sent.some((s) => s.type === type),
      `${type} of ${id} acknowledged`,
    );
  }

  it('shows the timeline, the open tasks against the quota and the outcomes published', async () => {
    // Prepare: one task accepted and completed by an agent, one left waiting in its queue.
    const done = await createTask('e-done');
    await admin(`contacts/${done}/accept`);
    await settled('e-done', 'task.accepted');
    await admin(`contacts/${done}/complete`);
    await settled('e-done', 'task.completed');
    await createTask('e-open');
    await settled('e-open', 'task.created');

    // Act
    const show = await cli(['tasks', 'show', done]);
    const shown = await cli(['tasks', 'show', done, '--json']);
    const status = await cli(['status', '--json', '--dlq-scan', '0']);
    const statusText = await cli(['status', '--dlq-scan', '0']);
    const tail = await cli(['outcomes', 'tail']);
    const tailJson = await cli(['outcomes', 'tail', '--json', '--type', 'task.completed']);

    // Assess: the timeline in time order, with the agent, the outcomes sent and the state now.
    expect(show.err).toBe('');
    expect(show.code).toBe(0);
    const timeline = show.out.slice(show.out.indexOf('timeline (ledger)'), show.out.indexOf('state now'));
    const order = [
      'created',
      'INITIATED',
      'QUEUED',
      'task.created sent',
      'CONNECTED_TO_AGENT',
      'task.accepted sent',
      'DISCONNECTED',
      'COMPLETED',
      'task.completed sent',
    ].map((label) => timeline.search(new RegExp(`Z  ${label.replace('.', '\\.')} `)));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect(order.filter((at, i) => i > 0 && at < (order[i - 1] as number))).toEqual([]);
    expect(timeline).toMatch(/CONNECTED_TO_AGENT\s+contact event \S+, agent \S+, queue \S+/);
    expect(timeline).toMatch(/DISCONNECTED\s+contact event \S+, .*reason AGENT_DISCONNECT/);
    expect(show.out).toMatch(/state now\n\s+state\s+closed \S+ \(COMPLETED\)/);
    expect(show.out).toMatch(/effects pending\s+none/);
    const report = JSON.parse(shown.out) as TaskReport;
    if ('error' in report.progress) throw new Error(report.progress.error);
    expect(report.progress.now).toMatchObject({ status: 'closed', state: 'COMPLETED', pending: [] });
    expect(report.progress.timeline.filter((i) => i.kind === 'outcome').map((i) => i.type)).toEqual([
      'task.created',
      'task.accepted',
      'task.completed',
    ]);

    // Assess: one open task (the waiting one) of the 10 the emulator allows, said to be the emulator's.
    expect(status.code, status.err).toBe(0);
    const { openTasks } = JSON.parse(status.out) as StatusReport;
    expect(openTasks.quota).toMatchObject({ value: 10, source: 'sandbox' });
    expect(openTasks.instances).toContainEqual({ instanceId: INSTANCE_ID, open: 1, share: 0.1 });
    expect(statusText.out).toMatch(/Open tasks .*active-task quota 10, from the sandbox Connect emulator/);
    expect(statusText.out).toMatch(new RegExp(`${INSTANCE_ID}\\s+1\\s+10\\s+10\\.0%`));

    // Assess: the outcomes on the bus, one line each, and the CloudEvent with --json.
    expect(tail.code, tail.err).toBe(0);
    const lines = tail.out.trim().split('\n');
    for (const type of ['task.created', 'task.accepted', 'task.completed']) {
      expect(
        lines.some((l) => l.includes(` ${type} `) && l.includes(done) && l.endsWith(`${SOURCE}/e-done`)),
      ).toBe(true);
    }
    expect(lines.filter((l) => l.includes(`${SOURCE}/e-open`)).map((l) => l.split(/\s+/)[2])).toEqual([
      'task.created',
    ]);
    const completed = tailJson.out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Outcome);
    expect(completed).toEqual([
      expect.objectContaining({ specversion: '1.0', type: 'task.completed', subject: done }),
    ]);
    expect(completed[0]?.data.completion).toMatchObject({ disconnectReason: 'AGENT_DISCONNECT' });
  });
});
