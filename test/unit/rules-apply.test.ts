/** The rules-as-code use case (lib/rules/apply.ts) on its own: checking files, diffs, export names. */
import { describe, expect, it } from 'vitest';
import { checkRuleDocuments, diffDocuments, exportRules, planRules, ruleKey } from '#lib/rules/apply.ts';
import type { RuleRecord } from '#lib/rules/store.ts';

const rule = (overrides: Record<string, unknown> = {}) => ({
  source: 'com.example.crm',
  ruleId: 'case-opened',
  instanceId: 'inst-1',
  target: { contactFlowId: 'flow-1' },
  mapping: { name: "'Case ' & data.caseId" },
  ...overrides,
});

const record = (document: Record<string, unknown>, version = 1): RuleRecord => ({
  source: String(document.source),
  ruleId: String(document.ruleId),
  version,
  updatedAt: '2027-01-01T00:00:00.000Z',
  document,
});

describe('checkRuleDocuments', () => {
  it('refuses the same rule defined by two files, naming both', () => {
    // Act
    const result = checkRuleDocuments([
      { file: 'a.json', document: rule() },
      { file: 'b.json', document: rule({ priority: 5 }) },
    ]);

    // Assess
    expect(result).toEqual({
      ok: false,
      problems: ['b.json: rule case-opened of source com.example.crm is also defined by a.json'],
    });
  });

  it('ignores the version and updatedAt a file saved by rules get carries', () => {
    // Act
    const result = checkRuleDocuments([
      { file: 'a.json', document: { ...rule(), version: 3, updatedAt: '2027-01-01T00:00:00Z' } },
    ]);

    // Assess
    expect(result.ok).toBe(true);
    expect(result.ok && Object.keys(result.rules[0]?.rule ?? {})).not.toContain('version');
  });
});

describe('planRules', () => {
  it('finds a stored rule written without its defaults unchanged against a file that has them', async () => {
    // Prepare
    const checked = checkRuleDocuments([
      { file: 'a.json', document: rule({ priority: 100, enabled: true }) },
    ]);
    if (!checked.ok) throw new Error(checked.problems.join('; '));
    const store = { list: async () => [record(rule())] };

    // Act
    const plan = await planRules(store, checked.rules);

    // Assess
    expect(plan).toEqual([
      expect.objectContaining({ action: 'unchanged', ruleId: 'case-opened', version: 1, changes: [] }),
    ]);
  });
});

describe('diffDocuments', () => {
  it('names each added, removed and changed path', () => {
    // Act
    const lines = diffDocuments(
      { priority: 100, mapping: { name: 'a', description: 'd' } },
      { priority: 50, mapping: { name: 'a', scheduledTime: 't' } },
    );

    // Assess
    expect(lines).toEqual([
      '- mapping.description: "d"',
      '+ mapping.scheduledTime: "t"',
      '~ priority: 100 → 50',
    ]);
  });
});

describe('exportRules', () => {
  it('keeps the file a directory already has for a rule and names new ones <source>.<ruleId>.json', () => {
    // Act
    const files = exportRules([record(rule()), record(rule({ source: 'com/example', ruleId: 'x' }))], {
      fileNames: new Map([[ruleKey('com.example.crm', 'case-opened'), 'crm-case.json']]),
    });

    // Assess
    expect(files.map((f) => f.fileName)).toEqual(['crm-case.json', 'com_example.x.json']);
  });

  it('writes keys in the rule format order and attribute names sorted, whatever order the table gave', () => {
    // Act
    const [file] = exportRules([
      record({
        mapping: { attributes: { zeta: "'z'", alpha: "'a'" }, name: "'n'" },
        ruleId: 'r',
        target: { contactFlowId: 'flow-1' },
        instanceId: 'inst-1',
        source: 's',
      }),
    ]);

    // Assess
    const parsed = JSON.parse(file?.text ?? '{}') as { mapping: { attributes: object } };
    expect(Object.keys(parsed)).toEqual([
      'source',
      'ruleId',
      'priority',
      'enabled',
      'action',
      'instanceId',
      'target',
      'mapping',
      'options',
    ]);
    expect(Object.keys(parsed.mapping)).toEqual(['name', 'attributes']);
    expect(Object.keys(parsed.mapping.attributes)).toEqual(['alpha', 'zeta']);
  });
});
