#!/usr/bin/env node
/**
 * Builds the `task-ingest` CLI as JavaScript: cli/main.ts bundled by esbuild into dist/cli/
 * (`main.mjs` plus one chunk per command group and per AWS SDK client, loaded when a command needs
 * them), and dist/cli/inputs.json, the project files it was built from. bin/task-ingest.mjs runs
 * the bundle and rebuilds it when one of those files changed since.
 *
 *   node scripts/build-cli.mjs        # npm run build:cli; npm install and npm ci run it (prepare)
 *
 * Plain Node and esbuild (a devDependency). Every file is written beside its final name and then
 * renamed, the input list last, so a CLI starting meanwhile reads either the old build or the new.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = join(ROOT, 'dist', 'cli');
/** What the bundle depends on beyond the project files esbuild reads: the installed packages. */
const ALSO_INPUTS = ['package.json', 'package-lock.json'];

/** The esbuild options of the CLI's bundle (tests read its metafile). */
export function bundleOptions() {
  return {
    absWorkingDir: ROOT,
    entryPoints: { main: 'cli/main.ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The packages' ES module builds where they have one: a dynamic import of a CommonJS build gives
    // only a default export in a split bundle, and the AWS SDK clients are imported dynamically.
    mainFields: ['module', 'main'],
    outdir: OUT_DIR,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    // Bundled CommonJS packages call require for Node's own modules.
    banner: {
      js: "import { createRequire as __ctiRequire } from 'node:module'; const require = __ctiRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  };
}

/**
 * Input: `clean` removes what an earlier build left (chunks of older builds).
 * Output: the outputs written and the inputs recorded, as paths relative to the repository.
 */
export async function buildCli({ clean = false } = {}) {
  const { build } = await import('esbuild');
  // Sources changed after this moment count as changed since the build.
  const builtAt = Date.now();
  const result = await build({ ...bundleOptions(), write: false });
  if (clean) rmSync(OUT_DIR, { recursive: true, force: true });
  const inputs = [
    ...Object.keys(result.metafile.inputs).filter((path) => !path.includes('node_modules/')),
    ...ALSO_INPUTS,
  ].sort();
  // The entry last: a CLI starting meanwhile finds every chunk the new entry imports.
  const entry = join(OUT_DIR, 'main.mjs');
  const files = [...result.outputFiles].sort((a, b) => Number(a.path === entry) - Number(b.path === entry));
  for (const file of files) writeAtomically(file.path, file.contents);
  writeAtomically(join(OUT_DIR, 'inputs.json'), `${JSON.stringify({ builtAt, inputs }, null, 2)}\n`);
  return { outputs: files.map((file) => relative(ROOT, file.path)), inputs };
}

function writeAtomically(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

/** True when esbuild can be loaded (an install without devDependencies has none). */
async function hasEsbuild() {
  try {
    await import('esbuild');
    return true;
  } catch {
    return false;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  if (!(await hasEsbuild())) {
    // prepare runs on every install: a missing esbuild is not an error, the bin then runs the sources.
    console.log('esbuild does not load: no CLI build; task-ingest runs from its sources (tsx)');
  } else {
    const { outputs, inputs } = await buildCli({ clean: true });
    console.log(
      `built ${relative(ROOT, OUT_DIR)}: ${outputs.length} files from ${inputs.length} project files in ${Date.now() - started} ms`,
    );
  }
}
