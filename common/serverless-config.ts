/**
 * Reads `serverless.yml` the way the Serverless Framework does, far enough for the sandbox to build
 * the same queues, tables, functions and schedules locally, and for the CLI to read single values
 * (`readServerlessValue`: the task schedules, a stage's instances) without resolving the rest.
 *
 * - CloudFormation short tags (`!Ref`, `!GetAtt`, `!Sub`, ...) become their long forms
 *   (`{ Ref }`, `{ 'Fn::GetAtt': [...] }`, ...). The intrinsics are NOT evaluated here: the
 *   sandbox's resource deployer does that, so functions, events and resources keep them as objects.
 * - Serverless variables are resolved: `${self:...}`, `${sls:stage}`, `${opt:stage}`, `${param:...}`,
 *   `${env:...}`, `${file(./x.cjs):address}` / `${file(./x.json):address}` (a JS module's function
 *   is called as the framework calls it, `fn({ options, resolveVariable, resolveConfigurationProperty })`,
 *   and must answer synchronously here), fallbacks (`${x, 'default'}`) and nested variables. Any
 *   other source (`${ssm:...}`, `${cf:...}`, ...) is refused with an error naming the variable.
 * - `resources` may be a list whose entries are merged, as the framework does.
 *   CloudFormation `Fn::Sub` placeholders (`${AWS::Region}`, `${MyQueue.Arn}`, `${!Literal}`) are left
 *   untouched, as the framework does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CollectionTag, Pair, parse, Scalar, type ScalarTag, YAMLMap, type YAMLSeq } from 'yaml';
import { isObject } from '#lib/guards.ts';

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

/** A value that may still be a CloudFormation intrinsic (`{ Ref: 'IngestQueue' }`, ...). */
type CfnValue = unknown;

export interface SqsEventConfig {
  /** The queue ARN, usually an intrinsic such as `{ 'Fn::GetAtt': ['IngestQueue', 'Arn'] }`. */
  arn: CfnValue;
  /**
   * @default 10, as on AWS
   */
  batchSize: number;
  /**
   * Seconds.
   * @default 0
   */
  maximumBatchingWindow: number;
  /** Undefined means "not bounded by the event source" (AWS default). */
  maximumConcurrency?: number;
  functionResponseType?: 'ReportBatchItemFailures';
  /**
   * @default true
   */
  enabled: boolean;
  filterPatterns?: unknown[];
}

export interface ScheduleEventConfig {
  /** Always a list: serverless accepts one expression or several. */
  rate: string[];
  input?: unknown;
  name?: string;
  description?: string;
  /**
   * @default true
   */
  enabled: boolean;
}

interface FunctionEventConfig {
  sqs?: SqsEventConfig;
  schedule?: ScheduleEventConfig;
  /** Any other event type, kept as written (the sandbox ignores these). */
  other?: { type: string; value: unknown };
}

export interface FunctionConfig {
  name: string;
  /** As written, e.g. `functions/ingest.handler`. */
  handler: string;
  /** The module path without extension, relative to the service directory, e.g. `functions/ingest`. */
  handlerModule: string;
  /** The export name, e.g. `handler`. */
  handlerExport: string;
  description?: string;
  /** Seconds: function, else provider, else 6 (the framework's default). */
  timeout: number;
  /** MB: function, else provider, else 1024 (the framework's default). */
  memorySize: number;
  /** Provider environment overlaid with the function's own; values may be intrinsics. */
  environment: Record<string, CfnValue>;
  events: FunctionEventConfig[];
}

interface ProviderConfig {
  name?: string;
  runtime?: string;
  region?: string;
  stage?: string;
  memorySize?: number;
  timeout?: number;
  environment: Record<string, CfnValue>;
  [key: string]: unknown;
}

