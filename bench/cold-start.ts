/**
 * Cold start: each function bundled with esbuild using serverless.yml's `custom.esbuild` options (what
 * serverless-esbuild runs at deploy), its size raw and as the zipped deployment package, and the
 * module initialisation time of the built bundle in a fresh `node` process with the function's
 * environment (serverless.yml's, including NODE_OPTIONS=--enable-source-maps).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { loadServerlessConfig, type ServerlessConfig } from '#common/serverless-config.ts';
import { startSandbox } from '#sandbox/index.ts';
import { median, mib, type Reporter } from './report.ts';
import { BenchError, ROOT } from './workload.ts';
import { zip } from './zip.ts';

/** Target for the deployment package, judged on the zipped artifact (the .mjs and its .map). */
export const BUNDLE_TARGET_BYTES = 1024 * 1024;
export const INIT_TARGET_MS = 150;

interface EsbuildCustom {
  bundle?: boolean;
  minify?: boolean;
  sourcemap?: boolean;
  sourcesContent?: boolean;
  keepNames?: boolean;
  mainFields?: string[];
  target?: string;
  platform?: 'node' | 'neutral' | 'browser';
  format?: 'esm' | 'cjs';
  outputFileExtension?: string;
  exclude?: string[];
  banner?: { js?: string };
}

/** Maps serverless-esbuild's options (custom.esbuild) to esbuild's. */
export function esbuildOptions(config: ServerlessConfig): BuildOptions {
  const custom = (config.custom.esbuild ?? {}) as EsbuildCustom;
  const ext = custom.outputFileExtension ?? '.js';
  return {
    bundle: custom.bundle ?? true,
    minify: custom.minify ?? false,
    sourcemap: custom.sourcemap ?? false,
    // serverless-esbuild hands these to esbuild as they are: leaving them out measured a different
    // (larger, CommonJS-entry) bundle with the sources inside its map.
    ...(custom.sourcesContent === undefined ? {} : { sourcesContent: custom.sourcesContent }),
    ...(custom.mainFields ? { mainFields: custom.mainFields } : {}),
    keepNames: custom.keepNames ?? false,
    target: custom.target ?? 'node20',
    platform: custom.platform ?? 'node',
    format: custom.format ?? 'cjs',
    outExtension: { '.js': ext },
    external: custom.exclude ?? [],
    ...(custom.banner?.js ? { banner: { js: custom.banner.js } } : {}),
    logLevel: 'silent',
  };
}

export interface BundleFigures {
  name: string;
  bundleBytes: number;
  mapBytes: number;
  /** The zipped deployment package (.mjs and .map when source maps are on). */
  zipBytes: number;
  /** The .mjs alone, zipped. */
  zipCodeBytes: number;
  /** Largest contributors to the bundle, by package (bytes in the output). */
  largest: Array<{ pkg: string; bytes: number }>;
  /** Median ms to import the bundle, as deployed (NODE_OPTIONS of serverless.yml). */
  initMs: number;
  /** Median ms to import it without --enable-source-maps (how much the source maps cost). */
  initNoMapsMs: number;
  /** Median ms from spawning node to its exit (node start + import). */
  processMs: number;
}

/** `node_modules/@scope/name/...` → `@scope/name`; first-party files → `(service code)`. */
function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return '(service code)';
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input);
}

/** The `top` packages by bytes in the output of the (single) bundle. */
export function largestPackages(meta: Metafile, top: number): Array<{ pkg: string; bytes: number }> {
  const bytes = new Map<string, number>();
  for (const output of Object.values(meta.outputs)) {
    for (const [input, info] of Object.entries(output.inputs)) {
      const pkg = packageOf(input);
      bytes.set(pkg, (bytes.get(pkg) ?? 0) + info.bytesInOutput);
    }
  }
  return [...bytes.entries()]
    .map(([pkg, n]) => ({ pkg, bytes: n }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}

/** In the child: time the dynamic import of the bundle, print the ms, exit (handles may stay open). */
const CHILD_SCRIPT = [
  'const t0 = performance.now();',
  'await import(process.env.BENCH_BUNDLE_URL);',
  'process.stdout.write(JSON.stringify({ importMs: performance.now() - t0 }));',
  'process.exit(0);',
].join('\n');

function importOnce(
  bundle: string,
  env: Record<string, string>,
): Promise<{ importMs: number; processMs: number }> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT], {
      env: { PATH: process.env.PATH ?? '', ...env, BENCH_BUNDLE_URL: pathToFileURL(bundle).href },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const processMs = performance.now() - started;
      if (code !== 0) {
        reject(new BenchError(`importing ${basename(bundle)} failed (exit ${code}): ${err.slice(0, 2000)}`));
        return;
      }
      try {
        const { importMs } = JSON.parse(out) as { importMs: number };
        resolvePromise({ importMs, processMs });
      } catch (error) {
        reject(new BenchError(`unexpected output from the import of ${basename(bundle)}`, { cause: error }));
      }
    });
  });
}

