/**
 * The shared setup of the integration tests that run ingest on the sandbox: one harness per
 * `describe`, started before its tests and stopped after them, with the helpers most of them need
 * (the CLI against it, the ledger, the scheduled redrive, tasks by ClientToken, Connect call counts),
 * and the "follow-up" rule and event the ingest tests send.
 *
 *   const f = useHarness({ env: { START_TASK_RATE: '1000' } });
 *   it('…', async () => { await f.h.send(followUpEvent(SOURCE, 'e-1')); await f.h.idle(); … });
 */
import { afterAll, beforeAll } from 'vitest';
import { FLOW_ID, INSTANCE_ID } from '#common/world.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import type { RedriveSummary } from '#lib/redrive/redrive.ts';
import { type Sandbox, startSandbox } from '#sandbox/index.ts';
import { type CliResult, sandboxCli } from './cli.ts';
import { type Harness, type HarnessOptions, startHarness } from './harness.ts';

/** The sandbox's name of the scheduled DLQ redrive (serverless.yml, stage local). */
const REDRIVE_SCHEDULE = 'connect-task-ingest-local-dlq-redrive';
/** The ingest queue's VisibilityTimeout in serverless.yml: how long a failed or crashed delivery stays hidden. */
export const QUEUE_VISIBILITY_SECONDS = 360;

/**
 * Starts a resource before the tests of the enclosing `describe` (then runs `setup` on it) and stops
 * it after them. Output: its getter, which throws when called before `beforeAll` has run.
 */
function useStarted<T extends { stop(): Promise<void> }>(
  what: string,
  start: () => Promise<T>,
  setup?: (started: T) => Promise<void>,
): () => T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
    await setup?.(started);
  });
  afterAll(async () => {
    await started?.stop();
  });
  return () => {
    if (!started) throw new Error(`${what} is not started yet: use it inside a hook or a test`);
    return started;
  };
}

export interface HarnessFixture {
  /** The harness; set once `beforeAll` has run. */
  readonly h: Harness;
  /** The CLI against the sandbox, as an operator runs it. */
  cli(argv: readonly string[], env?: Record<string, string>): Promise<CliResult>;
  /** The ledger table's store. */
  ledger(): DynamoLedger;
  /** Runs the scheduled redrive once, now. */
  redrive(): Promise<RedriveSummary>;
  /** The Connect tasks started with this ClientToken. */
  tasksWith(token: string): ReturnType<Harness['tasks']>;
  /** How many calls of `operation` (default StartTaskContact) ended with `outcome` ("200", an exception name). */
  calls(outcome: string, operation?: string): number;
}

/**
 * Starts a harness before the tests of the enclosing `describe` and stops it after them.
 * Input: the harness options; optional `setup` run once the harness is up (rules, seeded contacts).
 * Output: the fixture (its `h` is usable inside hooks and tests).
 */
export function useHarness(
  options: HarnessOptions = {},
  setup?: (h: Harness) => Promise<void>,
): HarnessFixture {
  const h = useStarted('the harness', () => startHarness(options), setup);
  return {
    get h() {
      return h();
    },
    cli: sandboxCli(() => h().endpoint),
    ledger: () =>
      new DynamoLedger({
        client: h().clients.dynamodb,
        tableName: h().sandbox.environment.LEDGER_TABLE as string,
      }),
    redrive: async () => (await h().pipeline?.runSchedule(REDRIVE_SCHEDULE)) as RedriveSummary,
    tasksWith: (token) =>
      h()
        .tasks()
        .filter((t) => t.ClientToken === token),
    calls: (outcome, operation = 'StartTaskContact') =>
      h().sandbox.connect.callCounts()[operation]?.[outcome] ?? 0,
  };
}

export interface SandboxFixture {
  /** The sandbox; set once `beforeAll` has run. */
  readonly sandbox: Sandbox;
  /** The CLI against the sandbox, as an operator runs it. */
  cli(argv: readonly string[], env?: Record<string, string>): Promise<CliResult>;
}

/**
 * Starts a bare sandbox (no pipeline) on a free port before the tests of the enclosing `describe`,
 * and stops it after them. `setup` runs once it is up.
 */
export function useSandbox(setup?: (sandbox: Sandbox) => Promise<void>): SandboxFixture {
  const sandbox = useStarted('the sandbox', () => startSandbox({ port: 0 }), setup);
  return {
    get sandbox() {
      return sandbox();
    },
    cli: sandboxCli(() => sandbox().endpoint),
  };
}

/**
 * A create rule for `source` naming the task "Follow up <data.ref>" on the inbound task flow.
 * `mapping` adds mapping fields (e.g. `previousContactId`); `options` become the rule's options.
 */
export function followUpRule(
  source: string,
  extra: { mapping?: Record<string, unknown>; options?: Record<string, unknown> } = {},
) {
  return {
    source,
    ruleId: `${source}-rule`,
    instanceId: INSTANCE_ID,
    target: { contactFlowId: FLOW_ID },
    mapping: { name: "'Follow up ' & data.ref", ...extra.mapping },
    ...(extra.options && Object.keys(extra.options).length > 0 ? { options: extra.options } : {}),
  };
}

/** The CloudEvent a follow-up rule maps: `data.ref` is the event id, plus `data`. */
export function followUpEvent(source: string, id: string, data: Record<string, unknown> = {}): string {
  return JSON.stringify({ specversion: '1.0', source, id, type: 'follow-up', data: { ref: id, ...data } });
}

/**
 * A CRM-style CloudEvent of case `caseId`: type `case.<type>`, `data.subject` "first" unless `data`
 * says otherwise.
 */
export function caseEvent(
  source: string,
  type: 'opened' | 'updated' | 'closed',
  caseId: string,
  id: string,
  time: string,
  data: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    specversion: '1.0',
    source,
    id,
    type: `case.${type}`,
    time,
    data: { caseId, subject: 'first', ...data },
  });
}

const CASE_RULE_HEADS = {
  opened: { priority: 10, action: 'create' },
  updated: { priority: 20, action: 'update' },
  closed: { priority: 30, action: 'complete' },
} as const;

/** The task name every case rule maps: "Case <caseId>: <subject>". */
export const CASE_TASK_NAME = "'Case ' & data.caseId & ': ' & data.subject";

/**
 * The rule of `source` for `caseEvent`s of one type: rule id = the type, priority 10/20/30, action
 * create/update/complete, matching `case.<type>`; a create rule targets the inbound task flow and keys
 * its task `case-<caseId>`. `fields` adds or overrides the rest (mapping, transfer, instanceId).
 */
export function caseRule(
  source: string,
  type: 'opened' | 'updated' | 'closed',
  fields: Record<string, unknown> = {},
) {
  const head = CASE_RULE_HEADS[type];
  return {
    source,
    ruleId: type,
    priority: head.priority,
    match: `type = 'case.${type}'`,
    action: head.action,
    instanceId: INSTANCE_ID,
    ...(type === 'opened'
      ? { target: { contactFlowId: FLOW_ID }, idempotencyKey: "'case-' & data.caseId" }
      : {}),
    ...fields,
  };
}