export interface ServerlessConfig {
  service: string;
  stage: string;
  /** The directory serverless.yml lives in; handler modules are relative to it. */
  serviceDir: string;
  provider: ProviderConfig;
  /** The `params` that apply to this stage, after overrides (default < stage < opts.params). */
  params: Record<string, unknown>;
  custom: Record<string, unknown>;
  functions: Record<string, FunctionConfig>;
  resources: {
    Resources: Record<string, unknown>;
    Outputs: Record<string, unknown>;
    Conditions: Record<string, unknown>;
  };
}

export interface LoadServerlessConfigOptions {
  /**
   * @default `serverless.yml` at the repository root
   */
  path?: string;
  /**
   * @default `provider.stage`, else `dev` (as `--stage` on the CLI)
   */
  stage?: string;
  /** Overrides for `${param:...}` (as `--param key=value`); they win over `params:` in the file. */
  params?: Record<string, string>;
  /**
   * Source for `${env:...}`.
   * @default `process.env`
   */
  env?: Record<string, string | undefined>;
}

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

/** serverless.yml cannot be read or resolved. `name` is the concrete class's name. */
export class ServerlessConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A `${...}` variable that cannot be resolved (unknown source, missing value, cycle, bad syntax). */
export class VariableResolutionError extends ServerlessConfigError {
  readonly variable: string;
  /** Where in the file, as a dotted path (`functions.ingest.timeout`). */
  readonly at: string;
  constructor(variable: string, at: string, reason: string, options?: ErrorOptions) {
    super(`Cannot resolve variable ${variable} at ${at || '<root>'}: ${reason}`, options);
    this.variable = variable;
    this.at = at;
  }
}

/** A schedule expression the sandbox cannot run. */
export class ScheduleExpressionError extends ServerlessConfigError {}

// ---------------------------------------------------------------------------------------------------
// Schedule expressions
// ---------------------------------------------------------------------------------------------------

const RATE_UNITS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/**
 * Converts an EventBridge rate expression to milliseconds.
 *
 * Input: `rate(1 minute)`, `rate(5 minutes)`, `rate(2 hours)`, `rate(1 day)`. As on EventBridge the
 * value is a positive integer and the unit is singular for 1 and plural otherwise.
 * Output: the period in ms. `cron(...)` and anything else throw a `ScheduleExpressionError`.
 */
export function parseRate(expr: string): number {
  const text = expr.trim();
  if (/^cron\s*\(/i.test(text)) {
    throw new ScheduleExpressionError(
      `Schedule expression "${expr}": cron(...) expressions are not supported in the sandbox; use rate(...)`,
    );
  }
  const match = /^rate\(\s*(\d+)\s+([a-z]+)\s*\)$/i.exec(text);
  if (!match) {
    throw new ScheduleExpressionError(
      `Schedule expression "${expr}" is not a rate expression such as "rate(5 minutes)"`,
    );
  }
  const value = Number(match[1]);
  const unit = (match[2] ?? '').toLowerCase();
  const unitMs = RATE_UNITS[unit];
  if (unitMs === undefined) {
    throw new ScheduleExpressionError(
      `Schedule expression "${expr}": unit must be minute(s), hour(s) or day(s)`,
    );
  }
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ScheduleExpressionError(`Schedule expression "${expr}": the value must be a positive integer`);
  }
  const plural = unit.endsWith('s');
  if (value === 1 && plural) {
    throw new ScheduleExpressionError(`Schedule expression "${expr}": use the singular unit for 1`);
  }
  if (value > 1 && !plural) {
    throw new ScheduleExpressionError(
      `Schedule expression "${expr}": use the plural unit for values above 1`,
    );
  }
  return value * unitMs;
}

// ---------------------------------------------------------------------------------------------------
// YAML with CloudFormation short tags
// ---------------------------------------------------------------------------------------------------

