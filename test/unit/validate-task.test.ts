import type { StartTaskContactCommandInput } from '@aws-sdk/client-connect';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TASK_LIMITS, resolveTaskLimits } from '#lib/connect/constraints.ts';
import {
  attributesBytes,
  referencesBytes,
  type TaskTemplateView,
  truncateText,
  validateTaskRequest,
} from '#lib/connect/validate-task.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const limits = DEFAULT_TASK_LIMITS;

function request(overrides: Partial<StartTaskContactCommandInput> = {}): StartTaskContactCommandInput {
  return { InstanceId: 'inst-1', Name: 'Call back', ContactFlowId: 'flow-1', ...overrides };
}

function issuesOf(
  req: StartTaskContactCommandInput,
  extra: { truncate?: boolean; template?: TaskTemplateView } = {},
) {
  const result = validateTaskRequest(req, {
    limits,
    now: NOW,
    truncate: extra.truncate ?? false,
    template: extra.template,
  });
  return result.ok ? [] : result.issues;
}

describe('validateTaskRequest: fields and limits', () => {
  it('accepts a minimal valid request and returns a copy', () => {
    // Prepare
    const req = request();

    // Act
    const result = validateTaskRequest(req, { limits, now: NOW, truncate: false });

    // Assess
    expect(result).toEqual({ ok: true, request: req, truncated: [] });
    expect(result.ok && result.request).not.toBe(req);
  });

  it('names the field and the limit when Description is too long', () => {
    expect(issuesOf(request({ Description: 'd'.repeat(5000) }))).toEqual([
      {
        field: 'Description',
        limit: 'descriptionMaxLength',
        message: 'Description: 5000 characters exceeds the limit of 4096',
      },
    ]);
  });

  it.each([
    ['Name', { Name: 'n'.repeat(513) }, 'nameMaxLength'],
    ['InstanceId', { InstanceId: 'i'.repeat(101) }, 'instanceIdMaxLength'],
    ['ClientToken', { ClientToken: 't'.repeat(501) }, 'clientTokenMaxLength'],
    ['ContactFlowId', { ContactFlowId: 'f'.repeat(501) }, 'contactFlowIdMaxLength'],
    ['PreviousContactId', { PreviousContactId: 'p'.repeat(257) }, 'contactIdMaxLength'],
    ['RelatedContactId', { RelatedContactId: '' }, 'contactIdMinLength'],
  ] as const)('refuses a %s outside its length limit', (field, overrides, limit) => {
    expect(issuesOf(request(overrides))).toEqual([expect.objectContaining({ field, limit })]);
  });

  it('requires Name and InstanceId', () => {
    expect(issuesOf(request({ Name: undefined, InstanceId: undefined })).map((i) => i.message)).toEqual([
      'InstanceId: required',
      'Name: required',
    ]);
  });

  it('reads the limits from the table given, so overrides apply', () => {
    // Prepare
    const newer = resolveTaskLimits({ nameMaxLength: 1024 });

    // Act
    const result = validateTaskRequest(request({ Name: 'n'.repeat(1000) }), {
      limits: newer,
      now: NOW,
      truncate: false,
    });

    // Assess
    expect(result.ok).toBe(true);
  });

  it('requires exactly one flow target', () => {
    expect(issuesOf(request({ ContactFlowId: undefined }))).toEqual([
      expect.objectContaining({ field: 'ContactFlowId' }),
    ]);
    expect(issuesOf(request({ QuickConnectId: 'qc' }))).toEqual([
      {
        field: 'ContactFlowId|QuickConnectId',
        message:
          'ContactFlowId, QuickConnectId: include only one of ContactFlowId, QuickConnectId or TaskTemplateId',
      },
    ]);
  });

  it('refuses attribute keys outside the pattern and values over the limit', () => {
    // Act
    const issues = issuesOf(request({ Attributes: { 'bad key': 'x', good: 'v'.repeat(32_768) } }));

    // Assess
    expect(issues.map((i) => [i.field, i.limit])).toEqual([
      ['Attributes.bad key', 'attributeKeyPattern'],
      ['Attributes.good', 'attributeValueMaxLength'],
      ['Attributes', 'attributesMaxTotalBytes'],
    ]);
  });

  it('counts attribute bytes in UTF-8 over keys and values', () => {
    // Prepare: 'é' is 2 UTF-8 bytes; key 'k' + 16,383 × 'é' = 1 + 32,766 = 32,767 bytes.
    const fits = { k: 'é'.repeat(16_383) };
    const over = { kk: 'é'.repeat(16_384) };

    // Act / Assess
    expect(attributesBytes(fits)).toBe(32_767);
    expect(issuesOf(request({ Attributes: fits }))).toEqual([]);
    expect(issuesOf(request({ Attributes: over }))).toEqual([
      expect.objectContaining({
        field: 'Attributes',
        message: 'Attributes: 32770 UTF-8 bytes across all key-value pairs exceeds the limit of 32768',
      }),
    ]);
  });

  it('counts reference bytes over keys, values and types', () => {
    expect(referencesBytes({ ab: { Type: 'URL', Value: 'é' } })).toBe(2 + 3 + 2);
    expect(referencesBytes(undefined)).toBe(0);
  });

  it('refuses references over 4,096 bytes in all', () => {
    // Prepare: 2 × (1 + 6 + 2040) = 4094 fits; one more byte of value does not.
    const refs = (n: number) => ({
      a: { Type: 'STRING' as const, Value: 'v'.repeat(2040) },
      b: { Type: 'STRING' as const, Value: 'v'.repeat(n) },
    });

    // Act / Assess
    expect(issuesOf(request({ References: refs(2040) }))).toEqual([]);
    expect(issuesOf(request({ References: refs(2043) }))).toEqual([
      expect.objectContaining({ field: 'References', limit: 'referencesMaxTotalBytes' }),
    ]);
  });

  it('refuses ATTACHMENT references at creation', () => {
    expect(issuesOf(request({ References: { file: { Type: 'ATTACHMENT', Value: 'x' } } }))).toEqual([
      {
        field: 'References.file',
        limit: 'referenceTypesAtCreation',
        message: 'References.file: ATTACHMENT is not a supported reference type during task creation',
      },
    ]);
  });

  it.each([
    ['DATE', 'tomorrow', false],
    ['DATE', '1714555781', true],
    ['URL', 'not a url', false],
    ['URL', 'ftp://files.example.com/x', false],
    ['URL', 'https://crm.example.com/cases/1', true],
    ['EMAIL', 'ada@', false],
    ['EMAIL', 'ada@example.com', true],
    ['NUMBER', '12abc', false],
    ['NUMBER', '-129.5', true],
    ['STRING', 'anything at all', true],
  ] as const)('checks that a %s reference %j is well-formed (%s)', (type, value, ok) => {
    // Act
    const issues = issuesOf(request({ References: { r: { Type: type, Value: value } } }));

    // Assess
    expect(issues.length === 0).toBe(ok);
    if (!ok) expect(issues[0]?.field).toBe('References.r');
  });

  it('refuses a ScheduledTime in the past or more than 6 days ahead', () => {
    // Prepare
    const sixDays = limits.scheduledTimeMaxAheadSeconds * 1000;

    // Act / Assess
    expect(issuesOf(request({ ScheduledTime: new Date(NOW) }))).toEqual([]);
    expect(issuesOf(request({ ScheduledTime: new Date(NOW + sixDays) }))).toEqual([]);
    expect(issuesOf(request({ ScheduledTime: new Date(NOW - 1000) }))).toEqual([
      expect.objectContaining({
        field: 'ScheduledTime',
        message: expect.stringMatching(/cannot be in the past/),
      }),
    ]);
    expect(issuesOf(request({ ScheduledTime: new Date(NOW + sixDays + 1000) }))).toEqual([
      expect.objectContaining({ field: 'ScheduledTime', limit: 'scheduledTimeMaxAheadSeconds' }),
    ]);
  });

  it('never echoes attribute or reference values in issue messages', () => {
    // Act
    const issues = issuesOf(
      request({
        Attributes: { k: 'SECRET'.repeat(6000) },
        References: { r: { Type: 'EMAIL', Value: 'SECRET@' } },
      }),
    );

    // Assess
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) expect(issue.message).not.toContain('SECRET');
  });
});

