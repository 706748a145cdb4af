/**
 * The leaf matchers of an EventBridge event pattern ("Content filtering in Amazon EventBridge event
 * patterns", EventBridge User Guide): one array of a pattern field, each item an exact value or one
 * operator object. A compiled leaf takes the field's leaf values (arrays flattened, objects left out)
 * and matches when any item matches.
 *
 * Emulator choices where the guide leaves room: an exact value matches only a value of the same JSON
 * type (the string "5" is not the number 5); `anything-but` of values matches strings and numbers
 * that are none of them, never null or booleans; the string forms of `anything-but` (prefix, suffix,
 * equals-ignore-case, wildcard) and `prefix`, `suffix`, `equals-ignore-case`, `wildcard` match
 * strings only; `numeric` matches JSON numbers only. `cidr` is refused as unsupported.
 */
import { isObject } from '#lib/guards.ts';
import { EventPatternError } from './errors.ts';

/** Tests one leaf value of the event. */
type ValueTest = (value: unknown) => boolean;
/** Tests the leaf values of a field (empty when the field is absent). */
export type LeafTest = (values: readonly unknown[]) => boolean;

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isScalar = (v: unknown) => v === null || isString(v) || isNumber(v) || typeof v === 'boolean';

function fail(where: string, reason: string): never {
  throw new EventPatternError(`"${where}" ${reason}`);
}

/** Compiles one array of a pattern field. */
export function compileLeaf(items: readonly unknown[], where: string): LeafTest {
  if (items.length === 0) fail(where, 'is an empty array');
  const tests = items.map((item) => compileItem(item, where));
  return (values) => tests.some((test) => test(values));
}

function compileItem(item: unknown, where: string): LeafTest {
  if (isScalar(item)) return anyValue((v) => v === item);
  if (!isObject(item)) fail(where, 'may hold strings, numbers, booleans, null or operator objects');
  const keys = Object.keys(item);
  if (keys.length !== 1) fail(where, 'has an operator object with more than one key');
  const name = keys[0] as string;
  const arg = item[name];
  if (name === 'exists') {
    if (typeof arg !== 'boolean') fail(where, 'uses "exists" with a value that is not true or false');
    return arg ? (values) => values.length > 0 : (values) => values.length === 0;
  }
  return anyValue(compileOperator(name, arg, where));
}

const anyValue =
  (test: ValueTest): LeafTest =>
  (values) =>
    values.some(test);

function compileOperator(name: string, arg: unknown, where: string): ValueTest {
  switch (name) {
    case 'prefix':
    case 'suffix':
      return compileAffix(name, arg, where);
    case 'equals-ignore-case':
      return stringTest(ignoreCase(requireString(arg, where, name)));
    case 'wildcard':
      return stringTest(wildcard(requireString(arg, where, name), where));
    case 'numeric':
      return compileNumeric(arg, where);
    case 'anything-but':
      return compileAnythingBut(arg, where);
    case 'cidr':
      return fail(where, 'uses "cidr", which the sandbox does not support');
    default:
      return fail(where, `uses an unknown operator "${name}"`);
  }
}

function requireString(arg: unknown, where: string, operator: string): string {
  if (!isString(arg)) fail(where, `uses "${operator}" with a value that is not a string`);
  return arg;
}

const stringTest =
  (test: (s: string) => boolean): ValueTest =>
  (v) =>
    isString(v) && test(v);

const ignoreCase = (expected: string) => {
  const lower = expected.toLowerCase();
  return (s: string) => s.toLowerCase() === lower;
};

/** `prefix` / `suffix`: a string, or `{"equals-ignore-case": string}`. */
function compileAffix(name: 'prefix' | 'suffix', arg: unknown, where: string): ValueTest {
  let affix: string;
  let fold = false;
  if (isObject(arg) && Object.keys(arg).length === 1 && 'equals-ignore-case' in arg) {
    affix = requireString(arg['equals-ignore-case'], where, `${name}.equals-ignore-case`);
    fold = true;
  } else {
    affix = requireString(arg, where, name);
  }
  const wanted = fold ? affix.toLowerCase() : affix;
  const at = (s: string) => (name === 'prefix' ? s.startsWith(wanted) : s.endsWith(wanted));
  return stringTest((s) => at(fold ? s.toLowerCase() : s));
}