/** Short tag → long form key. `!Ref` and `!Condition` are not `Fn::` functions. */
const SHORT_TAGS: Record<string, string> = {
  Ref: 'Ref',
  Condition: 'Condition',
  GetAtt: 'Fn::GetAtt',
  Sub: 'Fn::Sub',
  Join: 'Fn::Join',
  If: 'Fn::If',
  Equals: 'Fn::Equals',
  Not: 'Fn::Not',
  And: 'Fn::And',
  Or: 'Fn::Or',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  FindInMap: 'Fn::FindInMap',
  ImportValue: 'Fn::ImportValue',
  Base64: 'Fn::Base64',
  GetAZs: 'Fn::GetAZs',
  Cidr: 'Fn::Cidr',
};

function longFormNode(key: string, value: YAMLMap | YAMLSeq): YAMLMap {
  const map = new YAMLMap();
  map.items.push(new Pair(new Scalar(key), value));
  return map;
}

function cloudFormationTags(): Array<ScalarTag | CollectionTag> {
  const tags: Array<ScalarTag | CollectionTag> = [];
  for (const [short, long] of Object.entries(SHORT_TAGS)) {
    const tag = `!${short}`;
    tags.push({
      tag,
      resolve: (value: string) => {
        if (short === 'GetAtt') {
          // `!GetAtt Logical.Attr` (the attribute may itself contain dots: `Db.Endpoint.Address`).
          const dot = value.indexOf('.');
          if (dot <= 0 || dot === value.length - 1) {
            throw new Error(`!GetAtt "${value}" must be "LogicalId.Attribute"`);
          }
          return { [long]: [value.slice(0, dot), value.slice(dot + 1)] };
        }
        return { [long]: value };
      },
    });
    tags.push({ tag, collection: 'seq', resolve: (seq) => longFormNode(long, seq as YAMLSeq) });
    tags.push({ tag, collection: 'map', resolve: (map) => longFormNode(long, map as YAMLMap) });
  }
  return tags;
}

const CFN_TAGS = cloudFormationTags();

function parseYaml(source: string, file: string): unknown {
  try {
    return parse(source, { customTags: CFN_TAGS, merge: true, prettyErrors: true });
  } catch (error) {
    throw new ServerlessConfigError(`${file} is not valid YAML`, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------------
// Variables
// ---------------------------------------------------------------------------------------------------

type PathSegment = string | number;
const pathText = (path: readonly PathSegment[]) => path.join('.');

const isRecord = isObject;

/** `source:` or `source(args):` at the start of a variable, but not `AWS::` (a CloudFormation pseudo parameter). */
const SOURCE_PREFIX = /^([A-Za-z][\w-]*)(\([^)]*\))?:(?!:)/;
const SUPPORTED_SOURCES = new Set(['self', 'sls', 'opt', 'param', 'env', 'file']);
const requireModule = createRequire(import.meta.url);

/** Finds the `}` closing the `${` at `start`, honouring nesting and quoted fallback strings. */
function findClose(text: string, start: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (ch === '{') {
      depth++;
    } else if (ch === '}') {
      depth--;
      if (depth === 0) return i;
    } else if ((ch === "'" || ch === '"') && depth > 0 && i > start + 1) {
      quote = ch;
    }
  }
  return -1;
}

/** Splits a variable body at top-level commas: `opt:stage, 'dev'` → [`opt:stage`, `'dev'`]. */
function splitAlternatives(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(body.slice(from, i).trim());
      from = i + 1;
    }
  }
  parts.push(body.slice(from).trim());
  return parts;
}

interface ResolverContext {
  root: Record<string, unknown>;
  env: Record<string, string | undefined>;
  optStage: string | undefined;
  paramOverrides: Record<string, string>;
  /** `${file(...)}` paths are relative to it. */
  serviceDir: string;
}

/**
 * Resolves the Serverless variables of a parsed document. `${self:...}` targets are resolved on
 * demand (they may hold variables themselves); a reference back into a value being resolved is a cycle.
 */
class VariableResolver {
  private readonly inProgress = new Set<string>();
  private stageValue: string | undefined;

