import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '#test/support/harness.ts';
import { readSample } from '#test/support/lambda.ts';

describe('ingest on the sandbox', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.putRules([h.sampleRule('crm-case.json')]);
  });
  afterAll(async () => {
    await h.stop();
  });

  it('turns one CloudEvent delivered three times into exactly one task', async () => {
    // Prepare
    const sample = readSample<{ body: unknown; messageAttributes: Record<string, { StringValue: string }> }>(
      'events/messages/cloudevents.json',
    );
    const body = JSON.stringify(sample.body);
    // Act
    await h.send(body);
    await h.send(body);
    await h.idle();
    await h.send(body);
    await h.idle();
    // Assess
    expect(h.tasks()).toHaveLength(1);
    expect(h.tasks()[0]?.Name).toBe('Case 1001: Customer cannot reset password');
    expect(await h.dlq()).toEqual([]);
  });
});
