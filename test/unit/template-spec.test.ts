import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRuleAgainstTemplate } from '#lib/connect/rule-template-check.ts';
import {
  diffSpecs,
  specFromRemote,
  templateMembers,
  unsupportedRemovals,
  validateTemplateFile,
} from '#lib/connect/template-spec.ts';
import { validateRule } from '#lib/rules/compile.ts';
import type { CreateRule } from '#lib/rules/schema.ts';
import { loadWorld } from '#sandbox/connect/world.ts';

const file = {
  name: 'Delayed order',
  description: 'Follow up',
  contactFlowId: 'flow-1',
  fields: [
    { name: 'Name', type: 'NAME' },
    { name: 'Order total', type: 'NUMBER' },
    { name: 'Customer email', type: 'EMAIL' },
  ],
  constraints: { required: ['Customer email', 'Name', 'Name'] },
  defaults: { 'Order total': '0' },
};

function spec(input: unknown = file) {
  const result = validateTemplateFile(input);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.spec;
}

describe('template files', () => {
  it('normalizes: status ACTIVE by default, constraints sorted and deduplicated, empty lists', () => {
    const s = spec();
    expect(s.status).toBe('ACTIVE');
    expect(s.constraints).toEqual({ required: ['Customer email', 'Name'], readOnly: [], invisible: [] });
  });

  it('a GetTaskTemplate output of the same template normalizes to the same spec', () => {
    const remote = specFromRemote({
      Name: 'Delayed order',
      Description: 'Follow up',
      ContactFlowId: 'flow-1',
      Status: 'ACTIVE',
      Fields: file.fields.map((f) => ({ Id: { Name: f.name }, Type: f.type as 'NAME' })),
      Constraints: {
        RequiredFields: [{ Id: { Name: 'Name' } }, { Id: { Name: 'Customer email' } }],
        ReadOnlyFields: [],
      },
      Defaults: { DefaultFieldValues: [{ Id: { Name: 'Order total' }, DefaultValue: '0' }] },
    });
    expect(remote).toEqual(spec());
    expect(diffSpecs(remote, spec())).toEqual([]);
    expect(specFromRemote(templateMembers(spec()))).toEqual(spec());
  });

  it('accepts every field type of the API model, SELF_ASSIGN and EXPIRY_DURATION included', () => {
    const fields = [
      ...file.fields,
      { name: 'Assign to me', type: 'SELF_ASSIGN' },
      { name: 'Expires', type: 'EXPIRY_DURATION' },
    ];
    expect(spec({ ...file, fields }).fields.map((f) => f.type)).toContain('EXPIRY_DURATION');
    const bad = validateTemplateFile({ ...file, fields: [...file.fields, { name: 'X', type: 'SOMETHING' }] });
    expect(bad.ok).toBe(false);
  });

  it('diffs fields, constraints, defaults and members line by line', () => {
    const changed = spec({
      ...file,
      description: 'Call back',
      fields: [
        { name: 'Name', type: 'NAME' },
        { name: 'Order total', type: 'TEXT' },
        { name: 'Promised by', type: 'DATE_TIME' },
      ],
      constraints: { required: ['Name', 'Promised by'] },
      defaults: {},
    });
    expect(diffSpecs(spec(), changed)).toEqual([
      '~ description: "Follow up" → "Call back"',
      '- field "Customer email" (EMAIL)',
      '~ field "Order total" type: "NUMBER" → "TEXT"',
      '+ field "Promised by" (DATE_TIME)',
      '- required "Customer email"',
      '+ required "Promised by"',
      '- default "Order total": "0"',
    ]);
  });

  it('full replace: the request carries every member, even empty lists', () => {
    const members = templateMembers(spec({ ...file, constraints: undefined, defaults: undefined }));
    expect(members.Constraints).toEqual({ RequiredFields: [], ReadOnlyFields: [], InvisibleFields: [] });
    expect(members.Defaults).toEqual({ DefaultFieldValues: [] });
    expect(members.Status).toBe('ACTIVE');
  });

  it('refuses a removal UpdateTaskTemplate cannot express', () => {
    const { description: _d, ...withoutDescription } = file;
    expect(unsupportedRemovals(spec(), spec(withoutDescription))).toHaveLength(1);
  });

  it('lists every problem of a bad file, with the documented limits', () => {
    const result = validateTemplateFile({
      name: 'x'.repeat(101),
      description: 'd'.repeat(256),
      fields: [
        { name: 'A', type: 'NUMBER' },
        { name: 'A', type: 'WHATEVER' },
        { name: 'S', type: 'SINGLE_SELECT' },
      ],
      constraints: { required: ['Missing'] },
      defaults: { Nope: 'x' },
      extra: 1,
    });
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors.join('\n');
    expect(errors).toContain('name: 101 characters; must be 1 to 100');
    expect(errors).toContain('description: 256 characters; must be 1 to 255');
    expect(errors).toContain('field "A" appears twice');
    expect(errors).toContain('fields[1].type: must be one of');
    expect(errors).toContain('a SINGLE_SELECT field needs options');
    expect(errors).toContain('constraints.required: "Missing" is not a field');
    expect(errors).toContain('defaults.Nope');
    expect(errors).toContain('extra: unknown key');
    const tooMany = validateTemplateFile({
      name: 'n',
      fields: Array.from({ length: 51 }, (_, i) => ({ name: `f${i}`, type: 'TEXT' })),
    });
    expect(tooMany.ok ? [] : tooMany.errors).toContain('fields: 51 fields; at most 50');
  });

  it('the sandbox world templates match the files of events/templates/ (the files are the source of truth)', () => {
    const world = loadWorld().instances[0]?.taskTemplates ?? [];
    for (const path of ['delayed-order.json', 'retired-returns.json']) {
      const fromFile = spec(
        JSON.parse(readFileSync(new URL(`../../events/templates/${path}`, import.meta.url), 'utf8')),
      );
      const inWorld = world.find((t) => t.Name === fromFile.name);
      expect(inWorld, fromFile.name).toBeDefined();
      expect(specFromRemote(inWorld as unknown as Parameters<typeof specFromRemote>[0])).toEqual(fromFile);
    }
  });
});