  constructor(private readonly ctx: ResolverContext) {}

  stage(): string {
    if (this.stageValue === undefined) {
      const provider = this.ctx.root.provider;
      const fromFile = isRecord(provider) ? this.resolveAt(['provider', 'stage']) : undefined;
      const stage = this.ctx.optStage ?? fromFile ?? 'dev';
      if (typeof stage !== 'string' || stage === '') {
        throw new ServerlessConfigError(`provider.stage must be a non-empty string`);
      }
      this.stageValue = stage;
    }
    return this.stageValue;
  }

  /** Resolves the value found at `path` in the document (undefined when absent). */
  resolveAt(path: PathSegment[]): unknown {
    const key = pathText(path);
    if (this.inProgress.has(key)) {
      throw new VariableResolutionError(`\${self:${key}}`, key, 'circular reference');
    }
    let value: unknown = this.ctx.root;
    for (const segment of path) {
      if (Array.isArray(value) && typeof segment === 'number') value = value[segment];
      else if (Array.isArray(value) && /^\d+$/.test(String(segment))) value = value[Number(segment)];
      else if (isRecord(value)) value = value[String(segment)];
      else return undefined;
    }
    this.inProgress.add(key);
    try {
      return this.resolveDeep(value, path);
    } finally {
      this.inProgress.delete(key);
    }
  }