/**
 * `wildcard`: `*` matches any run of characters; `\*` a literal star, `\\` a literal backslash.
 * Two stars in a row, or a backslash before anything else, are refused (as EventBridge does).
 */
function wildcard(expression: string, where: string): (s: string) => boolean {
  let source = '';
  for (let i = 0; i < expression.length; i += 1) {
    const c = expression[i] as string;
    if (c === '\\') {
      const next = expression[i + 1];
      if (next !== '*' && next !== '\\') fail(where, 'has a wildcard with an invalid escape');
      source += `\\${next}`;
      i += 1;
    } else if (c === '*') {
      if (expression[i + 1] === '*') fail(where, 'has a wildcard with consecutive "*"');
      source += '.*';
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  const regex = new RegExp(`^${source}$`, 'su');
  return (s) => regex.test(s);
}

const COMPARATORS: Readonly<Record<string, (a: number, b: number) => boolean>> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** `numeric`: `[op, n]`, or a range `[">" | ">=", low, "<" | "<=", high]` with low ≤ high. */
function compileNumeric(arg: unknown, where: string): ValueTest {
  const shape = 'uses "numeric" without [operator, number] or [">"|">=", low, "<"|"<=", high]';
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) fail(where, shape);
  const checks: Array<(v: number) => boolean> = [];
  for (let i = 0; i < arg.length; i += 2) {
    const [op, bound] = [arg[i], arg[i + 1]];
    const compare = isString(op) && Object.hasOwn(COMPARATORS, op) ? COMPARATORS[op] : undefined;
    if (!compare || !isNumber(bound)) fail(where, shape);
    checks.push((v) => compare(v, bound));
  }
  if (arg.length === 4) {
    const lowerFirst = String(arg[0]).startsWith('>') && String(arg[2]).startsWith('<');
    if (!lowerFirst || (arg[1] as number) > (arg[3] as number)) fail(where, shape);
  }
  return (v) => isNumber(v) && checks.every((check) => check(v));
}

/**
 * `anything-but`: a string or number, a list of them, or one of `{prefix}`, `{suffix}`,
 * `{equals-ignore-case}` (a string or a list), `{wildcard}` (a string or a list).
 */
function compileAnythingBut(arg: unknown, where: string): ValueTest {
  const inner = `${where} anything-but`;
  if (isObject(arg)) {
    const keys = Object.keys(arg);
    const name = keys[0] as string;
    if (keys.length !== 1) fail(inner, 'must have exactly one operator');
    const list = Array.isArray(arg[name]) ? (arg[name] as unknown[]) : [arg[name]];
    if (list.length === 0) fail(inner, 'has an empty list');
    let tests: Array<(s: string) => boolean>;
    if (name === 'prefix' || name === 'suffix') {
      const affix = requireString(arg[name], inner, name);
      tests = [name === 'prefix' ? (s) => s.startsWith(affix) : (s) => s.endsWith(affix)];
    } else if (name === 'equals-ignore-case')
      tests = list.map((s) => ignoreCase(requireString(s, inner, name)));
    else if (name === 'wildcard') tests = list.map((s) => wildcard(requireString(s, inner, name), inner));
    else return fail(inner, `uses an operator it does not support: "${name}"`);
    return stringTest((s) => !tests.some((test) => test(s)));
  }
  const excluded = Array.isArray(arg) ? arg : [arg];
  if (excluded.length === 0 || !excluded.every((v) => isString(v) || isNumber(v))) {
    fail(inner, 'must be a string, a number, a non-empty list of them, or an operator object');
  }
  return (v) => (isString(v) || isNumber(v)) && !excluded.includes(v);
}
