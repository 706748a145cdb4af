import type { Reference, StartTaskContactCommandInput } from '@aws-sdk/client-connect';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveTaskLimits } from '#lib/connect/constraints.ts';
import { attributesBytes, referencesBytes, validateTaskRequest } from '#lib/connect/validate-task.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');
// A small limits table makes the generators reach every boundary quickly; the validator reads only it.
const limits = resolveTaskLimits({
  instanceIdMaxLength: 12,
  contactFlowIdMaxLength: 16,
  nameMaxLength: 24,
  descriptionMaxLength: 48,
  clientTokenMaxLength: 20,
  contactIdMaxLength: 16,
  attributeKeyMaxLength: 10,
  attributeValueMaxLength: 40,
  attributesMaxTotalBytes: 120,
  referenceKeyMaxLength: 10,
  referencesMaxTotalBytes: 200,
});
const sixDaysMs = limits.scheduledTimeMaxAheadSeconds * 1000;

const text = (min: number, max: number) =>
  fc
    .string({ unit: 'binary', minLength: min, maxLength: max })
    .filter((s) => s.length >= min && s.length <= max);

const attributesArb = fc
  .dictionary(fc.stringMatching(/^[A-Za-z0-9_-]{1,10}$/), text(0, limits.attributeValueMaxLength), {
    maxKeys: 4,
  })
  .filter((a) => attributesBytes(a) <= limits.attributesMaxTotalBytes);

const referenceArb: fc.Arbitrary<Reference> = fc.oneof(
  text(0, 30).map((Value) => ({ Type: 'STRING' as const, Value })),
  fc.integer().map((n) => ({ Type: 'NUMBER' as const, Value: String(n) })),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((n) => ({ Type: 'NUMBER' as const, Value: String(n) })),
  fc.integer({ min: -1e10, max: 1e10 }).map((n) => ({ Type: 'DATE' as const, Value: String(n) })),
  fc.webUrl({ withQueryParameters: true }).map((Value) => ({ Type: 'URL' as const, Value })),
  fc
    .emailAddress()
    .filter((e) => e.length <= 254)
    .map((Value) => ({ Type: 'EMAIL' as const, Value })),
);

const referencesArb = fc
  .dictionary(text(1, limits.referenceKeyMaxLength), referenceArb, { maxKeys: 3 })
  .filter((r) => referencesBytes(r) <= limits.referencesMaxTotalBytes);

const targetArb = fc.oneof(
  text(1, limits.contactFlowIdMaxLength).map((ContactFlowId) => ({ ContactFlowId })),
  text(1, limits.contactFlowIdMaxLength).map((QuickConnectId) => ({ QuickConnectId })),
  text(1, limits.contactFlowIdMaxLength).map((TaskTemplateId) => ({ TaskTemplateId })),
);

const validRequestArb: fc.Arbitrary<StartTaskContactCommandInput> = fc
  .record(
    {
      InstanceId: text(limits.instanceIdMinLength, limits.instanceIdMaxLength),
      Name: text(0, limits.nameMaxLength),
      Description: text(0, limits.descriptionMaxLength),
      ClientToken: text(0, limits.clientTokenMaxLength),
      PreviousContactId: text(limits.contactIdMinLength, limits.contactIdMaxLength),
      RelatedContactId: text(limits.contactIdMinLength, limits.contactIdMaxLength),
      Attributes: attributesArb,
      References: referencesArb,
      ScheduledTime: fc.integer({ min: 0, max: sixDaysMs }).map((ahead) => new Date(NOW + ahead)),
      target: targetArb,
    },
    { requiredKeys: ['InstanceId', 'Name', 'target'] },
  )
  .map(({ target, ...rest }) => ({ ...rest, ...target }));

type Violation = [
  label: string,
  field: string,
  mutate: (req: StartTaskContactCommandInput) => StartTaskContactCommandInput,
];

const over = (n: number) => 'x'.repeat(n + 1);
const targetOf = (req: StartTaskContactCommandInput) =>
  (['ContactFlowId', 'QuickConnectId', 'TaskTemplateId'] as const).find((t) => req[t] !== undefined) ??
  'ContactFlowId';