  resolveDeep(value: unknown, path: PathSegment[]): unknown {
    if (typeof value === 'string') return this.resolveString(value, path);
    if (Array.isArray(value)) return value.map((item, i) => this.resolveDeep(item, [...path, i]));
    if (isRecord(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.resolveDeep(v, [...path, k]);
      return out;
    }
    return value;
  }

  /**
   * Resolves every variable in a string. A string that is exactly one variable takes the variable's
   * value and type (`${param:batchSize}` → 10); variables inside a longer string are interpolated.
   */
  resolveString(text: string, path: PathSegment[]): unknown {
    if (!text.includes('${')) return text;
    const pieces: unknown[] = [];
    let cursor = 0;
    let i = text.indexOf('${');
    while (i !== -1) {
      const close = findClose(text, i);
      if (close === -1) {
        throw new VariableResolutionError(text.slice(i), pathText(path), 'unterminated ${');
      }
      const raw = text.slice(i, close + 1);
      const body = raw.slice(2, -1).trim();
      if (!SOURCE_PREFIX.test(body)) {
        // A CloudFormation Fn::Sub placeholder (`${AWS::Region}`, `${Queue.Arn}`, `${!Literal}`).
        i = text.indexOf('${', close + 1);
        continue;
      }
      if (i > cursor) pieces.push(text.slice(cursor, i));
      pieces.push(this.resolveVariable(raw, body, path));
      cursor = close + 1;
      i = text.indexOf('${', cursor);
    }
    if (cursor < text.length) pieces.push(text.slice(cursor));
    if (pieces.length === 1) return pieces[0];
    return pieces
      .map((piece) => {
        if (piece !== null && typeof piece === 'object') {
          throw new VariableResolutionError(
            text,
            pathText(path),
            'a variable inside a longer string resolved to an object or list',
          );
        }
        return String(piece);
      })
      .join('');
  }

  private resolveVariable(raw: string, body: string, path: PathSegment[]): unknown {
    const alternatives = splitAlternatives(body);
    for (const [index, alternative] of alternatives.entries()) {
      const value = this.resolveAlternative(raw, alternative, path, index === 0);
      if (value !== undefined) return value;
    }
    throw new VariableResolutionError(raw, pathText(path), 'no value found and no fallback given');
  }

  /** One side of `a, b, 'c'`: a literal, a `${...}` variable, or a bare `source:address`. */
  private resolveAlternative(raw: string, text: string, path: PathSegment[], primary: boolean): unknown {
    if (text === '') throw new VariableResolutionError(raw, pathText(path), 'empty variable or fallback');
    const quoted = /^'([^']*)'$|^"([^"]*)"$/.exec(text);
    if (quoted) return quoted[1] ?? quoted[2];
    if (!primary) {
      if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
      if (text === 'true' || text === 'false') return text === 'true';
      if (text === 'null') return null;
      if (text.startsWith('${')) return this.resolveString(text, path);
    }
    // Nested variables inside the address are resolved first: `self:custom.${sls:stage}.size`.
    const address = this.resolveString(text, path);
    if (typeof address !== 'string') {
      throw new VariableResolutionError(
        raw,
        pathText(path),
        'a nested variable in the address is not a string',
      );
    }
    const match = SOURCE_PREFIX.exec(address);
    if (!match) {
      throw new VariableResolutionError(
        raw,
        pathText(path),
        `"${address}" is neither a variable (source:address) nor a quoted literal`,
      );
    }
    const source = match[1] ?? '';
    if (!SUPPORTED_SOURCES.has(source) || (match[2] !== undefined) !== (source === 'file')) {
      throw new VariableResolutionError(
        raw,
        pathText(path),
        `unsupported variable source "${source}${match[2] ?? ''}" (the sandbox supports ${[...SUPPORTED_SOURCES].join(', ')})`,
      );
    }
    const rest = address.slice(match[0].length).trim();
    if (source === 'file') return this.file(raw, (match[2] ?? '()').slice(1, -1).trim(), rest, path);
    return this.lookup(raw, source, rest, path);
  }

  /**
   * `${file(./path):address}` as the framework reads it: `.json` parsed, `.js` / `.cjs` required;
   * a function met on the way is called with `{ options, resolveVariable, resolveConfigurationProperty }`
   * and its value used. A missing file is no value (a fallback may apply).
   */
  private file(raw: string, relative: string, address: string, path: PathSegment[]): unknown {
    if (relative === '') throw new VariableResolutionError(raw, pathText(path), 'file() needs a path');
    const file = resolvePath(this.ctx.serviceDir, relative);
    const ext = extname(file);
    if (!['.json', '.js', '.cjs'].includes(ext)) {
      throw new VariableResolutionError(
        raw,
        pathText(path),
        `the sandbox reads .json, .js and .cjs files, not "${ext}"`,
      );
    }
    if (!existsSync(file)) return undefined;
    const call = (fn: (arg: unknown) => unknown): unknown => {
      const result = fn({
        options: { stage: this.stage() },
        resolveVariable: (variable: string) => this.resolveString(`\${${variable}}`, path),
        resolveConfigurationProperty: (segments: PathSegment[]) => this.resolveAt(segments),
      });
      if (
        result !== null &&
        typeof result === 'object' &&
        typeof (result as { then?: unknown }).then === 'function'
      ) {
        throw new VariableResolutionError(
          raw,
          pathText(path),
          `${relative} answered with a promise; the sandbox needs a value`,
        );
      }
      return result;
    };
    try {
      let value: unknown = ext === '.json' ? JSON.parse(readFileSync(file, 'utf8')) : requireModule(file);
      if (typeof value === 'function') value = call(value as (arg: unknown) => unknown);
      for (const key of address === '' ? [] : address.split('.')) {
        if (!isRecord(value)) return undefined;
        value = value[key];
        if (typeof value === 'function') value = call(value as (arg: unknown) => unknown);
      }
      return value === null ? undefined : this.resolveDeep(value, path);
    } catch (error) {
      if (error instanceof VariableResolutionError) throw error;
      throw new VariableResolutionError(raw, pathText(path), (error as Error).message, { cause: error });
    }
  }

  private lookup(raw: string, source: string, address: string, path: PathSegment[]): unknown {
    switch (source) {
      case 'self':
        return this.resolveAt(address === '' ? [] : address.split('.'));
      case 'sls':
        if (address === 'stage') return this.stage();
        throw new VariableResolutionError(raw, pathText(path), `unsupported sls variable "${address}"`);
      case 'opt':
        return address === 'stage' ? this.ctx.optStage : undefined;
      case 'env':
        return this.ctx.env[address];
      case 'param':
        return this.param(address);
      default:
        throw new VariableResolutionError(raw, pathText(path), `unsupported variable source "${source}"`);
    }
  }

  /** `${param:name}`: opts.params, else `params.<stage>`, else `params.default`. */
  param(name: string): unknown {
    const override = this.ctx.paramOverrides[name];
    if (override !== undefined) return override;
    const params = this.ctx.root.params;
    if (!isRecord(params)) return undefined;
    const stage = this.stage();
    const forStage = params[stage];
    if (isRecord(forStage) && name in forStage) return this.resolveAt(['params', stage, name]);
    const defaults = params.default;
    if (isRecord(defaults) && name in defaults) return this.resolveAt(['params', 'default', name]);
    return undefined;
  }

  allParams(): Record<string, unknown> {
    const params = this.ctx.root.params;
    const names = new Set<string>(Object.keys(this.ctx.paramOverrides));
    if (isRecord(params)) {
      for (const group of [params.default, params[this.stage()]]) {
        if (isRecord(group)) for (const name of Object.keys(group)) names.add(name);
      }
    }
    const out: Record<string, unknown> = {};
    for (const name of names) out[name] = this.param(name);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------------

function toNumber(value: unknown, where: string, fallback?: number): number {
  if (value === undefined || value === null) {
    if (fallback === undefined) throw new ServerlessConfigError(`${where} is required`);
    return fallback;
  }
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new ServerlessConfigError(`${where} must be a number`);
  }
  return n;
}

