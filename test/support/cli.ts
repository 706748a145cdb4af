/**
 * Runs the `task-ingest` CLI in process and captures what it prints, as the CLI tests do.
 *
 *   const { code, out, err } = await runCli(['--endpoint', sandbox.endpoint, 'status', '--json'], { env: {} });
 */
import type { CliIo } from '#cli/context.ts';
import { type CliDeps, run } from '#cli/main.ts';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Input: the arguments and the CLI's dependencies but its io. Output: the exit code and both outputs. */
export async function runCli(argv: readonly string[], deps: Omit<CliDeps, 'io'> = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), readStdin: async () => '' };
  const code = await run(argv, { ...deps, io });
  return { code, out: out.join(''), err: err.join('') };
}

/**
 * The CLI as an operator runs it against a sandbox: only `--endpoint` (stage local), no credentials in
 * the environment unless `env` gives some. `endpoint` is read at each call (the sandbox starts later).
 */
export function sandboxCli(endpoint: () => string) {
  return (argv: readonly string[], env: Record<string, string> = {}): Promise<CliResult> =>
    runCli(['--endpoint', endpoint(), ...argv], { env });
}
