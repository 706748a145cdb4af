/**
 * Reads the CloudFormation template that `serverless package` writes, packaging first when the
 * template is missing or older than what it is built from, and offers small queries over it.
 *
 * The template is `.serverless/cloudformation-template-update-stack.json` (what `deploy` would
 * send). Packaging runs `scripts/package.ts` (offline, fake credentials) in a child process.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Files and folders whose changes change the template or the bundles. */
const INPUTS = [
  'serverless.yml',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'scripts/package.ts',
  'scripts/task-schedules.cjs',
  'scripts/connect-instances.cjs',
  'scripts/resolve-variables.cjs',
  'scripts/alarm-actions.cjs',
  'scripts/state-protection.cjs',
  'functions',
  'lib',
];

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Condition?: string;
}

interface CfnOutput {
  Value: unknown;
  Description?: string;
  Export?: { Name: unknown };
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, CfnOutput>;
  Conditions?: Record<string, unknown>;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
}

/** One statement of an inline policy of an AWS::IAM::Role, with where it came from. */
export interface RoleStatement {
  roleId: string;
  policyName: string;
  statement: PolicyStatement;
}

class TemplatePackagingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TemplatePackagingError';
  }
}

function newestMtimeMs(path: string): number {
  if (!existsSync(path)) return 0;
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  }
  return newest;
}

/** True when the template is missing or older than serverless.yml or any source it is built from. */
function templateIsStale(root: string = REPO_ROOT): boolean {
  const template = join(root, '.serverless', 'cloudformation-template-update-stack.json');
  if (!existsSync(template)) return true;
  const builtAt = statSync(template).mtimeMs;
  return INPUTS.some((input) => newestMtimeMs(join(root, input)) > builtAt);
}

/** How long one packaging run may take before scripts/package.ts stops it (inside the hook timeout). */
export const PACKAGING_TIMEOUT_SECONDS = 170;

/** Runs `scripts/package.ts` (stage dev, offline); rejects with the tail of its output on failure. */
function packageService(root: string = REPO_ROOT): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/package.ts', '--stage', 'dev'], {
      cwd: root,
      env: { ...process.env, PACKAGE_TIMEOUT_SECONDS: String(PACKAGING_TIMEOUT_SECONDS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (error) =>
      reject(new TemplatePackagingError('could not start scripts/package.ts', { cause: error })),
    );
    child.once('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else
        reject(
          new TemplatePackagingError(
            `packaging failed (${signal ?? `exit code ${code}`}):\n${output.trim()}`,
          ),
        );
    });
  });
}

/** The packaged template, packaging first when it is missing or stale. */
export async function loadPackagedTemplate(root: string = REPO_ROOT): Promise<CfnTemplate> {
  if (templateIsStale(root)) await packageService(root);
  const file = join(root, '.serverless', 'cloudformation-template-update-stack.json');
  return JSON.parse(readFileSync(file, 'utf8')) as CfnTemplate;
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function resource(template: CfnTemplate, logicalId: string): CfnResource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`template has no resource ${logicalId}`);
  return found;
}

export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** A property of a resource, by path (`['RedrivePolicy', 'maxReceiveCount']`). */
export function property(res: CfnResource, path: readonly string[]): unknown {
  let value: unknown = res.Properties;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Every statement of every inline policy of every AWS::IAM::Role. */
export function roleStatements(template: CfnTemplate): RoleStatement[] {
  const out: RoleStatement[] = [];
  for (const [roleId, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
    const policies = asArray(property(role, ['Policies']) as Array<Record<string, unknown>> | undefined);
    for (const policy of policies) {
      const document = policy.PolicyDocument as { Statement?: PolicyStatement | PolicyStatement[] };
      for (const statement of asArray(document.Statement)) {
        out.push({ roleId, policyName: String(policy.PolicyName), statement });
      }
    }
  }
  return out;
}

export function actionsOf(statement: PolicyStatement): string[] {
  return asArray(statement.Action);
}

/**
 * A CloudFormation value rendered as text so ARNs can be compared. References render as `{X}`
 * (no dollar sign, so expectations are plain strings): `Ref X` as `{X}`, `Fn::GetAtt [X, Y]` as
 * `{X.Y}`, `Fn::Sub` as its template with every `${...}` written `{...}`, `Fn::Join` joined,
 * literal strings as they are. Anything else renders as JSON.
 */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Fn::Sub' in v) {
      const sub = v['Fn::Sub'];
      return String(Array.isArray(sub) ? sub[0] : sub).replaceAll('${', '{');
    }
    if ('Ref' in v) return `{${String(v.Ref)}}`;
    if ('Fn::GetAtt' in v) {
      const att = v['Fn::GetAtt'];
      return `{${Array.isArray(att) ? att.join('.') : String(att)}}`;
    }
    if ('Fn::Join' in v) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(renderValue).join(separator);
    }
  }
  return JSON.stringify(value);
}

