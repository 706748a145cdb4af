/**
 * `task-ingest tasks show` and the stage's Connect instance list through the real ingest
 * handler and SDK clients against the sandbox: a task shown by ContactId and by source + key after a
 * create and an update; a rule for an instance outside `connectInstanceIds` refused at `rules put`;
 * an event whose (older) rule names such an instance parked PERMANENT InstanceNotAllowed.
 */
import { describe, expect, it } from 'vitest';
import {
  ESCALATIONS_QUEUE_ID as ESCALATION_QUEUE,
  INSTANCE_ID,
  OTHER_INSTANCE_ID as OTHER_INSTANCE,
  TRANSFER_FLOW_ID as TRANSFER_FLOW,
} from '#common/world.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { CASE_TASK_NAME, caseEvent, caseRule, useHarness } from '#test/support/sandbox-fixture.ts';

function rules(source: string, instanceId = INSTANCE_ID) {
  return [
    caseRule(source, 'opened', {
      instanceId,
      mapping: {
        name: CASE_TASK_NAME,
        references: { link: { type: 'URL', value: "'https://crm.example.com/' & data.caseId" } },
      },
      transfer: {
        planId: 'escalate',
        after: 'PT2H',
        queueId: ESCALATION_QUEUE,
        contactFlowId: TRANSFER_FLOW,
      },
    }),
    caseRule(source, 'updated', {
      instanceId,
      mapping: { name: CASE_TASK_NAME, references: { status: { type: 'STRING', value: 'data.status' } } },
    }),
  ];
}

const event = caseEvent;

describe('tasks show and the stage instance list against the sandbox', () => {
  const f = useHarness({ env: { START_TASK_RATE: '1000' } });
  /** As an operator: only --endpoint (stage local, the sandbox's serverless.yml instance list). */
  const { cli } = f;

  it('shows a task by ContactId and by source + key after a create and an update', async () => {
    // Prepare
    const source = 'com.example.tasks-show';
    await f.h.putRules(rules(source));
    await f.h.send(event(source, 'opened', '7', 'o-7', '2026-01-01T10:00:00Z'));
    await f.h.idle();
    await f.h.send(
      event(source, 'updated', '7', 'u-7', '2026-01-01T10:05:00Z', { subject: 'renamed', status: 'waiting' }),
    );
    await f.h.idle();
    const token = taskClientToken(INSTANCE_ID, source, 'case-7');
    const [task] = f.h.tasks().filter((t) => t.ClientToken === token);
    const contactId = task?.ContactId as string;
    expect(contactId).toBeTruthy();

    // Act
    const byContact = await cli(['tasks', 'show', contactId, '--json']);
    const byKey = await cli(['tasks', 'show', '--source', source, '--key', 'case-7', '--json']);
    const human = await cli(['tasks', 'show', contactId, '--instance-id', INSTANCE_ID]);

    // Assess
    expect(byContact.err).toBe('');
    expect(byContact.code).toBe(0);
    const report = JSON.parse(byContact.out);
    expect(report.entry).toMatchObject({
      clientToken: token,
      contactId,
      instanceId: INSTANCE_ID,
      source,
      ruleId: 'opened',
      idempotencyKey: 'case-7',
      eventId: 'o-7',
    });
    expect(report.lifecycle).toMatchObject({
      lastEventId: 'u-7',
      lastEventAt: Date.parse('2026-01-01T10:05:00Z'),
    });
    expect(report.lifecycle.completedAt).toBeUndefined();
    expect(report.contact).toMatchObject({ Id: contactId, Name: 'Case 7: renamed', Channel: 'TASK' });
    expect(report.references).toEqual(
      expect.arrayContaining([
        { type: 'URL', name: 'link', value: 'https://crm.example.com/7' },
        { type: 'STRING', name: 'status', value: 'waiting' },
      ]),
    );
    expect(report.transfers.plans).toEqual([
      expect.objectContaining({
        contactId,
        planId: 'escalate',
        status: 'PENDING',
        queueId: ESCALATION_QUEUE,
      }),
    ]);
    expect(byKey.code).toBe(0);
    expect(JSON.parse(byKey.out)).toEqual(report);
    expect(human.code).toBe(0);
    expect(human.out).toContain(`task ${contactId}`);
    expect(human.out).toMatch(/last update\s+2026-01-01T10:05:00\.000Z event u-7/);
    expect(human.out).toMatch(/completed\s+no/);
    expect(human.out).toContain('Case 7: renamed');
    expect(human.out).toMatch(/escalate\tPENDING/);
  });

  it('says so, with exit 1, for a contact or key the ledger does not know', async () => {
    // Act
    const contact = await cli(['tasks', 'show', '00000000-0000-4000-8000-00000000abcd']);
    const key = await cli(['tasks', 'show', '--source', 'com.example.nobody', '--key', 'k']);
    const usage = await cli(['tasks', 'show', '--source', 'com.example.nobody']);

    // Assess
    expect(contact.code).toBe(1);
    expect(contact.err).toContain(
      'the ledger knows no task for contact 00000000-0000-4000-8000-00000000abcd',
    );
    expect(key.code).toBe(1);
    expect(key.err).toContain('the ledger knows no task for source com.example.nobody');
    expect(usage.code).toBe(2);
  });

  it('refuses at rules put a rule naming an instance outside connectInstanceIds', async () => {
    // Prepare
    const [rule] = rules('com.example.other-instance', OTHER_INSTANCE);
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'cti-instances-'));
    const file = join(dir, 'rule.json');
    writeFileSync(file, JSON.stringify(rule));

    // Act
    const refused = await cli(['rules', 'put', file]);
    const listed = await cli(['rules', 'put', file], {
      CONNECT_INSTANCE_IDS: `${INSTANCE_ID},${OTHER_INSTANCE}`,
    });
    const removed = await cli(['rules', 'delete', 'com.example.other-instance', 'opened']);
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('rule is invalid');
    expect(refused.err).toContain(
      `instanceId: instance ${OTHER_INSTANCE} is not one of the stage's Connect instances (connectInstanceIds: ${INSTANCE_ID})`,
    );
    expect(listed.code).toBe(0);
    expect(removed.code).toBe(0);
  });

  it('parks an event whose rule names an instance outside the list as PERMANENT InstanceNotAllowed', async () => {
    // Prepare: a rule stored before the list changed (the harness writes without the check).
    const source = 'com.example.unlisted';
    await f.h.putRules(rules(source, OTHER_INSTANCE));
    const calls = () => JSON.stringify(f.h.sandbox.connect.callCounts().StartTaskContact ?? {});
    const before = calls();
    const body = event(source, 'opened', '9', 'o-9', '2026-01-01T11:00:00Z');

    // Act
    await f.h.send(body);
    await f.h.idle();

    // Assess
    const parked = (await f.h.dlq()).filter((e) => e.body === body);
    expect(parked).toHaveLength(1);
    expect(parked[0]?.failure).toMatchObject({
      class: 'PERMANENT',
      code: 'InstanceNotAllowed',
      ruleId: 'opened',
    });
    expect(parked[0]?.failure?.message).toContain(
      `instance ${OTHER_INSTANCE} is not one of the stage's Connect instances`,
    );
    expect(calls()).toBe(before);
  });
});
