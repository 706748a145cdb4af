/**
 * Checks a request against its operation's input shape in the API model: required members, types,
 * string lengths, patterns and enums, list and map sizes, integer ranges, nested structures, lists
 * and maps included. A failure is the operation's validation error (`validationErrorOf`) naming the
 * member and the limit; messages never echo values (task contents are customer data), only member
 * names, map keys and sizes. Lengths are counted in UTF-16 code units (`string.length`).
 */
import type { ConnectOperation } from './config.ts';
import { ConnectApiError } from './errors.ts';
import type { EmulatorLimits } from './limits.ts';
import { type ModelNode, operationModel, validationErrorOf } from './model.ts';

export type JsonObject = Record<string, unknown>;

/** A key as it may appear in a message: identifiers only, quoted, cut to 100 characters. */
export function quoteKey(key: string): string {
  return JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}…` : key);
}

interface Walk {
  limits: EmulatorLimits;
  fail: (message: string) => never;
}

const isMap = (value: unknown): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The model's bounds for a node, with any override of its shape layered on. */
function boundsOf(node: ModelNode, walk: Walk): { min?: number; max?: number } {
  return { min: node.min, max: node.max, ...walk.limits.shapes[node.shape] };
}

function checkSize(path: string, size: number, node: ModelNode, walk: Walk, unit: string): void {
  const { min, max } = boundsOf(node, walk);
  if (min !== undefined && size < min) walk.fail(`${path} must be at least ${min} ${unit} (got ${size})`);
  if (max !== undefined && size > max) walk.fail(`${path} must be at most ${max} ${unit} (got ${size})`);
}

function checkString(path: string, value: unknown, node: ModelNode, walk: Walk): void {
  if (typeof value !== 'string') walk.fail(`${path} must be a string`);
  checkSize(path, value.length, node, walk, 'characters');
  if (node.enum && !node.enum.includes(value)) walk.fail(`${path} must be one of ${node.enum.join(' | ')}`);
  if (node.patternJs && !new RegExp(node.patternJs, 'u').test(value)) {
    walk.fail(`${path} must match the pattern ${node.patternJs}`);
  }
}

function checkNumber(path: string, value: unknown, node: ModelNode, walk: Walk): void {
  const integer = node.type === 'integer' || node.type === 'long';
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    walk.fail(`${path} must be ${integer ? 'an integer' : 'a number'}`);
  }
  const { min, max } = boundsOf(node, walk);
  if (min !== undefined && value < min) walk.fail(`${path} must be at least ${min} (got ${value})`);
  if (max !== undefined && value > max) walk.fail(`${path} must be at most ${max} (got ${value})`);
}

function checkList(path: string, value: unknown, node: ModelNode, walk: Walk): void {
  if (!Array.isArray(value)) walk.fail(`${path} must be a list`);
  checkSize(path, value.length, node, walk, 'items');
  if (node.member)
    for (const [i, item] of value.entries()) checkNode(`${path}[${i}]`, item, node.member, walk);
}

function checkMap(path: string, value: unknown, node: ModelNode, walk: Walk): void {
  if (!isMap(value)) walk.fail(`${path} must be a map`);
  const entries = Object.entries(value);
  checkSize(path, entries.length, node, walk, 'entries');
  for (const [key, item] of entries) {
    if (node.key) checkNode(`${path} key ${quoteKey(key)}`, key, node.key, walk);
    if (node.value) checkNode(`${path}[${quoteKey(key)}]`, item, node.value, walk);
  }
}

/** Checks a structure's members; `path` '' is the request itself. */
function checkStructure(path: string, value: unknown, node: ModelNode, walk: Walk): void {
  if (!isMap(value)) walk.fail(`${path || 'the request'} must be an object`);
  const at = (name: string) => (path ? `${path}.${name}` : name);
  for (const name of node.required ?? []) {
    if (value[name] === undefined || value[name] === null) walk.fail(`${at(name)} is required`);
  }
  for (const [name, member] of Object.entries(node.members ?? {})) {
    const item = value[name];
    if (item !== undefined && item !== null) checkNode(at(name), item, member, walk);
  }
}

const CHECKS: Record<string, (path: string, value: unknown, node: ModelNode, walk: Walk) => void> = {
  string: checkString,
  integer: checkNumber,
  long: checkNumber,
  float: checkNumber,
  double: checkNumber,
  list: checkList,
  map: checkMap,
  structure: checkStructure,
  boolean: (path, value, _node, walk) => {
    if (typeof value !== 'boolean') walk.fail(`${path} must be a boolean`);
  },
  // REST-JSON sends a timestamp as epoch seconds (a JSON number, maybe fractional).
  timestamp: (path, value, _node, walk) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      walk.fail(`${path} must be a timestamp in epoch seconds`);
    }
  },
};

function checkNode(path: string, value: unknown, node: ModelNode, walk: Walk): void {
  if (node.ref !== undefined) return;
  CHECKS[node.type]?.(path, value, node, walk);
}

/** Throws the operation's validation error when `input` breaks a constraint of its model. */
export function checkInput(operation: ConnectOperation, input: JsonObject, limits: EmulatorLimits): void {
  const errorType = validationErrorOf(operation);
  const fail = (message: string): never => {
    throw new ConnectApiError(errorType, message);
  };
  checkStructure('', input, operationModel(operation).input, { limits, fail });
}
