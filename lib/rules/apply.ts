/**
 * Rules as code: rule files (one rule a file, e.g. `events/rules/*.json`) against the rules table.
 *
 * - `checkRuleDocuments`: every file is validated before anything is read or written; a problem of
 *   any file (schema, JSONata, instance, the same rule in two files) refuses the whole set.
 * - `planRules`: per file, `create` (no stored rule), `unchanged` (the stored rule equals the file
 *   once both have their defaults applied) or `update` (with the changed paths); with `prune`, the
 *   stored rules of that source that no file names are `delete`d. Reads only.
 * - `applyRulePlan`: performs the plan with conditional writes: a create only if the rule still
 *   does not exist, an update and a delete only at the version the plan read. A rule someone
 *   changed in between is reported as a conflict and left alone; `unchanged` writes nothing.
 * - `exportRules`: the stored rules as files that `checkRuleDocuments` + `planRules` take back as
 *   `unchanged`: defaults applied, bookkeeping (`version`, `updatedAt`) left out, keys in a stable
 *   order.
 *
 * File bookkeeping: a file saved by `rules get` carries `version` and `updatedAt`; they are not
 * part of the rule and are ignored here (the version check is against what the plan read).
 */
import type { TaskLimits } from '#lib/connect/constraints.ts';
import { isObject } from '#lib/guards.ts';
import { validateRule } from '#lib/rules/compile.ts';
import type { Rule } from '#lib/rules/schema.ts';
import type { RuleRecord, RuleStore } from '#lib/rules/store.ts';
import { RuleConflictError } from './errors.ts';

/** A parsed rule file. */
export interface RuleDocument {
  /** Where it came from (a path), for messages. */
  file: string;
  document: unknown;
}

/** A rule file that passed validation: the rule with its defaults applied. */
export interface CheckedRule {
  file: string;
  rule: Rule;
}

export interface CheckRuleOptions {
  limits?: TaskLimits;
  /** The stage's Connect instances; a rule naming another is refused. Undefined: any instance. */
  allowedInstanceIds?: readonly string[];
}

export type RuleChange =
  | { action: 'create'; source: string; ruleId: string; file: string; rule: Rule; changes: string[] }
  | {
      action: 'update';
      source: string;
      ruleId: string;
      file: string;
      rule: Rule;
      version: number;
      changes: string[];
    }
  | { action: 'unchanged'; source: string; ruleId: string; file: string; version: number; changes: [] }
  | { action: 'delete'; source: string; ruleId: string; version: number; changes: string[] };

export interface AppliedRuleChange {
  change: RuleChange;
  /** `written`: stored or deleted; `skipped`: nothing to do or a dry run; `conflict`: changed meanwhile. */
  outcome: 'written' | 'skipped' | 'conflict';
  /** The rule's version after the write (creates and updates). */
  version?: number;
  /** Why a conflict was not written. */
  problem?: string;
}

const BOOKKEEPING = ['version', 'updatedAt'];

/**
 * Validates every rule file.
 * Input: the parsed files; the limits and the stage's instances.
 * Output: the rules (defaults applied), or every problem of every file, each prefixed with its file.
 */
export function checkRuleDocuments(
  documents: readonly RuleDocument[],
  options: CheckRuleOptions = {},
): { ok: true; rules: CheckedRule[] } | { ok: false; problems: string[] } {
  const rules: CheckedRule[] = [];
  const problems: string[] = [];
  const files = new Map<string, string>();
  for (const { file, document } of documents) {
    const result = validateRule(withoutBookkeeping(document), options.limits, {
      ...(options.allowedInstanceIds === undefined ? {} : { allowedInstanceIds: options.allowedInstanceIds }),
    });
    if (!result.ok) {
      problems.push(...result.errors.map((error) => `${file}: ${error}`));
      continue;
    }
    const key = ruleKey(result.rule.source, result.rule.ruleId);
    const earlier = files.get(key);
    if (earlier !== undefined) {
      problems.push(
        `${file}: rule ${result.rule.ruleId} of source ${result.rule.source} is also defined by ${earlier}`,
      );
      continue;
    }
    files.set(key, file);
    rules.push({ file, rule: result.rule });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, rules };
}

