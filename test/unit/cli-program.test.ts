/**
 * The shape of the CLI as a whole: every group registers what the registry says, help texts say a
 * default once, cli/ imports no sandbox, test or bench code, and no function in cli/ is longer
 * than 80 lines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { COMMAND_GROUPS, groupsFor } from '#cli/groups.ts';
import { buildProgram } from '#cli/main.ts';

const root = resolve(import.meta.dirname, '../..');
const silentIo = { stdout: () => {}, stderr: () => {}, readStdin: async () => '' };

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const cliFiles = sources(join(root, 'cli'));

describe('the task-ingest program', () => {
  it('registers each group of the registry under its name and summary, with commands or an action', async () => {
    // Act
    const { program } = await buildProgram({ io: silentIo, env: {} });

    // Assess
    for (const group of COMMAND_GROUPS) {
      const command = program.commands.find((c) => c.name() === group.name);
      expect(command?.description(), group.name).toBe(group.summary);
      const acts = command !== undefined && (command.commands.length > 0 || command.options.length > 0);
      expect(acts, `${group.name} registers nothing`).toBe(true);
    }
  });

  it('loads only the group a command line names', () => {
    expect(groupsFor(['--endpoint', 'http://127.0.0.1:4566', 'dlq', 'list']).map((g) => g.name)).toEqual([
      'dlq',
    ]);
    expect(groupsFor(['--stage=rules', 'status']).map((g) => g.name)).toEqual(['status']);
    expect(groupsFor(['help', 'rules']).map((g) => g.name)).toEqual(['rules']);
    expect(groupsFor(['--help'])).toEqual([]);
  });

  it('says each default once in the help texts (commander prints it)', async () => {
    // Prepare
    const { program } = await buildProgram({ io: silentIo, env: {} });
    const all = [program];
    for (let i = 0; i < all.length; i++) all.push(...(all[i]?.commands ?? []));

    // Act
    const repeated = all.flatMap((command) =>
      command.options
        .filter((option) => option.defaultValue !== undefined && /\(default\b/.test(option.description))
        .map((option) => `${command.name()} ${option.flags}: ${option.description}`),
    );
    const helpTexts = all.map((command) => command.helpInformation());

    // Assess
    expect(repeated).toEqual([]);
    for (const text of helpTexts) expect(text).not.toMatch(/\(default[^)]*\)\s+\(default/);
  });
});

describe('the cli/ sources', () => {
  it('import no sandbox, test or bench module (what they share lives in common/)', () => {
    const offending = cliFiles.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      const imports = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] as string);
      return imports
        .filter(
          (spec) =>
            /^#(sandbox|test|bench)\//.test(spec) || /(^|\/)\.\.\/(\.\.\/)*(sandbox|test|bench)\//.test(spec),
        )
        .map((spec) => `${relative(root, file)}: ${spec}`);
    });
    expect(offending).toEqual([]);
  });

  it('have no function longer than 80 lines', () => {
    const long: string[] = [];
    for (const file of cliFiles) {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
      const visit = (node: ts.Node) => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
          const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
          const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
          if (end - start + 1 > 80)
            long.push(`${relative(root, file)}:${start + 1} (${end - start + 1} lines)`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(long).toEqual([]);
  });
});