function toOptionalNumber(value: unknown, where: string): number | undefined {
  return value === undefined || value === null ? undefined : toNumber(value, where);
}

function toBoolean(value: unknown, where: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ServerlessConfigError(`${where} must be a boolean`);
}

function toRecord(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new ServerlessConfigError(`${where} must be a mapping`);
  return value;
}

function normaliseSqs(value: unknown, where: string): SqsEventConfig {
  // `- sqs: arn:aws:sqs:...` is shorthand for `{ arn }`.
  const sqs = typeof value === 'string' || !isRecord(value) ? { arn: value } : value;
  if (sqs.arn === undefined || sqs.arn === null) throw new ServerlessConfigError(`${where}.arn is required`);
  const type = sqs.functionResponseType;
  if (type !== undefined && type !== 'ReportBatchItemFailures') {
    throw new ServerlessConfigError(`${where}.functionResponseType must be ReportBatchItemFailures`);
  }
  const out: SqsEventConfig = {
    arn: sqs.arn,
    batchSize: toNumber(sqs.batchSize, `${where}.batchSize`, 10),
    maximumBatchingWindow: toNumber(sqs.maximumBatchingWindow, `${where}.maximumBatchingWindow`, 0),
    enabled: toBoolean(sqs.enabled, `${where}.enabled`, true),
  };
  const maximumConcurrency = toOptionalNumber(sqs.maximumConcurrency, `${where}.maximumConcurrency`);
  if (maximumConcurrency !== undefined) out.maximumConcurrency = maximumConcurrency;
  if (type !== undefined) out.functionResponseType = type;
  if (Array.isArray(sqs.filterPatterns)) out.filterPatterns = sqs.filterPatterns;
  return out;
}

function normaliseSchedule(value: unknown, where: string): ScheduleEventConfig {
  const schedule = typeof value === 'string' ? { rate: value } : toRecord(value, where);
  const rates = Array.isArray(schedule.rate) ? schedule.rate : [schedule.rate];
  if (rates.length === 0 || !rates.every((r): r is string => typeof r === 'string' && r.trim() !== '')) {
    throw new ServerlessConfigError(`${where}.rate must be a schedule expression or a list of them`);
  }
  const out: ScheduleEventConfig = {
    rate: rates,
    enabled: toBoolean(schedule.enabled, `${where}.enabled`, true),
  };
  if (schedule.input !== undefined) out.input = schedule.input;
  if (typeof schedule.name === 'string') out.name = schedule.name;
  if (typeof schedule.description === 'string') out.description = schedule.description;
  return out;
}