/**
 * Compares the files with the table; no write.
 * Input: the checked rules; `prune`: a source whose stored rules no file names are to be deleted.
 * Output: one change per file (in file order), then the deletes (by ruleId).
 */
export async function planRules(
  store: Pick<RuleStore, 'list'>,
  rules: readonly CheckedRule[],
  options: { prune?: string; limits?: TaskLimits } = {},
): Promise<RuleChange[]> {
  const sources = new Set(rules.map(({ rule }) => rule.source));
  if (options.prune !== undefined) sources.add(options.prune);
  const stored = new Map<string, RuleRecord>();
  for (const source of sources) {
    for (const record of await store.list(source)) stored.set(ruleKey(record.source, record.ruleId), record);
  }
  const changes: RuleChange[] = rules.map(({ file, rule }) => {
    const { source, ruleId } = rule;
    const record = stored.get(ruleKey(source, ruleId));
    if (record === undefined) {
      return {
        action: 'create',
        source,
        ruleId,
        file,
        rule,
        changes: [`+ rule ${ruleId} of source ${source}`],
      };
    }
    const diff = diffDocuments(normalised(record.document, options.limits), rule);
    return diff.length === 0
      ? { action: 'unchanged', source, ruleId, file, version: record.version, changes: [] }
      : { action: 'update', source, ruleId, file, rule, version: record.version, changes: diff };
  });
  if (options.prune !== undefined) {
    const named = new Set(rules.map(({ rule }) => ruleKey(rule.source, rule.ruleId)));
    for (const record of stored.values()) {
      if (record.source !== options.prune || named.has(ruleKey(record.source, record.ruleId))) continue;
      changes.push({
        action: 'delete',
        source: record.source,
        ruleId: record.ruleId,
        version: record.version,
        changes: [`- rule ${record.ruleId} of source ${record.source} (no file names it)`],
      });
    }
  }
  return changes;
}

/**
 * Performs a plan: conditional writes at the versions the plan read.
 * Output: one result per change, in plan order. A conflict (someone wrote the rule since the plan)
 * is reported and the rest still applied; any other store error is thrown.
 */
export async function applyRulePlan(
  store: Pick<RuleStore, 'put' | 'delete'>,
  plan: readonly RuleChange[],
  options: { dryRun?: boolean } = {},
): Promise<AppliedRuleChange[]> {
  const results: AppliedRuleChange[] = [];
  for (const change of plan) {
    if (change.action === 'unchanged' || options.dryRun) {
      results.push({ change, outcome: 'skipped' });
      continue;
    }
    try {
      if (change.action === 'delete') {
        await store.delete(change.source, change.ruleId, { expectedVersion: change.version });
        results.push({ change, outcome: 'written' });
      } else {
        const expectedVersion = change.action === 'create' ? 0 : change.version;
        const stored = await store.put(change.rule, { expectedVersion });
        results.push({ change, outcome: 'written', version: stored.version });
      }
    } catch (error) {
      if (!(error instanceof RuleConflictError)) throw error;
      results.push({ change, outcome: 'conflict', problem: error.message });
    }
  }
  return results;
}

/** One exported rule: a file name that names it, its text, and whether the stored rule still validates. */
export interface ExportedRule {
  source: string;
  ruleId: string;
  fileName: string;
  text: string;
  /** The validation errors of a stored rule that no longer validates (exported as stored). */
  errors: readonly string[];
}

/**
 * The stored rules as rule files.
 * Input: the records; `fileNames`: names to keep for rules a file already defines (`source\0ruleId`
 * → name), e.g. the files of the directory exported into.
 * Output: one file per rule: the rule with its defaults applied (as stored, when it no longer
 * validates), keys in a stable order, no bookkeeping; new names are `<source>.<ruleId>.json`.
 */