const violations: Violation[] = [
  ['Name too long', 'Name', (r) => ({ ...r, Name: over(limits.nameMaxLength) })],
  ['Name missing', 'Name', (r) => ({ ...r, Name: undefined })],
  ['Description too long', 'Description', (r) => ({ ...r, Description: over(limits.descriptionMaxLength) })],
  ['InstanceId too long', 'InstanceId', (r) => ({ ...r, InstanceId: over(limits.instanceIdMaxLength) })],
  ['InstanceId missing', 'InstanceId', (r) => ({ ...r, InstanceId: undefined })],
  ['ClientToken too long', 'ClientToken', (r) => ({ ...r, ClientToken: over(limits.clientTokenMaxLength) })],
  [
    'PreviousContactId too long',
    'PreviousContactId',
    (r) => ({ ...r, PreviousContactId: over(limits.contactIdMaxLength) }),
  ],
  ['RelatedContactId empty', 'RelatedContactId', (r) => ({ ...r, RelatedContactId: '' })],
  [
    'no flow target',
    'ContactFlowId',
    (r) => ({ ...r, ContactFlowId: undefined, QuickConnectId: undefined, TaskTemplateId: undefined }),
  ],
  [
    'flow target id too long',
    'TARGET',
    (r) => ({ ...r, [targetOf(r)]: over(limits.contactFlowIdMaxLength) }),
  ],
  [
    'two flow targets',
    'TWO_TARGETS',
    (r) => (r.ContactFlowId === undefined ? { ...r, ContactFlowId: 'flow' } : { ...r, QuickConnectId: 'qc' }),
  ],
  [
    'attribute key with a space',
    'Attributes.bad key',
    (r) => ({ ...r, Attributes: { ...r.Attributes, 'bad key': '' } }),
  ],
  [
    'attribute value too long',
    'Attributes.zz_long',
    (r) => ({ ...r, Attributes: { ...r.Attributes, zz_long: over(limits.attributeValueMaxLength) } }),
  ],
  [
    'attributes over the byte budget',
    'Attributes',
    (r) => ({
      ...r,
      Attributes: { ...r.Attributes, zz_a: 'é'.repeat(20), zz_b: 'é'.repeat(20), zz_c: 'é'.repeat(20) },
    }),
  ],
  [
    'ATTACHMENT reference',
    'References.zz_att',
    (r) => ({ ...r, References: { ...r.References, zz_att: { Type: 'ATTACHMENT', Value: 'f' } } }),
  ],
  [
    'DATE reference not epoch',
    'References.zz_date',
    (r) => ({ ...r, References: { ...r.References, zz_date: { Type: 'DATE', Value: '2024-05-01' } } }),
  ],
  [
    'references over the byte budget',
    'References',
    (r) => ({
      ...r,
      References: {
        ...r.References,
        zz_big: { Type: 'STRING', Value: over(limits.referencesMaxTotalBytes) },
      },
    }),
  ],
  ['ScheduledTime in the past', 'ScheduledTime', (r) => ({ ...r, ScheduledTime: new Date(NOW - 1000) })],
  [
    'ScheduledTime beyond 6 days',
    'ScheduledTime',
    (r) => ({ ...r, ScheduledTime: new Date(NOW + sixDaysMs + 1000) }),
  ],
];

describe('validateTaskRequest properties', () => {
  it('accepts every generated request within the limits', () => {
    fc.assert(
      fc.property(validRequestArb, (req) => {
        // Act
        const result = validateTaskRequest(req, { limits, now: NOW, truncate: false });

        // Assess
        expect(result.ok ? [] : result.issues).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('reports any one violated limit with an issue naming that field', () => {
    fc.assert(
      fc.property(validRequestArb, fc.constantFrom(...violations), (req, [label, field, mutate]) => {
        // Prepare
        const broken = mutate(req);
        const expected = field === 'TARGET' ? targetOf(req) : field === 'TWO_TARGETS' ? undefined : field;

        // Act
        const result = validateTaskRequest(broken, { limits, now: NOW, truncate: false });

        // Assess
        expect(result.ok, label).toBe(false);
        if (result.ok) return;
        const fields = result.issues.map((i) => i.field);
        if (expected === undefined)
          expect(
            fields.some((f) => f.includes('|')),
            label,
          ).toBe(true);
        else expect(fields, label).toContain(expected);
        for (const issue of result.issues)
          expect(issue.message.startsWith(`${issue.field}:`) || issue.field.includes('|')).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('with truncate, accepts any over-long Name and Description and cuts them to the limit', () => {
    fc.assert(
      fc.property(validRequestArb, text(0, 80), text(0, 120), (req, name, description) => {
        // Act
        const result = validateTaskRequest(
          { ...req, Name: name, Description: description },
          { limits, now: NOW, truncate: true },
        );

        // Assess
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.request.Name?.length).toBeLessThanOrEqual(limits.nameMaxLength);
        expect(result.request.Description?.length).toBeLessThanOrEqual(limits.descriptionMaxLength);
        expect(name.startsWith(result.request.Name ?? '')).toBe(true);
        expect(result.truncated.includes('Name')).toBe(name.length > limits.nameMaxLength);
      }),
      { numRuns: 200 },
    );
  });
});
