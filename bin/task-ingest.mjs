#!/usr/bin/env node
// The `task-ingest` CLI, run from its JavaScript build (dist/cli/main.mjs, made by
// scripts/build-cli.mjs on npm install / npm ci, or `npm run build:cli`). In a checkout whose
// sources changed since the build (dist/cli/inputs.json lists the files it was built from), the
// build is made again first, with a note on stderr; should esbuild not load, the CLI runs from its
// TypeScript sources through tsx instead, more slowly.
import { readFileSync, statSync } from 'node:fs';

// Local tooling may run on Node 20; the SDK's Node 22 notice is noise for a CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = new URL('../', import.meta.url);
const bundle = new URL('dist/cli/main.mjs', root);

/** Why the build cannot be used as it is, or undefined when it is up to date. */
function staleness() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('dist/cli/inputs.json', root), 'utf8'));
    statSync(bundle);
  } catch {
    return 'there is no build of the CLI yet';
  }
  for (const input of manifest.inputs) {
    let modified;
    try {
      modified = statSync(new URL(input, root)).mtimeMs;
    } catch {
      return `${input} is gone since the last build`;
    }
    if (modified > manifest.builtAt) return `${input} changed since the last build`;
  }
  return undefined;
}

async function load() {
  const stale = staleness();
  if (stale === undefined) return import(bundle.href);
  let builder;
  try {
    builder = await import(new URL('scripts/build-cli.mjs', root).href);
    await import('esbuild');
  } catch {
    process.stderr.write(
      `task-ingest: ${stale}, and esbuild does not load: running from the sources (tsx)\n`,
    );
    const { register } = await import('tsx/esm/api');
    register();
    return import(new URL('cli/main.ts', root).href);
  }
  process.stderr.write(`task-ingest: ${stale}; building dist/cli first (npm run build:cli)\n`);
  await builder.buildCli();
  return import(`${bundle.href}?built=${Date.now()}`);
}

const { main } = await load();
await main();