export function exportRules(
  records: readonly RuleRecord[],
  options: { limits?: TaskLimits; fileNames?: ReadonlyMap<string, string> } = {},
): ExportedRule[] {
  const taken = new Set(options.fileNames?.values() ?? []);
  return records.map((record) => {
    const result = validateRule(record.document, options.limits);
    const document = result.ok ? result.rule : record.document;
    const key = ruleKey(record.source, record.ruleId);
    let fileName = options.fileNames?.get(key);
    if (fileName === undefined) {
      const base = `${safeName(record.source)}.${safeName(record.ruleId)}`;
      fileName = taken.has(`${base}.json`) ? `${base}-${shortHash(key)}.json` : `${base}.json`;
      taken.add(fileName);
    }
    return {
      source: record.source,
      ruleId: record.ruleId,
      fileName,
      text: `${JSON.stringify(stableOrder(document, []), null, 2)}\n`,
      errors: result.ok ? [] : result.errors,
    };
  });
}

/** The key `planRules` and `exportRules` match rules by. */
export function ruleKey(source: string, ruleId: string): string {
  return `${source}\0${ruleId}`;
}

/** The (source, ruleId) a parsed file defines, when it names both (for keeping file names on export). */
export function ruleKeyOf(document: unknown): string | undefined {
  if (!isObject(document)) return undefined;
  const { source, ruleId } = document;
  return typeof source === 'string' && typeof ruleId === 'string' ? ruleKey(source, ruleId) : undefined;
}

/**
 * What changed from `before` to `after`, one line per leaf path: `+ path: value` (added),
 * `- path: value` (removed), `~ path: old → new` (changed). Arrays compare as values.
 */
export function diffDocuments(before: unknown, after: unknown, path = ''): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => {
      const at = path === '' ? key : `${path}.${key}`;
      if (!(key in after) || after[key] === undefined) {
        return before[key] === undefined ? [] : [`- ${at}: ${show(before[key])}`];
      }
      if (!(key in before) || before[key] === undefined) return [`+ ${at}: ${show(after[key])}`];
      return diffDocuments(before[key], after[key], at);
    });
  }
  if (canonical(before) === canonical(after)) return [];
  return [`~ ${path === '' ? '(rule)' : path}: ${show(before)} → ${show(after)}`];
}

function withoutBookkeeping(document: unknown): unknown {
  if (!isObject(document)) return document;
  const rest = { ...document };
  for (const key of BOOKKEEPING) delete rest[key];
  return rest;
}

/** A stored document with its defaults applied (as the file's rule has them), or as stored. */
function normalised(document: Record<string, unknown>, limits: TaskLimits | undefined): unknown {
  const result = validateRule(document, limits);
  return result.ok ? result.rule : document;
}

function show(value: unknown): string {
  const text = canonical(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** JSON with object keys sorted at every level: equal values, equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'undefined';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}

/** The order of a rule's own keys in exported files (docs/RULES.md, "Rule format"); other keys follow, sorted. */
const KEY_ORDER = [
  'source',
  'ruleId',
  'description',
  'priority',
  'enabled',
  'match',
  'action',
  'instanceId',
  'target',
  'contactFlowId',
  'quickConnectId',
  'taskTemplateId',
  'mapping',
  'name',
  'attributes',
  'attributesFrom',
  'references',
  'type',
  'value',
  'scheduledTime',
  'previousContactId',
  'relatedContactId',
  'segmentAttributes',
  'idempotencyKey',
  'correlationKey',
  'transfer',
  'transferRequest',
  'planId',
  'targetKey',
  'after',
  'at',
  'queueId',
  'userId',
  'options',
  'truncate',
  'onChainLimit',
  'lane',
];
/** Maps whose keys are the user's names (attribute, reference, segment attribute keys): sorted. */
const NAMED_MAPS = new Set(['mapping.attributes', 'mapping.references', 'mapping.segmentAttributes']);

function stableOrder(value: unknown, path: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => stableOrder(item, path));
  if (!isObject(value)) return value;
  const rank = (key: string) => {
    const at = KEY_ORDER.indexOf(key);
    return at === -1 || NAMED_MAPS.has(path.join('.')) ? KEY_ORDER.length : at;
  };
  const keys = Object.keys(value).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((key) => [key, stableOrder(value[key], [...path, key])]));
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** 8 hex digits of FNV-1a: tells apart two rules whose names differ only in unsafe characters. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}
