/**
 * The comment-path lint (scripts/check-comment-paths.mjs): every repository path a comment names
 * exists, and no comment cites a document outside the repository.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

interface Finding {
  line: number;
  reference: string;
  reason: string;
}

interface Checker {
  checkText(text: string, kind: 'js' | 'yaml', exists: (path: string) => boolean): Finding[];
  checkRepository(root: string): Array<Finding & { file: string }>;
  repoPathExists(root: string, path: string): boolean;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const checker: Checker = await import(pathToFileURL(resolve(ROOT, 'scripts/check-comment-paths.mjs')).href);
const exists = (path: string) => checker.repoPathExists(ROOT, path);
const references = (text: string, kind: 'js' | 'yaml' = 'js') =>
  checker.checkText(text, kind, exists).map((f) => f.reference);

describe('comment-path lint', () => {
  it('finds nothing to fix in the repository', () => {
    const findings = checker
      .checkRepository(ROOT)
      .map((f) => `${f.file}:${f.line}: ${f.reference}: ${f.reason}`);
    expect(findings).toEqual([]);
  });

  it('catches a comment naming a path that does not exist', () => {
    const fixture = [
      '/** Built by lib/foo/bar.ts; see docs/X.md and test/support/y.ts. */',
      '// the alias #lib/nowhere/thing.ts too',
      'export const ok = 1; // lib/guards.ts exists',
    ].join('\n');
    expect(references(fixture)).toEqual([
      'lib/foo/bar.ts',
      'docs/X.md',
      'test/support/y.ts',
      '#lib/nowhere/thing.ts',
    ]);
    expect(checker.checkText(fixture, 'js', exists)[3]?.line).toBe(2);
  });

  it('catches citations of documents outside the repository', () => {
    const fixture = [
      '/*',
      ' * As ARCHITECTURE.md says (seed 004), see CONVENTIONS.md and ../shared/seeds/x.md.',
      ' * Seed 4 again; the seeds README; limits (000, 002).',
      ' */',
    ].join('\n');
    expect(references(fixture)).toEqual(
      expect.arrayContaining([
        'ARCHITECTURE.md',
        'seed 004',
        'CONVENTIONS.md',
        '../shared/',
        'Seed 4',
        'seeds README',
        '(000, 002)',
      ]),
    );
  });

  it('accepts existing paths, docs/ARCHITECTURE.md, patterns and RNG seeds', () => {
    const fixture = [
      '/** docs/ARCHITECTURE.md, lib/guards.ts, #lib/guards.ts, functions/ingest.handler, lib/<feature>/handler.ts */',
      '// test/unit/fuzz-*.test.ts; `npm run chaos -- --seed 42`; seed 20240501',
    ].join('\n');
    expect(references(fixture)).toEqual([]);
  });

  it('reads comments only: strings, templates and regular expressions are code', () => {
    const fixture = [
      "const a = 'lib/foo/bar.ts // not a comment';",
      // A template literal with a placeholder (spelt in two halves so the fixture stays a plain string).
      `const b = \`docs/X.md $${'{a}'} /* nor this: seed 004 */\`;`,
      'const c = /lib\\/nowhere\\/x.ts/;',
      'const d = 4 / 2; // lib/missing.ts',
    ].join('\n');
    expect(references(fixture)).toEqual(['lib/missing.ts']);
  });

  it('reads the # comments of YAML, not its values', () => {
    const fixture = [
      '# See docs/MISSING.md',
      "handler: 'functions/nowhere.handler' # lib/none.ts",
      'description: See docs/DEPLOY.md # fine',
    ].join('\n');
    expect(references(fixture, 'yaml')).toEqual(['docs/MISSING.md', 'lib/none.ts']);
  });
});
