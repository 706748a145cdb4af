import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '#lib/envelope/parse.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import { MappingError } from '#lib/mapping/errors.ts';
import { evaluateIdempotencyKey, mapToTaskRequest } from '#lib/mapping/map.ts';
import { type CompiledRule, compileRule, validateRule } from '#lib/rules/compile.ts';
import { RuleEvaluationError } from '#lib/rules/errors.ts';
import type { RuleInput } from '#lib/rules/schema.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');

function compile(input: unknown): CompiledRule {
  const result = validateRule(input);
  if (!result.ok) throw new Error(`expected a valid rule: ${result.errors.join('; ')}`);
  return compileRule(result.rule);
}

function rule(mapping: Record<string, unknown>, overrides: Record<string, unknown> = {}): CompiledRule {
  return compile({
    source: 'src',
    ruleId: 'r1',
    instanceId: 'inst-1',
    target: { contactFlowId: 'flow-1' },
    mapping: { name: '"Task"', ...mapping },
    ...overrides,
  } satisfies Partial<RuleInput> as unknown);
}

function envelope(data: unknown, overrides: Partial<Envelope> = {}): Envelope {
  return { source: 'src', id: 'evt-1', type: 't', time: '', data, attributes: {}, kind: 'raw', ...overrides };
}

async function mappingError(promise: Promise<unknown>): Promise<MappingError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MappingError);
  return error as MappingError;
}

describe('mapToTaskRequest with the sample CRM rule', () => {
  it('maps the CloudEvents sample to a request with coerced values and typed references', async () => {
    // Prepare
    const crm = compile(
      JSON.parse(readFileSync(new URL('../../events/rules/crm-case.json', import.meta.url), 'utf8')),
    );
    const message = JSON.parse(
      readFileSync(new URL('../../events/messages/cloudevents.json', import.meta.url), 'utf8'),
    );
    const env = parseEnvelope({
      body: JSON.stringify(message.body),
      messageId: 'sqs-1',
      attributes: { tenant: { dataType: 'String', stringValue: 'acme' } },
    });

    // Act
    const mapped = await mapToTaskRequest(crm, env, { now: NOW });

    // Assess
    expect(mapped).toEqual({
      idempotencyKey: 'case-1001-opened',
      transferAt: NOW + 2 * 3600 * 1000,
      request: {
        InstanceId: '11111111-2222-3333-4444-555555555555',
        ContactFlowId: 'f1a2b3c4-0000-4000-8000-000000000001',
        Name: 'Case 1001: Customer cannot reset password',
        Description: 'Opened by Ada Example (priority 2)',
        Attributes: {
          caseId: '1001',
          priority: '2',
          escalated: 'false',
          customerId: 'cust-42',
          tenant: 'acme',
        },
        References: {
          caseLink: { Type: 'URL', Value: 'https://crm.example.com/cases/1001' },
          customerEmail: { Type: 'EMAIL', Value: 'ada@example.com' },
          openedAt: { Type: 'DATE', Value: String(Date.parse('2024-05-01T09:29:41Z') / 1000) },
        },
      },
    });
    expect(mapped.request).not.toHaveProperty('ClientToken');
  });
});