describe('a rule against its template', () => {
  function rule(mapping: Record<string, unknown>): CreateRule {
    const result = validateRule({
      source: 'com.example.orders',
      ruleId: 'r',
      instanceId: 'i',
      target: { taskTemplateId: 't' },
      mapping: { name: "'n'", ...mapping },
    });
    if (!result.ok) throw new Error(result.errors.join('\n'));
    return result.rule as CreateRule;
  }

  it('flags an unmapped required field, and passes once it is mapped or defaulted', async () => {
    const missing = await checkRuleAgainstTemplate(rule({}), spec());
    expect(missing.errors).toEqual([expect.stringContaining('required field "Customer email"')]);
    const mapped = await checkRuleAgainstTemplate(
      rule({ references: { 'Customer email': { type: 'EMAIL', value: 'data.email' } } }),
      spec(),
    );
    expect(mapped).toEqual({ errors: [], warnings: [] });
    const bag = await checkRuleAgainstTemplate(rule({ attributesFrom: 'data.custom' }), spec());
    expect(bag.errors).toEqual([]);
    expect(bag.warnings).toEqual([expect.stringContaining('attributesFrom')]);
  });

  it('flags types that do not fit, where they are known statically', async () => {
    const check = await checkRuleAgainstTemplate(
      rule({
        references: {
          'Customer email': { type: 'STRING', value: 'data.email' },
          'Order total': { type: 'NUMBER', value: "'EUR ' & data.total" },
          Unknown: { type: 'STRING', value: 'data.x' },
        },
        scheduledTime: "'tomorrow'",
      }),
      spec(),
    );
    expect(check.errors).toEqual([
      expect.stringContaining('is EMAIL; the rule maps it as a STRING reference'),
      expect.stringContaining('not a number'),
      expect.stringContaining('mapping.scheduledTime: the expression gives "tomorrow", not a time'),
    ]);
    expect(check.warnings).toEqual([expect.stringContaining('has no field "Unknown"')]);
    const constants = await checkRuleAgainstTemplate(
      rule({
        references: {
          'Customer email': { type: 'EMAIL', value: "'a@example.com'" },
          'Order total': { type: 'NUMBER', value: "'12.50'" },
        },
      }),
      spec(),
    );
    expect(constants.errors).toEqual([]);
    const wrong = await checkRuleAgainstTemplate(
      rule({
        references: {
          'Customer email': { type: 'EMAIL', value: "'nobody'" },
          'Order total': { type: 'NUMBER', value: 'data.total > 3' },
        },
      }),
      spec(),
    );
    expect(wrong.errors).toEqual([
      expect.stringContaining('"nobody", not an e-mail address'),
      expect.stringContaining('gives true/false'),
    ]);
  });

  it('flags an INACTIVE template', async () => {
    const check = await checkRuleAgainstTemplate(
      rule({ references: { 'Customer email': { type: 'EMAIL', value: 'data.e' } } }),
      {
        ...spec(),
        status: 'INACTIVE',
      },
    );
    expect(check.errors).toEqual([expect.stringContaining('INACTIVE')]);
  });
});