function normaliseEvent(event: unknown, where: string): FunctionEventConfig {
  if (!isRecord(event) || Object.keys(event).length !== 1) {
    throw new ServerlessConfigError(`${where} must be a mapping with exactly one event type`);
  }
  const [type, value] = Object.entries(event)[0] as [string, unknown];
  if (type === 'sqs') return { sqs: normaliseSqs(value, `${where}.sqs`) };
  if (type === 'schedule') return { schedule: normaliseSchedule(value, `${where}.schedule`) };
  return { other: { type, value } };
}

function normaliseFunction(name: string, value: unknown, provider: ProviderConfig): FunctionConfig {
  const where = `functions.${name}`;
  const fn = toRecord(value, where);
  const handler = fn.handler;
  const dot = typeof handler === 'string' ? handler.lastIndexOf('.') : -1;
  if (typeof handler !== 'string' || dot <= 0 || dot === handler.length - 1) {
    throw new ServerlessConfigError(`${where}.handler must look like "path/to/file.exportName"`);
  }
  const events = fn.events ?? [];
  if (!Array.isArray(events)) throw new ServerlessConfigError(`${where}.events must be a list`);
  const out: FunctionConfig = {
    name,
    handler,
    handlerModule: handler.slice(0, dot),
    handlerExport: handler.slice(dot + 1),
    timeout: toNumber(fn.timeout ?? provider.timeout, `${where}.timeout`, 6),
    memorySize: toNumber(fn.memorySize ?? provider.memorySize, `${where}.memorySize`, 1024),
    environment: { ...provider.environment, ...toRecord(fn.environment, `${where}.environment`) },
    events: events.map((event, i) => normaliseEvent(event, `${where}.events.${i}`)),
  };
  if (typeof fn.description === 'string') out.description = fn.description;
  return out;
}

/** `resources` as a mapping, or a list of mappings merged section by section (a logical id once only). */
function mergeResources(value: unknown): Record<string, unknown> {
  if (!Array.isArray(value)) return toRecord(value, 'resources');
  const merged: Record<string, Record<string, unknown>> = {};
  value.forEach((entry, i) => {
    for (const [section, content] of Object.entries(toRecord(entry, `resources[${i}]`))) {
      merged[section] ??= {};
      const into = merged[section];
      for (const [id, item] of Object.entries(toRecord(content, `resources[${i}].${section}`))) {
        if (id in into) throw new ServerlessConfigError(`resources[${i}].${section}.${id} is declared twice`);
        into[id] = item;
      }
    }
  });
  return merged;
}

/**
 * The repository's serverless.yml: the first one up from this module's directory (the module runs
 * from common/, or from a bundle under dist/).
 */
function defaultPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'serverless.yml'))) return join(dir, 'serverless.yml');
  }
  return resolvePath('serverless.yml');
}

/**
 * Loads and resolves serverless.yml.
 *
 * Input: optional path (default: the repository's serverless.yml), stage, `--param` style overrides
 * and an environment for `${env:...}`.
 * Output: the service, stage, provider, params, custom, normalised functions (handler split into
 * module and export; timeout, memory, merged environment; sqs and schedule events with defaults)
 * and the CloudFormation resources with intrinsics in long form, unevaluated.
 * Primary course: read → parse with CloudFormation tags → resolve every Serverless variable →
 * normalise. Throws `ServerlessConfigError` (or `VariableResolutionError`) with the offending path.
 */
export function loadServerlessConfig(opts: LoadServerlessConfigOptions = {}): ServerlessConfig {
  const { source, file } = readSource(opts);
  return parseServerlessConfig(source, { ...opts, path: file });
}

