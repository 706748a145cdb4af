/**
 * The CLI's JavaScript build (scripts/build-cli.mjs), read from esbuild's metafile without writing
 * files: what `task-ingest --help` loads is the entry and its static imports only, and neither an
 * AWS SDK client, the YAML parser nor any command group is among them.
 */
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

const script = new URL('../../scripts/build-cli.mjs', import.meta.url).href;
const { bundleOptions } = (await import(script)) as { bundleOptions(): Parameters<typeof build>[0] };

/** The project and package files in an output and everything it imports statically. */
function staticInputs(metafile: Metafile, output: string): string[] {
  const seen = new Set<string>([output]);
  const queue = [output];
  while (queue.length > 0) {
    const current = metafile.outputs[queue.shift() as string];
    for (const imported of current?.imports ?? []) {
      if (imported.kind !== 'import-statement' || imported.external || seen.has(imported.path)) continue;
      seen.add(imported.path);
      queue.push(imported.path);
    }
  }
  return [...seen].flatMap((path) => Object.keys(metafile.outputs[path]?.inputs ?? {}));
}

describe('the CLI build', () => {
  it('starts without the AWS SDK, the YAML parser or any command group; each group is its own chunk', async () => {
    // Act
    const result = await build({ ...bundleOptions(), write: false });
    const metafile = result.metafile as Metafile;
    const entry = Object.keys(metafile.outputs).find((path) => path.endsWith('dist/cli/main.mjs')) as string;
    const atStart = staticInputs(metafile, entry);
    const dynamic = metafile.outputs[entry]?.imports.filter((i) => i.kind === 'dynamic-import') ?? [];

    // Assess
    expect(atStart.filter((path) => /node_modules\/(@aws-sdk|@smithy|yaml)\//.test(path))).toEqual([]);
    expect(atStart.filter((path) => path.startsWith('cli/commands/'))).toEqual([]);
    expect(atStart).toContain('cli/main.ts');
    expect(dynamic.length).toBeGreaterThanOrEqual(8);
  });
});
