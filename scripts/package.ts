/**
 * The offline packaging gate (`npm run package`, run by CI after `npm test`).
 *
 * Use case: package the service exactly as `serverless deploy` would, without an AWS account.
 *   Input: the stage from `--stage <name>` / `-s <name>` / `--stage=<name>`, else the `STAGE`
 *     environment variable, else `dev`. Every other argument is handed to `serverless package`
 *     unchanged (e.g. `--param="connectInstanceId=..."`, `--region eu-west-1`); `--package <dir>`
 *     (or `-p <dir>`) also tells this script where to find the result (default `.serverless`).
 *     `PACKAGE_TIMEOUT_SECONDS` (default 600) bounds the run.
 *   Output: the packaging wall time and each function's zipped bundle size on stdout; exit status 0
 *     when every function has its bundle and the CloudFormation template was written, non-zero
 *     otherwise (1: packaging failed, 2: bad arguments).
 *   Primary course: run osls' `serverless package` in a child process whose environment carries
 *     fake AWS credentials and no profile (nothing may call AWS while packaging), time it, then read
 *     `serverless-state.json` of the output directory for each function's artifact and report its size.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where `serverless package` writes unless `--package <dir>` says otherwise. */
const DEFAULT_OUTPUT_DIR = join(ROOT, '.serverless');
const TEMPLATE_NAME = 'cloudformation-template-update-stack.json';
const STATE_NAME = 'serverless-state.json';
const DEFAULT_STAGE = 'dev';
/** Upper bound for one packaging run; override with PACKAGE_TIMEOUT_SECONDS. */
const DEFAULT_TIMEOUT_SECONDS = 600;
/** CloudFormation stack names allow letters, digits and hyphens; the stage is part of the stack name. */
const STAGE_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

class PackagingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PackagingError';
  }
}

class UsageError extends PackagingError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface PackageRequest {
  stage: string;
  timeoutMs: number;
  /** Arguments handed to `serverless package` as they are. */
  passThrough: string[];
  /** The directory the template, the state and the bundles are written to. */
  outputDir: string;
}

interface Artifact {
  functionName: string;
  file: string;
  bytes: number;
}

function parseArguments(argv: readonly string[], env: NodeJS.ProcessEnv): PackageRequest {
  let stage: string | undefined;
  let outputDir = DEFAULT_OUTPUT_DIR;
  const passThrough: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--stage' || arg === '-s') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) throw new UsageError(`${arg} needs a stage name`);
      stage = value;
      i++;
    } else if (arg.startsWith('--stage=')) {
      stage = arg.slice('--stage='.length);
    } else if (arg === '--package' || arg === '-p') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) throw new UsageError(`${arg} needs a directory`);
      outputDir = resolve(ROOT, value);
      passThrough.push(arg, value);
      i++;
    } else if (arg.startsWith('--package=')) {
      outputDir = resolve(ROOT, arg.slice('--package='.length));
      passThrough.push(arg);
    } else {
      passThrough.push(arg);
    }
  }
  const chosen = stage ?? env.STAGE ?? DEFAULT_STAGE;
  if (!STAGE_PATTERN.test(chosen)) {
    throw new UsageError(`stage "${chosen}" must be 1-64 letters, digits or hyphens`);
  }
  const timeoutSeconds = Number(env.PACKAGE_TIMEOUT_SECONDS ?? DEFAULT_TIMEOUT_SECONDS);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError('PACKAGE_TIMEOUT_SECONDS must be a positive number of seconds');
  }
  return { stage: chosen, timeoutMs: timeoutSeconds * 1000, passThrough, outputDir };
}

/**
 * The child's environment: fake static credentials, no profile or role sources, no instance
 * metadata lookups. If anything in serverless.yml needed AWS, packaging fails here, not in CI later.
 */
function offlineEnvironment(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of [
    'AWS_PROFILE',
    'AWS_DEFAULT_PROFILE',
    'AWS_SESSION_TOKEN',
    'AWS_SECURITY_TOKEN',
    'AWS_ROLE_ARN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  ]) {
    delete env[name];
  }
  env.AWS_ACCESS_KEY_ID = 'AKIAOFFLINEPACKAGING';
  env.AWS_SECRET_ACCESS_KEY = 'offline-packaging-needs-no-credentials';
  env.AWS_EC2_METADATA_DISABLED = 'true';
  env.AWS_SDK_LOAD_CONFIG = '0';
  return env;
}