/**
 * One value of serverless.yml, resolved alone: only the variables it (and what it refers to) holds
 * are resolved, so reading `self:custom.taskSchedules` or `param:connectInstanceIds` runs none of
 * the `${file(...)}` generators the resources use.
 * Input: `self:<dotted path>` or `param:<name>` (as in a variable), the options of `loadServerlessConfig`.
 * Output: the resolved value, or undefined when there is none.
 */
export function readServerlessValue(address: string, opts: LoadServerlessConfigOptions = {}): unknown {
  const { source, file } = readSource(opts);
  const { resolver } = resolverFor(source, { ...opts, path: file });
  if (address.startsWith('param:')) return resolver.param(address.slice('param:'.length));
  if (address.startsWith('self:')) return resolver.resolveAt(address.slice('self:'.length).split('.'));
  throw new ServerlessConfigError(`readServerlessValue reads self: and param: values, not "${address}"`);
}

function readSource(opts: LoadServerlessConfigOptions): { source: string; file: string } {
  const file = resolvePath(opts.path ?? defaultPath());
  try {
    return { source: readFileSync(file, 'utf8'), file };
  } catch (error) {
    throw new ServerlessConfigError(`Cannot read ${file}`, { cause: error });
  }
}

function resolverFor(
  source: string,
  opts: LoadServerlessConfigOptions,
): { resolver: VariableResolver; root: Record<string, unknown> } {
  const file = resolvePath(opts.path ?? 'serverless.yml');
  const root = parseYaml(source, file);
  if (!isRecord(root)) throw new ServerlessConfigError(`${file} must hold a mapping at the top level`);
  const resolver = new VariableResolver({
    root,
    env: opts.env ?? process.env,
    optStage: opts.stage,
    paramOverrides: opts.params ?? {},
    serviceDir: resolvePath(file, '..'),
  });
  return { resolver, root };
}

/** As `loadServerlessConfig`, from YAML text (`opts.path` only names the file in errors and sets serviceDir). */
export function parseServerlessConfig(
  source: string,
  opts: LoadServerlessConfigOptions = {},
): ServerlessConfig {
  const file = resolvePath(opts.path ?? 'serverless.yml');
  const { resolver, root } = resolverFor(source, opts);
  const resolved = resolver.resolveDeep(root, []) as Record<string, unknown>;
  const stage = resolver.stage();

  const service = resolved.service;
  const serviceName = isRecord(service) ? service.name : service;
  if (typeof serviceName !== 'string' || serviceName === '') {
    throw new ServerlessConfigError(`service must be a non-empty string`);
  }

  const providerRaw = toRecord(resolved.provider, 'provider');
  const provider: ProviderConfig = {
    ...providerRaw,
    environment: toRecord(providerRaw.environment, 'provider.environment'),
  };
  const providerTimeout = toOptionalNumber(providerRaw.timeout, 'provider.timeout');
  const providerMemory = toOptionalNumber(providerRaw.memorySize, 'provider.memorySize');
  if (providerTimeout !== undefined) provider.timeout = providerTimeout;
  if (providerMemory !== undefined) provider.memorySize = providerMemory;

  const functions: Record<string, FunctionConfig> = {};
  for (const [name, fn] of Object.entries(toRecord(resolved.functions, 'functions'))) {
    functions[name] = normaliseFunction(name, fn, provider);
  }

  const resources = mergeResources(resolved.resources);
  return {
    service: serviceName,
    stage,
    serviceDir: resolvePath(file, '..'),
    provider,
    params: resolver.allParams(),
    custom: toRecord(resolved.custom, 'custom'),
    functions,
    resources: {
      Resources: toRecord(resources.Resources, 'resources.Resources'),
      Outputs: toRecord(resources.Outputs, 'resources.Outputs'),
      Conditions: toRecord(resources.Conditions, 'resources.Conditions'),
    },
  };
}