describe('mapToTaskRequest', () => {
  it('sets the one target from the rule', async () => {
    // Prepare
    const viaQuickConnect = rule({}, { target: { quickConnectId: 'qc-1' } });
    const viaTemplate = rule({}, { target: { taskTemplateId: 'tt-1' } });

    // Act
    const a = await mapToTaskRequest(viaQuickConnect, envelope({}), { now: NOW });
    const b = await mapToTaskRequest(viaTemplate, envelope({}), { now: NOW });

    // Assess
    expect(a.request).toEqual({ InstanceId: 'inst-1', Name: 'Task', QuickConnectId: 'qc-1' });
    expect(b.request).toEqual({ InstanceId: 'inst-1', Name: 'Task', TaskTemplateId: 'tt-1' });
  });

  it('omits attributes and references whose expression yields undefined or null', async () => {
    // Prepare
    const compiled = rule({
      attributes: { present: 'data.a', missing: 'data.nope', nulled: 'data.n' },
      references: { gone: { type: 'STRING', value: 'data.nope' } },
      segmentAttributes: { 'connect:Absent': 'data.nope' },
      description: 'data.nope',
    });

    // Act
    const { request } = await mapToTaskRequest(compiled, envelope({ a: 'x', n: null }), { now: NOW });

    // Assess
    expect(request.Attributes).toEqual({ present: 'x' });
    expect(request).not.toHaveProperty('References');
    expect(request).not.toHaveProperty('SegmentAttributes');
    expect(request).not.toHaveProperty('Description');
  });

  it('sends segment attributes as ValueString and contact links as strings', async () => {
    // Prepare
    const compiled = rule({
      segmentAttributes: { 'connect:Priority': 'data.p' },
      previousContactId: 'data.prev',
      relatedContactId: 'data.rel',
    });

    // Act
    const { request } = await mapToTaskRequest(compiled, envelope({ p: 5, prev: 'c-1', rel: 'c-2' }), {
      now: NOW,
    });

    // Assess
    expect(request.SegmentAttributes).toEqual({ 'connect:Priority': { ValueString: '5' } });
    expect(request.PreviousContactId).toBe('c-1');
    expect(request.RelatedContactId).toBe('c-2');
  });

  it('treats an empty contact id as no link', async () => {
    // Prepare
    const compiled = rule({ previousContactId: 'data.prev', relatedContactId: 'data.rel' });

    // Act
    const { request } = await mapToTaskRequest(compiled, envelope({ prev: '', rel: '' }), { now: NOW });

    // Assess
    expect(request).not.toHaveProperty('PreviousContactId');
    expect(request).not.toHaveProperty('RelatedContactId');
  });

  it.each([
    ['an ISO-8601 time', '2024-05-02T00:00:00Z', Date.parse('2024-05-02T00:00:00Z')],
    ['epoch seconds', 1714608000, 1714608000_000],
    ['epoch milliseconds', 1714608000_123, 1714608000_123],
    ['an epoch seconds string', '1714608000', 1714608000_000],
  ])('reads ScheduledTime given as %s into a Date', async (_label, value, expectedMs) => {
    // Prepare
    const compiled = rule({ scheduledTime: 'data.at' });

    // Act
    const { request } = await mapToTaskRequest(compiled, envelope({ at: value }), { now: NOW });

    // Assess
    expect(request.ScheduledTime).toBeInstanceOf(Date);
    expect(request.ScheduledTime?.getTime()).toBe(expectedMs);
  });

  it('refuses a ScheduledTime that is not a time, naming the field but not the value', async () => {
    // Prepare
    const compiled = rule({ scheduledTime: 'data.at' });

    // Act
    const error = await mappingError(
      mapToTaskRequest(compiled, envelope({ at: 'tomorrow-ish' }), { now: NOW }),
    );

    // Assess
    expect(error.field).toBe('mapping.scheduledTime');
    expect(error.message).toBe(
      'mapping.scheduledTime: a string of 12 characters is not an ISO-8601 time (with zone) or epoch number',
    );
  });

  it('writes DATE references as epoch seconds', async () => {
    // Prepare
    const compiled = rule({ references: { due: { type: 'DATE', value: 'data.due' } } });

    // Act
    const { request } = await mapToTaskRequest(compiled, envelope({ due: '2024-05-03T10:00:00.900+02:00' }), {
      now: NOW,
    });

    // Assess
    expect(request.References).toEqual({
      due: { Type: 'DATE', Value: String(Date.parse('2024-05-03T08:00:00Z') / 1000) },
    });
  });

  it('refuses an object where Connect wants a string, naming the field', async () => {
    // Prepare
    const compiled = rule({ attributes: { customer: 'data.customer' } });

    // Act
    const error = await mappingError(
      mapToTaskRequest(compiled, envelope({ customer: { a: 1 } }), { now: NOW }),
    );

    // Assess
    expect(error.field).toBe('mapping.attributes.customer');
    expect(error.message).toMatch(
      /^mapping\.attributes\.customer produced an object; Connect wants a string/,
    );
    expect(error.ruleId).toBe('r1');
  });

  it('refuses an array where Connect wants a string', async () => {
    // Prepare
    const compiled = rule({ description: 'data.items' });

    // Act
    const error = await mappingError(
      mapToTaskRequest(compiled, envelope({ items: ['a', 'b'] }), { now: NOW }),
    );

    // Assess
    expect(error.field).toBe('mapping.description');
  });

  it('refuses a task whose name expression produces no value', async () => {
    // Prepare
    const compiled = rule({ name: 'data.title' });

    // Act
    const error = await mappingError(mapToTaskRequest(compiled, envelope({}), { now: NOW }));

    // Assess
    expect(error).toMatchObject({ field: 'mapping.name', message: 'mapping.name produced no value' });
  });

  it('wraps an expression failure in a MappingError naming the field, with the evaluation error as cause', async () => {
    // Prepare
    const compiled = rule({ attributes: { total: 'data.a + data.b' } });

    // Act
    const error = await mappingError(mapToTaskRequest(compiled, envelope({ a: 1, b: 'two' }), { now: NOW }));

    // Assess
    expect(error.field).toBe('mapping.attributes.total');
    expect(error.cause).toBeInstanceOf(RuleEvaluationError);
  });

  it('refuses to map with a rule whose action is not create', async () => {
    // Prepare
    const drop = compile({ source: 'src', ruleId: 'd', action: 'drop' });

    // Act
    const error = await mappingError(mapToTaskRequest(drop, envelope({}), { now: NOW }));

    // Assess
    expect(error.field).toBe('action');
  });

  it('computes transferAt from transfer.at', async () => {
    // Prepare
    const compiled = rule(
      {},
      { transfer: { planId: 'p1', at: 'data.escalateAt', queueId: 'q', contactFlowId: 'f' } },
    );

    // Act
    const mapped = await mapToTaskRequest(compiled, envelope({ escalateAt: '2024-05-01T15:00:00Z' }), {
      now: NOW,
    });

    // Assess
    expect(mapped.transferAt).toBe(Date.parse('2024-05-01T15:00:00Z'));
  });

  it('refuses a transfer.at that yields no value', async () => {
    // Prepare
    const compiled = rule(
      {},
      { transfer: { planId: 'p1', at: 'data.nope', queueId: 'q', contactFlowId: 'f' } },
    );

    // Act
    const error = await mappingError(mapToTaskRequest(compiled, envelope({}), { now: NOW }));

    // Assess
    expect(error.field).toBe('transfer.at');
  });

  it('has no transferAt without a transfer plan', async () => {
    // Act
    const mapped = await mapToTaskRequest(rule({}), envelope({}), { now: NOW });

    // Assess
    expect(mapped).not.toHaveProperty('transferAt');
  });

  it('coerces any string, number or boolean attribute value to the string Connect wants', async () => {
    // Prepare
    const compiled = rule({ attributes: { v: 'data.v' } });

    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()),
        async (v) => {
          // Act
          const { request } = await mapToTaskRequest(compiled, envelope({ v }), { now: NOW });

          // Assess
          expect(request.Attributes).toEqual({ v: String(v) });
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('evaluateIdempotencyKey', () => {
  it('defaults to the envelope id', async () => {
    expect(await evaluateIdempotencyKey(rule({}), envelope({}, { id: 'evt-9' }))).toBe('evt-9');
  });

  it('evaluates the rule expression and coerces numbers', async () => {
    // Prepare
    const compiled = rule({}, { idempotencyKey: 'data.orderNo' });

    // Act / Assess
    expect(await evaluateIdempotencyKey(compiled, envelope({ orderNo: 5001 }))).toBe('5001');
  });

  it('refuses an expression that yields no value or an empty string', async () => {
    // Prepare
    const compiled = rule({}, { idempotencyKey: 'data.key' });

    // Act
    const missing = await mappingError(evaluateIdempotencyKey(compiled, envelope({})));
    const empty = await mappingError(evaluateIdempotencyKey(compiled, envelope({ key: '' })));

    // Assess
    expect(missing).toMatchObject({ field: 'idempotencyKey', message: 'idempotencyKey produced no value' });
    expect(empty.field).toBe('idempotencyKey');
  });
});
