/**
 * Rules as code against the sandbox: `task-ingest rules diff|apply|export` with the real DynamoDB
 * client over loopback, and the use case behind them (lib/rules/apply.ts) for the version check.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { INSTANCE_ID } from '#common/world.ts';
import { applyRulePlan, checkRuleDocuments, planRules } from '#lib/rules/apply.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import { runCli } from '#test/support/cli.ts';
import { useSandbox } from '#test/support/sandbox-fixture.ts';

const SAMPLE_RULES = readdirSync('events/rules').filter((f) => f.endsWith('.json')).length;

describe('rules as code against the sandbox', () => {
  const f = useSandbox();
  const { cli } = f;
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-rules-code-'));
    dirs.push(dir);
    return dir;
  };
  const store = () =>
    new DynamoRuleStore({
      client: f.sandbox.clients.dynamodb,
      tableName: f.sandbox.environment.RULES_TABLE as string,
    });
  /** Every stored rule as `source/ruleId@version`. */
  const stored = async () => (await store().list()).map((r) => `${r.source}/${r.ruleId}@${r.version}`);

  beforeEach(async () => {
    for (const record of await store().list()) await store().delete(record.source, record.ruleId);
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('applies a directory of rule files, then finds every one unchanged and writes nothing', async () => {
    // Act
    const first = await cli(['rules', 'apply', 'events/rules/']);
    const afterFirst = await stored();
    const second = await cli(['rules', 'apply', 'events/rules/']);

    // Assess
    expect(first.code).toBe(0);
    expect(first.out).toContain(`created ${SAMPLE_RULES}, updated 0, deleted 0, unchanged 0`);
    expect(first.out).toContain(
      'com.example.crm case-opened (events/rules/crm-case.json): created, version 1',
    );
    expect(second.code).toBe(0);
    expect(second.out).toContain(`created 0, updated 0, deleted 0, unchanged ${SAMPLE_RULES}`);
    expect(await stored()).toEqual(afterFirst);
    expect(afterFirst.every((r) => r.endsWith('@1'))).toBe(true);
  });

  it('refuses a set with one bad file before any write, listing every problem of it', async () => {
    // Prepare: the sample rules plus a file with a shape error, a JSONata error and a foreign instance.
    const dir = tempDir();
    cpSync('events/rules', dir, { recursive: true });
    const bad = {
      source: 'com.example.bad',
      ruleId: 'bad',
      priority: 'high',
      instanceId: '99999999-0000-4000-8000-000000000000',
      target: { contactFlowId: 'f' },
      mapping: { name: "'x' &" },
    };
    writeFileSync(join(dir, 'zz-bad.json'), JSON.stringify(bad));

    // Act
    const diff = await cli(['rules', 'diff', dir]);
    const apply = await cli(['rules', 'apply', dir]);

    // Assess
    for (const result of [diff, apply]) {
      expect(result.code).toBe(1);
      expect(result.err).toContain('invalid rule file(s); nothing was changed');
      expect(result.err).toContain(`${join(dir, 'zz-bad.json')}: priority:`);
      expect(result.err).toContain(`${join(dir, 'zz-bad.json')}: mapping.name: JSONata syntax error`);
      expect(result.err).toContain('instanceId: instance 99999999-0000-4000-8000-000000000000');
      expect(result.out).toBe('');
    }
    expect(await stored()).toEqual([]);
  });

  it('diffs an edited rule path by path and writes nothing; apply then updates it to version 2', async () => {
    // Prepare
    await cli(['rules', 'apply', 'events/rules/orders.json']);
    const dir = tempDir();
    const edited = JSON.parse(readFileSync('events/rules/orders.json', 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'orders.json'), JSON.stringify({ ...edited, priority: 50, enabled: false }));

    // Act
    const diff = await cli(['rules', 'diff', dir]);
    const afterDiff = await stored();
    const apply = await cli(['rules', 'apply', dir]);

    // Assess
    expect(diff.code).toBe(0);
    expect(diff.out).toContain('com.example.orders order-delayed');
    expect(diff.out).toContain(': would update\n  ~ enabled: true → false\n  ~ priority: 100 → 50\n');
    expect(afterDiff).toEqual(['com.example.orders/order-delayed@1']);
    expect(apply.out).toContain(': updated, version 2');
    expect(await stored()).toEqual(['com.example.orders/order-delayed@2']);
  });

  it('prunes the stored rules of a source that no file names, only once confirmed', async () => {
    // Prepare: every CRM rule stored; the files keep only case-opened.
    await cli(['rules', 'apply', 'events/rules/crm-case.json', 'events/rules/crm-case-updated.json']);
    await cli(['rules', 'apply', 'events/rules/crm-case-closed.json', 'events/rules/orders.json']);
    const args = ['rules', 'apply', 'events/rules/crm-case.json', '--prune', '--source', 'com.example.crm'];
    const env = { AWS_ENDPOINT_URL: f.sandbox.endpoint };

    // Act
    const noSource = await cli(['rules', 'apply', 'events/rules/crm-case.json', '--prune']);
    const dryRun = await cli([...args, '--dry-run']);
    const unanswered = await cli(args);
    const declined = await runCli(args, { env }, false);
    const afterRefusals = await stored();
    const confirmed = await runCli(args, { env }, true);

    // Assess
    expect(noSource.code).toBe(2);
    expect(noSource.err).toContain('--prune needs --source');
    expect(dryRun.out).toContain('com.example.crm case-closed: would delete');
    expect(dryRun.out).toContain('com.example.crm case-updated: would delete');
    for (const refused of [unanswered, declined]) {
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('2 stored rule(s) would be deleted; nothing was changed');
    }
    expect(declined.err).toContain(
      'delete 2 stored rule(s) no file names (case-closed, case-updated)? [y/N]',
    );
    expect(afterRefusals).toHaveLength(4);
    expect(confirmed.code).toBe(0);
    expect(confirmed.out).toContain('created 0, updated 0, deleted 2, unchanged 1');
    // Another source is never pruned.
    expect(await stored()).toEqual(['com.example.crm/case-opened@1', 'com.example.orders/order-delayed@1']);
  });

  it('deletes without asking with --yes (CI)', async () => {
    // Prepare
    await cli(['rules', 'apply', 'events/rules/crm-case.json', 'events/rules/crm-case-closed.json']);

    // Act
    const result = await cli([
      'rules',
      'apply',
      'events/rules/crm-case.json',
      '--prune',
      '--source',
      'com.example.crm',
      '--yes',
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(await stored()).toEqual(['com.example.crm/case-opened@1']);
  });

  it('round trip: export writes files that apply takes back unchanged', async () => {
    // Prepare: the samples, plus a rule put by hand with its defaults left out.
    await cli(['rules', 'apply', 'events/rules/']);
    const minimal = tempDir();
    writeFileSync(
      join(minimal, 'm.json'),
      JSON.stringify({
        source: 'com.example.min',
        ruleId: 'only-a-name',
        instanceId: INSTANCE_ID,
        target: { contactFlowId: 'f1a2b3c4-0000-4000-8000-000000000001' },
        mapping: { name: "'n'", attributes: { zeta: "'z'", alpha: "'a'" } },
      }),
    );
    await cli(['rules', 'put', join(minimal, 'm.json')]);
    const before = await stored();
    const dir = tempDir();

    // Act
    const exported = await cli(['rules', 'export', '--dir', dir]);
    const apply = await cli(['rules', 'apply', dir]);
    const again = await cli(['rules', 'export', '--dir', dir]);

    // Assess
    expect(exported.code).toBe(0);
    expect(exported.out).toContain(`${SAMPLE_RULES + 1} rule(s) exported to ${dir}`);
    expect(readdirSync(dir)).toContain('com.example.min.only-a-name.json');
    const text = readFileSync(join(dir, 'com.example.min.only-a-name.json'), 'utf8');
    expect(text).not.toContain('version');
    expect(text).not.toContain('updatedAt');
    expect(Object.keys(JSON.parse(text) as object).slice(0, 4)).toEqual([
      'source',
      'ruleId',
      'priority',
      'enabled',
    ]);
    expect(apply.code).toBe(0);
    expect(apply.out).toContain(`created 0, updated 0, deleted 0, unchanged ${SAMPLE_RULES + 1}`);
    expect(await stored()).toEqual(before);
    expect(again.out).not.toContain(': written');
  });

  it('reports a rule changed after the plan read it as a conflict and leaves it alone', async () => {
    // Prepare: plan an update of orders, then someone else stores it first.
    await cli(['rules', 'apply', 'events/rules/orders.json']);
    const document = JSON.parse(readFileSync('events/rules/orders.json', 'utf8')) as Record<string, unknown>;
    const checked = checkRuleDocuments([{ file: 'orders.json', document: { ...document, priority: 7 } }]);
    if (!checked.ok) throw new Error(checked.problems.join('; '));
    const plan = await planRules(store(), checked.rules);
    await store().put({ ...document, priority: 8 });

    // Act
    const results = await applyRulePlan(store(), plan);

    // Assess
    expect(plan.map((c) => c.action)).toEqual(['update']);
    expect(results.map((r) => r.outcome)).toEqual(['conflict']);
    expect(results[0]?.problem).toContain('expected version 1, stored version is 2');
    expect((await store().get('com.example.orders', 'order-delayed'))?.document.priority).toBe(8);
  });
});