describe('validateTaskRequest: truncation', () => {
  it('cuts Name and Description to their limits and lists them', () => {
    // Prepare
    const req = request({ Name: 'n'.repeat(600), Description: 'd'.repeat(5000) });

    // Act
    const result = validateTaskRequest(req, { limits, now: NOW, truncate: true });

    // Assess
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.truncated).toEqual(['Name', 'Description']);
    expect(result.request.Name).toHaveLength(512);
    expect(result.request.Description).toHaveLength(4096);
    expect(req.Name).toHaveLength(600);
  });

  it('never splits a surrogate pair', () => {
    // Prepare: 511 ASCII characters then an emoji occupying code units 511 and 512.
    const name = `${'a'.repeat(511)}😀tail`;

    // Act
    const cut = truncateText(name, 512);

    // Assess
    expect(cut).toBe('a'.repeat(511));
    expect(truncateText('abc', 5)).toBe('abc');
  });
});

describe('validateTaskRequest: task templates', () => {
  const template: TaskTemplateView = {
    Id: 'tt-1',
    Status: 'ACTIVE',
    ContactFlowId: 'template-flow',
    Fields: [
      { Id: { Name: 'Title' }, Type: 'NAME' },
      { Id: { Name: 'Notes' }, Type: 'DESCRIPTION' },
      { Id: { Name: 'Order total' }, Type: 'NUMBER' },
      { Id: { Name: 'Due' }, Type: 'DATE_TIME' },
      { Id: { Name: 'Customer email' }, Type: 'EMAIL' },
    ],
    Constraints: { RequiredFields: [{ Id: { Name: 'Title' } }, { Id: { Name: 'Order total' } }] },
    Defaults: {
      DefaultFieldValues: [
        { Id: { Name: 'Notes' }, DefaultValue: 'Created from the template' },
        { Id: { Name: 'Due' }, DefaultValue: '2024-05-02T00:00:00Z' },
        { Id: { Name: 'Order total' }, DefaultValue: '0' },
      ],
    },
  };
  const templated = (overrides: Partial<StartTaskContactCommandInput> = {}) =>
    request({ ContactFlowId: undefined, TaskTemplateId: 'tt-1', ...overrides });

  it('applies defaults to missing fields, typed by the template field', () => {
    // Act
    const result = validateTaskRequest(templated(), { limits, now: NOW, truncate: false, template });

    // Assess
    expect(result).toMatchObject({
      ok: true,
      request: {
        Description: 'Created from the template',
        References: {
          Due: { Type: 'DATE', Value: String(Date.parse('2024-05-02T00:00:00Z') / 1000) },
          'Order total': { Type: 'NUMBER', Value: '0' },
        },
      },
    });
  });

  it('keeps values the request already has over defaults', () => {
    // Act
    const result = validateTaskRequest(
      templated({ Description: 'mine', References: { 'Order total': { Type: 'NUMBER', Value: '12' } } }),
      { limits, now: NOW, truncate: false, template },
    );

    // Assess
    expect(result).toMatchObject({
      ok: true,
      request: { Description: 'mine', References: { 'Order total': { Type: 'NUMBER', Value: '12' } } },
    });
  });

  it('refuses when a required field has no value after defaults', () => {
    // Prepare
    const strict: TaskTemplateView = { ...template, Defaults: undefined };

    // Act
    const issues = issuesOf(templated(), { template: strict });

    // Assess
    expect(issues).toEqual([
      {
        field: 'References.Order total',
        message:
          'References.Order total: template field "Order total" is required by the task template and has no value',
      },
    ]);
  });

  it('accepts a required custom field given as an attribute of the same name', () => {
    // Prepare
    const strict: TaskTemplateView = {
      ...template,
      Defaults: undefined,
      Constraints: { RequiredFields: [{ Id: { Name: 'region' } }] },
    };

    // Act / Assess
    expect(issuesOf(templated({ Attributes: { region: 'eu' } }), { template: strict })).toEqual([]);
  });

  it('refuses an INACTIVE template', () => {
    expect(issuesOf(templated(), { template: { ...template, Status: 'INACTIVE' } })).toEqual([
      expect.objectContaining({ field: 'TaskTemplateId', message: expect.stringMatching(/INACTIVE/) }),
    ]);
  });

  it('refuses a template without a flow when the request names no other target', () => {
    expect(issuesOf(templated(), { template: { ...template, ContactFlowId: undefined } })).toEqual([
      expect.objectContaining({
        field: 'TaskTemplateId',
        message: expect.stringMatching(/no flow configured/),
      }),
    ]);
  });

  it('refuses a template view that is for another template', () => {
    expect(issuesOf(templated({ TaskTemplateId: 'tt-2' }), { template })).toEqual([
      expect.objectContaining({ field: 'TaskTemplateId' }),
    ]);
  });

  it('validates defaulted values like any other (a default Name is cut when truncating)', () => {
    // Prepare
    const longDefault: TaskTemplateView = {
      ...template,
      Defaults: {
        DefaultFieldValues: [
          { Id: { Name: 'Title' }, DefaultValue: 't'.repeat(600) },
          ...(template.Defaults?.DefaultFieldValues ?? []),
        ],
      },
    };

    // Act
    const result = validateTaskRequest(templated({ Name: undefined }), {
      limits,
      now: NOW,
      truncate: true,
      template: longDefault,
    });

    // Assess
    expect(result).toMatchObject({ ok: true, truncated: ['Name'] });
  });
});