export function resourcesOf(statement: PolicyStatement): string[] {
  return asArray(statement.Resource as unknown).map(renderValue);
}

/** The logical id of the role a function runs with (`Role: Fn::GetAtt [X, Arn]` or `Fn::Sub ${X.Arn}`). */
export function functionRoleId(fn: CfnResource): string | undefined {
  const role = property(fn, ['Role']) as { 'Fn::GetAtt'?: [string, string]; 'Fn::Sub'?: unknown } | undefined;
  const att = role?.['Fn::GetAtt'];
  if (att) return att[1] === 'Arn' ? att[0] : undefined;
  const sub =
    typeof role?.['Fn::Sub'] === 'string' ? /^\$\{([A-Za-z0-9]+)\.Arn\}$/.exec(role['Fn::Sub']) : null;
  return sub?.[1];
}

/** The logical ids of an `Fn::Sub`'s placeholders; the names its variable map defines are not ids. */
function subReferences(arg: unknown, out: Set<string>, visit: (v: unknown) => void): void {
  const [text, variables] = Array.isArray(arg) ? [String(arg[0]), arg[1] ?? {}] : [String(arg), {}];
  const local = new Set(Object.keys(variables as Record<string, unknown>));
  for (const match of text.matchAll(/\$\{([^}!][^}]*)\}/g)) {
    const id = (match[1] as string).split('.')[0] as string;
    if (!id.startsWith('AWS::') && !local.has(id)) out.add(id);
  }
  visit(variables);
}

/**
 * The logical ids a value refers to: `Ref X`, `Fn::GetAtt [X, ...]` and the `${X}` / `${X.Attr}`
 * placeholders of `Fn::Sub` (pseudo parameters `AWS::...` and `${!literal}` excluded), anywhere inside.
 */
export function referencedIds(value: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const item of v) visit(item);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    for (const [key, inner] of Object.entries(v as Record<string, unknown>)) {
      if (key === 'Ref' && typeof inner === 'string' && !inner.startsWith('AWS::')) out.add(inner);
      else if (key === 'Fn::GetAtt')
        out.add(Array.isArray(inner) ? String(inner[0]) : (String(inner).split('.')[0] as string));
      else if (key === 'Fn::Sub') subReferences(inner, out, visit);
      else visit(inner);
    }
  };
  visit(value);
  return out;
}

const CONNECT_INSTANCE_ARN =
  /^arn:\{AWS::Partition\}:connect:\{AWS::Region\}:\{AWS::AccountId\}:instance\/([^/]+)(\/.*)?$/;

/**
 * The Connect instances a statement's resources name (rendered ARNs `...:instance/<id>[/...]`), and
 * each ARN's path under its instance (`''`, `/contact/*`, ...). An ARN that is no instance ARN is
 * returned under `foreign`.
 */
export function connectScopeOf(statement: PolicyStatement): {
  instances: Set<string>;
  suffixesByInstance: Map<string, string[]>;
  foreign: string[];
} {
  const instances = new Set<string>();
  const suffixesByInstance = new Map<string, string[]>();
  const foreign: string[] = [];
  for (const arn of resourcesOf(statement)) {
    const match = CONNECT_INSTANCE_ARN.exec(arn);
    if (!match) {
      foreign.push(arn);
      continue;
    }
    const id = match[1] as string;
    instances.add(id);
    suffixesByInstance.set(id, [...(suffixesByInstance.get(id) ?? []), match[2] ?? '']);
  }
  return { instances, suffixesByInstance, foreign };
}