/**
 * Builds, sizes and times one function.
 * Input: function name, its handler module, the build options, its environment, the number of runs.
 * Output: sizes and median import times. The bundle is built into `dir`.
 */
export async function measureFunction(
  name: string,
  handlerModule: string,
  options: BuildOptions,
  env: Record<string, string>,
  runs: number,
  dir: string,
): Promise<BundleFigures> {
  const outdir = join(dir, name);
  const result = await build({
    ...options,
    entryPoints: [resolve(ROOT, `${handlerModule}.ts`)],
    outdir,
    metafile: true,
  });
  const ext = (options.outExtension?.['.js'] ?? '.js') as string;
  const bundle = join(outdir, `${basename(handlerModule)}${ext}`);
  const map = `${bundle}.map`;
  const files = options.sourcemap ? [bundle, map] : [bundle];
  const archive = zip(files.map((f) => ({ name: basename(f), data: readFileSync(f) })));
  const codeArchive = zip([{ name: basename(bundle), data: readFileSync(bundle) }]);

  const asDeployed: number[] = [];
  const noMaps: number[] = [];
  const processes: number[] = [];
  const withoutMaps = {
    ...env,
    NODE_OPTIONS: (env.NODE_OPTIONS ?? '').replace('--enable-source-maps', '').trim(),
  };
  for (let i = 0; i < runs; i++) {
    const deployed = await importOnce(bundle, env);
    asDeployed.push(deployed.importMs);
    processes.push(deployed.processMs);
    noMaps.push((await importOnce(bundle, withoutMaps)).importMs);
  }
  return {
    name,
    bundleBytes: statSync(bundle).size,
    mapBytes: options.sourcemap ? statSync(map).size : 0,
    zipBytes: archive.length,
    zipCodeBytes: codeArchive.length,
    largest: largestPackages(result.metafile, 4),
    initMs: median(asDeployed),
    initNoMapsMs: median(noMaps),
    processMs: median(processes),
  };
}

export async function coldStartBench(report: Reporter, options: { quick: boolean }): Promise<void> {
  const runs = options.quick ? 3 : 7;
  const config = loadServerlessConfig({ stage: 'local' });
  const buildOptions = esbuildOptions(config);
  report.line('');
  report.line('== cold start ==');
  report.line(
    `esbuild with serverless.yml custom.esbuild (${JSON.stringify({
      format: buildOptions.format,
      target: buildOptions.target,
      sourcemap: buildOptions.sourcemap,
      keepNames: buildOptions.keepNames,
      minify: buildOptions.minify,
      outExtension: buildOptions.outExtension,
    })}, createRequire banner); zip = the deployment package (.mjs + .map, deflate 9); ` +
      `init = median of ${runs} fresh node processes timing \`await import(bundle)\` with the function's environment ` +
      '(as deployed: NODE_OPTIONS=--enable-source-maps; "no maps": without it). Size target judged on the zip.',
  );
  // The environment values (table names, queue URLs) come from a sandbox deployment of serverless.yml;
  // nothing is called at import time, the endpoint only has to be well formed.
  const sandbox = await startSandbox({ port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-cold-'));
  const results: BundleFigures[] = [];
  try {
    for (const [name, fn] of Object.entries(config.functions)) {
      const env = sandbox.functionEnvironment(name);
      results.push(await measureFunction(name, fn.handlerModule, buildOptions, env, runs, dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await sandbox.stop();
  }
  report.table(
    'bundles and module initialisation',
    [
      'function',
      '.mjs MiB',
      '.map MiB',
      'zip .mjs MiB',
      'zip package MiB',
      'init ms',
      'init ms (no maps)',
      'node+init ms',
    ],
    results.map((r) => [
      r.name,
      mib(r.bundleBytes),
      mib(r.mapBytes),
      mib(r.zipCodeBytes),
      mib(r.zipBytes),
      r.initMs,
      r.initNoMapsMs,
      r.processMs,
    ]),
  );
  report.table(
    'largest contributors to each bundle (KiB in the .mjs)',
    ['function', ...['1st', '2nd', '3rd', '4th']],
    results.map((r) => [r.name, ...r.largest.map((l) => `${l.pkg} ${Math.round(l.bytes / 1024)}`)]),
  );
  for (const r of results) {
    report.json('cold', {
      function: r.name,
      bundleBytes: r.bundleBytes,
      mapBytes: r.mapBytes,
      zipBytes: r.zipBytes,
      zipCodeBytes: r.zipCodeBytes,
      largest: r.largest,
      initMs: r.initMs,
      initNoSourceMapsMs: r.initNoMapsMs,
      processMs: r.processMs,
      runs,
    });
    report.check({
      bench: 'cold',
      figure: `${r.name} package (zipped)`,
      value: mib(r.zipBytes),
      unit: 'MiB',
      target: { op: '<=', limit: mib(BUNDLE_TARGET_BYTES) },
    });
    report.check({
      bench: 'cold',
      figure: `${r.name} init (median)`,
      value: r.initMs,
      unit: 'ms',
      target: { op: '<=', limit: INIT_TARGET_MS },
    });
  }
}
