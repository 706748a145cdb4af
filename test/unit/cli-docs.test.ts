/**
 * What the docs tell ops about the CLI's inputs agrees with the code: the template field types the
 * validator accepts and the task schedules of serverless.yml (docs/RULES.md), and the commands of
 * the CLI reference (docs/CLI.md).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '#cli/main.ts';
import { readServerlessValue } from '#common/serverless-config.ts';
import { TEMPLATE_FIELD_TYPES } from '#lib/connect/constraints.ts';
import { isObject } from '#lib/guards.ts';

const docs = resolve(import.meta.dirname, '../../docs');
const rulesPage = readFileSync(resolve(docs, 'RULES.md'), 'utf8');
const cliPage = readFileSync(resolve(docs, 'CLI.md'), 'utf8');

/** The body of the first code block after `marker` (`lang` fence) in `page`. */
function codeBlockAfter(page: string, marker: string, lang: string): string {
  const at = page.indexOf(marker);
  const start = page.indexOf(`\`\`\`${lang}\n`, at);
  const end = page.indexOf('\n```', start + 1);
  if (at === -1 || start === -1 || end === -1) throw new Error(`no ${lang} block after "${marker}"`);
  return page.slice(start + lang.length + 4, end);
}

describe('docs/RULES.md and docs/CLI.md', () => {
  it('lists every template field type the validator accepts, and no other', () => {
    // Act
    const listed = /field types\s*\(`([A-Z_ ]+)`\)/.exec(rulesPage)?.[1]?.split(/\s+/) ?? [];

    // Assess
    expect([...listed].sort()).toEqual([...TEMPLATE_FIELD_TYPES].sort());
  });

  it("shows the task schedules as serverless.yml declares them (each field it shows, serverless.yml's value)", () => {
    // Prepare
    const shown = (
      parse(codeBlockAfter(rulesPage, '## Scheduled tasks', 'yaml')) as {
        custom: { taskSchedules: unknown[] };
      }
    ).custom.taskSchedules;
    const declared = readServerlessValue('self:custom.taskSchedules', { stage: 'dev' }) as Array<
      Record<string, unknown>
    >;

    // Assess: every shown schedule exists, with the same value for each field shown (state aside: a param).
    for (const schedule of shown) {
      if (!isObject(schedule)) throw new Error('a schedule in docs/RULES.md is not a mapping');
      const twin = declared.find((d) => d.name === schedule.name);
      expect(twin, String(schedule.name)).toBeDefined();
      for (const [field, value] of Object.entries(schedule)) {
        if (field === 'event') {
          expect(twin?.event, `${schedule.name}.event`).toMatchObject(value as object);
        } else {
          expect(twin?.[field], `${schedule.name}.${field}`).toEqual(value);
        }
      }
      for (const field of ['startDate', 'endDate', 'flexibleWindowMinutes', 'expression', 'timezone']) {
        expect(field in schedule, `${schedule.name}.${field} shown as declared`).toBe(field in (twin ?? {}));
      }
    }
  });

  it('has a line in the CLI reference for every command', async () => {
    // Prepare
    const { program } = await buildProgram({
      io: { stdout: () => {}, stderr: () => {}, readStdin: async () => '' },
    });
    const reference = cliPage.slice(cliPage.indexOf('## Commands'), cliPage.indexOf('### Fix, then replay'));
    const commands = program.commands.flatMap((group) =>
      group.commands.length === 0 ? [group.name()] : group.commands.map((c) => `${group.name()} ${c.name()}`),
    );

    // Assess
    expect(commands.filter((command) => !reference.includes(`| \`${command}`))).toEqual([]);
  });
});
