/**
 * Runs the `task-ingest` CLI in process and captures what it prints, as the CLI tests do.
 *
 *   const { code, out, err } = await runCli(['--endpoint', sandbox.endpoint, 'status', '--json'], { env: {} });
 */
import type { CliIo } from '#cli/io.ts';
import { type CliDeps, run } from '#cli/main.ts';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/**
 * Input: the arguments, the CLI's dependencies but its io, and optionally the answer to every
 * confirmation question (absent: nobody answers, as in CI). Output: the exit code and both outputs.
 */
export async function runCli(
  argv: readonly string[],
  deps: Omit<CliDeps, 'io'> = {},
  answer?: boolean,
): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    readStdin: async () => '',
    ...(answer === undefined
      ? {}
      : {
          confirm: async (question: string) => {
            err.push(question);
            return answer;
          },
        }),
  };
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
