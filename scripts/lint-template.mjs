#!/usr/bin/env node
/**
 * Template lint (`npm run lint:template`, run by CI after `npm run package`): cfn-lint on the
 * CloudFormation template of two packagings, which must both have 0 errors and 0 warnings.
 *
 *   defaults  stage dev, every param at its default (what `npm run package` builds)
 *   prod      stage prod with every optional param set (PROD_PARAMS)
 *
 * Both are packaged offline through scripts/package.ts: prod into a temporary directory first, then
 * the defaults into `.serverless/` (the framework empties `.serverless/` on every packaging, so the
 * defaults come last and `.serverless/` ends as `npm run package` leaves it). One cfn-lint run reads
 * both templates.
 *
 *   node scripts/lint-template.mjs                  # exit 1 on any finding, 2 when cfn-lint is missing
 *   node scripts/lint-template.mjs --if-installed   # CI: prints "skipped: cfn-lint not installed", exit 0
 *
 * Output: each packaging's summary, every finding (`rule level file:line message`), and one line per
 * template with its error and warning counts. On findings the prod template's directory is kept and
 * named. Plain Node, no dependencies; cfn-lint (the Python linter) must be on PATH.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATE_NAME = 'cloudformation-template-update-stack.json';

/**
 * A prod stage with every optional param set: its own Connect instances, an alarm topic, and each
 * protected table pointed at a restored copy. Every param whose default is empty (an option that is
 * off) must appear here, so each branch of the template is linted (the template test checks it).
 */
export const PROD_PARAMS = {
  connectInstanceId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
  connectInstanceIds: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee,bbbbbbbb-cccc-4ddd-8eee-ffffffffffff',
  alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops-alerts',
  stateDeletionPolicy: 'Retain',
  restoredRulesTable: 'connect-task-ingest-prod-rules-restored',
  restoredLedgerTable: 'connect-task-ingest-prod-ledger-restored',
  restoredTransfersTable: 'connect-task-ingest-prod-transfers-restored',
};
export const PROD_REGION = 'eu-west-1';

/** The two packagings: a name, the arguments for scripts/package.ts, and where the result goes. */
export function packagings(prodDir) {
  const params = Object.entries(PROD_PARAMS).map(([name, value]) => `--param=${name}=${value}`);
  return [
    {
      name: 'prod',
      args: ['--stage', 'prod', '--region', PROD_REGION, ...params, '--package', prodDir],
      dir: prodDir,
    },
    { name: 'defaults', args: ['--stage', 'dev'], dir: join(ROOT, '.serverless') },
  ];
}

function cfnLintVersion() {
  const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return undefined;
  return probe.stdout.trim() || probe.stderr.trim();
}

function run(command, args, options = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: ROOT, ...options });
    let stdout = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolvePromise({ code: code ?? signal, stdout }));
  });
}

async function packageOne({ name, args }) {
  console.log(`lint-template: packaging ${name}`);
  const { code } = await run(process.execPath, ['--import', 'tsx', 'scripts/package.ts', ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (code !== 0) throw new Error(`packaging ${name} failed (${code})`);
}

/** cfn-lint's JSON findings of every template (cfn-lint exits non-zero whenever it finds any). */
async function lint(files) {
  const { code, stdout } = await run('cfn-lint', ['--format', 'json', '--', ...files], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    return JSON.parse(stdout || '[]');
  } catch {
    throw new Error(`cfn-lint exited with ${code} and printed no JSON findings`);
  }
}

/** A path as the reader finds it: relative inside the repository, absolute outside. */
function shown(file) {
  const path = relative(ROOT, resolve(ROOT, file));
  return path.startsWith('..') ? resolve(ROOT, file) : path;
}

function report(targets, findings) {
  for (const f of findings) {
    const where = `${shown(f.Filename)}:${f.Location?.Start?.LineNumber ?? '?'}`;
    console.log(`${f.Rule?.Id} ${f.Level} ${where} ${f.Message}`);
  }
  for (const { name, file } of targets) {
    const mine = findings.filter((f) => resolve(ROOT, f.Filename) === file);
    const count = (level) => mine.filter((f) => f.Level === level).length;
    const other = mine.length - count('Error') - count('Warning');
    console.log(
      `lint-template: ${name}: ${count('Error')} errors, ${count('Warning')} warnings` +
        `${other > 0 ? `, ${other} other` : ''} (${shown(file)})`,
    );
  }
}

async function main(argv) {
  const version = cfnLintVersion();
  if (version === undefined) {
    if (argv.includes('--if-installed')) {
      console.log('lint-template: skipped: cfn-lint not installed');
      return 0;
    }
    console.error('lint-template: cfn-lint is not on PATH (install it with `pip install cfn-lint`)');
    return 2;
  }
  const prodDir = mkdtempSync(join(tmpdir(), 'lint-template-'));
  let clean = false;
  try {
    const steps = packagings(prodDir);
    for (const step of steps) await packageOne(step);
    const targets = steps.map(({ name, dir }) => ({ name, file: join(dir, TEMPLATE_NAME) }));
    const findings = await lint(targets.map((t) => t.file));
    console.log(`lint-template: ${version}`);
    report(targets, findings);
    clean = findings.length === 0;
    if (!clean) console.error(`lint-template: findings above; the prod packaging is kept in ${prodDir}`);
    return clean ? 0 : 1;
  } catch (error) {
    console.error(`lint-template: ${error.message}`);
    return 1;
  } finally {
    if (clean) rmSync(prodDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