function serverlessBin(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('osls/package.json');
  return join(dirname(manifest), 'bin', 'serverless.js');
}

/**
 * Runs serverless in a child process. A gate must fail rather than hang: past `timeoutMs` the child
 * is stopped (SIGTERM, then SIGKILL) and packaging fails.
 */
function runServerless(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [serverlessBin(), ...args], { cwd: ROOT, env, stdio: 'inherit' });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new PackagingError('could not start serverless', { cause: error }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut)
        reject(new PackagingError(`serverless package did not finish within ${timeoutMs / 1000} s`));
      else if (code === 0) resolvePromise();
      else reject(new PackagingError(`serverless package exited with ${signal ?? `code ${code}`}`));
    });
  });
}

/** Each function's artifact as serverless recorded it; a function without its zip is a failure. */
async function readArtifacts(outputDir: string): Promise<Artifact[]> {
  const templateFile = join(outputDir, TEMPLATE_NAME);
  const stateFile = join(outputDir, STATE_NAME);
  if (!existsSync(templateFile)) throw new PackagingError(`no CloudFormation template at ${templateFile}`);
  let state: unknown;
  try {
    state = JSON.parse(await readFile(stateFile, 'utf8'));
  } catch (error) {
    throw new PackagingError(`cannot read ${stateFile}`, { cause: error });
  }
  const functions = (
    state as { service?: { functions?: Record<string, { package?: { artifact?: string } }> } }
  ).service?.functions;
  if (!functions || Object.keys(functions).length === 0) {
    throw new PackagingError('serverless-state.json lists no functions');
  }
  const artifacts: Artifact[] = [];
  for (const [functionName, definition] of Object.entries(functions)) {
    const artifact = definition.package?.artifact;
    if (!artifact) throw new PackagingError(`function ${functionName} has no packaged artifact`);
    // The state names the zip under `.serverless/` even with `--package <dir>`, which holds it instead.
    const file = join(outputDir, basename(artifact));
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(file);
    } catch (error) {
      throw new PackagingError(`bundle of ${functionName} is missing: ${file}`, { cause: error });
    }
    if (info.size === 0) throw new PackagingError(`bundle of ${functionName} is empty: ${file}`);
    artifacts.push({ functionName, file, bytes: info.size });
  }
  return artifacts.sort((a, b) => a.functionName.localeCompare(b.functionName));
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
}

function report(stage: string, wallMs: number, artifacts: readonly Artifact[]): string {
  const nameWidth = Math.max(...artifacts.map((a) => a.functionName.length));
  const sizes = artifacts.map((a) => formatBytes(a.bytes));
  const sizeWidth = Math.max(...sizes.map((s) => s.length));
  const lines = artifacts.map(
    (a, i) =>
      `  ${a.functionName.padEnd(nameWidth)}  ${(sizes[i] as string).padStart(sizeWidth)}  ${relative(ROOT, a.file)}`,
  );
  const total = artifacts.reduce((sum, a) => sum + a.bytes, 0);
  return [
    `Packaged stage "${stage}" in ${(wallMs / 1000).toFixed(1)} s (wall time)`,
    ...lines,
    `  ${'total'.padEnd(nameWidth)}  ${formatBytes(total).padStart(sizeWidth)}`,
  ].join('\n');
}

async function main(): Promise<number> {
  let request: PackageRequest;
  try {
    request = parseArguments(process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`package: ${(error as Error).message}`);
    console.error('usage: npm run package -- [--stage <name>] [serverless package options]');
    return 2;
  }
  const started = performance.now();
  try {
    await runServerless(
      ['package', '--stage', request.stage, ...request.passThrough],
      offlineEnvironment(process.env),
      request.timeoutMs,
    );
    const artifacts = await readArtifacts(request.outputDir);
    console.log(report(request.stage, performance.now() - started, artifacts));
    return 0;
  } catch (error) {
    console.error(`package: ${(error as Error).message}`);
    return 1;
  }
}

process.exitCode = await main();
