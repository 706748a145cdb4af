/**
 * The layers of the repository, checked by dependency-cruiser in `npm run lint`
 * (`depcruise --config .dependency-cruiser.cjs .`): which top-level folder may import which.
 *
 *   lib/        the domain: imports lib/ and packages only
 *   functions/  the Lambda entry files: import lib/ only
 *   common/     what two of the other rooms share: imports lib/ only
 *   cli/        imports no sandbox/, test/ or bench/ code
 *   sandbox/    imports no cli/ or test/ code
 *   bench/      imports no test/ code
 *   scripts/    import lib/ and common/ only
 *   test/       may import anything; nothing but test/ imports test/
 *
 * and no module takes part in an import cycle. Static and dynamic imports, relative and through the
 * package's `#lib/*`-style subpath imports, and type-only imports all count.
 */

/** Packages and Node's own modules: what every layer may import, whatever its other limits. */
const PACKAGES = '^node_modules/';
const CORE = ['core'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import cycle: modules that need each other belong in one module, or a port breaks the loop.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lib-imports-lib-only',
      severity: 'error',
      comment: 'lib/ is the domain: it imports nothing outside lib/ but packages.',
      from: { path: '^lib/' },
      to: { pathNot: ['^lib/', PACKAGES], dependencyTypesNot: CORE },
    },
    {
      name: 'functions-import-lib-only',
      severity: 'error',
      comment:
        'A Lambda entry file is wiring only: it reads its configuration and calls a handler factory of lib/.',
      from: { path: '^functions/' },
      to: { pathNot: ['^lib/', PACKAGES], dependencyTypesNot: CORE },
    },
    {
      name: 'common-imports-lib-only',
      severity: 'error',
      comment: 'common/ is shared by cli/, sandbox/, bench/ and test/, so it may lean on none of them.',
      from: { path: '^common/' },
      to: { pathNot: ['^common/', '^lib/', PACKAGES], dependencyTypesNot: CORE },
    },
    {
      name: 'cli-no-sandbox-test-bench',
      severity: 'error',
      comment: 'The CLI ships to operators: no emulator, test or benchmark code in it.',
      from: { path: '^cli/' },
      to: { path: '^(sandbox|test|bench)/' },
    },
    {
      name: 'sandbox-no-cli-test',
      severity: 'error',
      comment: 'The sandbox runs the functions, not the CLI, and no test code.',
      from: { path: '^sandbox/' },
      to: { path: '^(cli|test)/' },
    },
    {
      name: 'bench-no-test',
      severity: 'error',
      comment: 'Benchmarks share with the tests through common/, never by importing test code.',
      from: { path: '^bench/' },
      to: { path: '^test/' },
    },
    {
      name: 'scripts-import-lib-common-only',
      severity: 'error',
      comment: 'Build and packaging scripts may use the domain and common/, nothing else of the repository.',
      from: { path: '^scripts/' },
      to: { pathNot: ['^scripts/', '^lib/', '^common/', PACKAGES], dependencyTypesNot: CORE },
    },
    {
      name: 'only-test-imports-test',
      severity: 'error',
      comment: 'Test code (doubles, fixtures, contract suites) is for the tests alone.',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing: a typo, or a package missing from package.json.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'production-no-dev-dependencies',
      severity: 'error',
      comment: 'The Lambda bundles carry lib/ and functions/: a devDependency is not installed there.',
      from: { path: '^(lib|functions)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    // Only the repository's own folders are cruised; packages are leaves.
    includeOnly: '^(lib|functions|common|cli|sandbox|bench|scripts|test|bin|node_modules)/',
    exclude: { path: '^(dist|\\.serverless|\\.esbuild|coverage)/' },
    doNotFollow: { path: PACKAGES },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.cjs', '.js', '.json', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    cache: false,
    progress: { type: 'none' },
  },
};
