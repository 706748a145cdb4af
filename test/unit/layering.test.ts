/**
 * Which top-level folder may import which: the benchmarks import no test code, and what bench/ and
 * test/ share lives in common/, which imports lib/ only (and packages). Read from the import
 * specifiers of the files themselves, static and dynamic.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(folder, name));
}

/** The repository folder each project import of `file` reaches (`lib`, `test`...); packages are left out. */
function foldersImportedBy(file: string): Array<{ specifier: string; folder: string }> {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'([^']+)'/gm)].map(
    (m) => m[1] as string,
  );
  return specifiers.flatMap((specifier) => {
    if (specifier.startsWith('#')) return [{ specifier, folder: specifier.slice(1).split('/')[0] as string }];
    if (!specifier.startsWith('.')) return [];
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
    return [{ specifier, folder: target.split(/[\\/]/)[0] as string }];
  });
}

/** `file: specifier` for every import of the files under `folder` that reaches a folder not allowed. */
function offending(folder: string, allowed: readonly string[]): string[] {
  return sourceFiles(folder).flatMap((file) =>
    foldersImportedBy(file)
      .filter(({ folder: target }) => !allowed.includes(target))
      .map(({ specifier }) => `${file}: ${specifier}`),
  );
}

describe('layering', () => {
  it('reads both static and dynamic imports, relative and aliased', () => {
    // The check itself must see what it forbids: bench/chaos.ts loads its runner dynamically.
    expect(foldersImportedBy('bench/chaos.ts').map((i) => i.folder)).toEqual(
      expect.arrayContaining(['bench', 'common']),
    );
    expect(foldersImportedBy('common/chaos/report.ts').map((i) => i.folder)).toEqual(
      expect.arrayContaining(['lib', 'common']),
    );
  });

  it('keeps the benchmarks free of test code', () => {
    expect(offending('bench', ['bench', 'common', 'lib', 'sandbox', 'functions', 'cli'])).toEqual([]);
  });

  it('lets common/ import lib/ only', () => {
    expect(offending('common', ['common', 'lib'])).toEqual([]);
  });
});
