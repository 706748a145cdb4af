/**
 * Where a command reads and writes: the terminal (`CliIo`, captured by tests), input files and
 * standard input, rule/template/message documents (JSON, or YAML for `.yaml`/`.yml`), JSON output.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod/mini';
import { CliUserError, describeError } from '#cli/errors.ts';
import { describeIssues } from '#lib/retry/failure-record.ts';

/** Where a command writes and reads. Tests capture it; the entry point binds it to the process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin(): Promise<string>;
  /** Asks a yes/no question on a terminal; absent or false where nobody can answer. */
  confirm?(question: string): Promise<boolean>;
  /** True when stderr is a terminal (progress bars redraw in place). */
  readonly interactive?: boolean;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin)
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks).toString('utf8');
  },
  confirm: async (question) => {
    if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
    const { createInterface } = await import('node:readline/promises');
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await prompt.question(question)).trim());
    } finally {
      prompt.close();
    }
  },
  get interactive() {
    return process.stderr.isTTY === true;
  },
};

/** Reads a file, or standard input for `-`. */
async function readInput(io: CliIo, path: string): Promise<string> {
  if (path === '-') return io.readStdin();
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : describeError(error);
    throw new CliUserError(`cannot read ${path}: ${reason}`, [], { cause: error });
  }
}

/**
 * Parses a rule/template/message document: `.yaml`/`.yml` files as YAML, everything else as JSON
 * (standard input: JSON, or YAML when it is not JSON).
 */
async function parseDocument(text: string, path: string): Promise<unknown> {
  const yamlFile = /\.ya?ml$/i.test(path);
  if (!yamlFile) {
    try {
      return JSON.parse(text);
    } catch (error) {
      if (path !== '-') {
        throw new CliUserError(`${path} is not valid JSON: ${describeError(error)}`, [], { cause: error });
      }
    }
  }
  const { parse } = await import('yaml');
  try {
    return parse(text);
  } catch (error) {
    const what = path === '-' ? 'standard input' : path;
    throw new CliUserError(
      `${what} is not valid ${yamlFile ? 'YAML' : 'JSON or YAML'}: ${describeError(error)}`,
      [],
      {
        cause: error,
      },
    );
  }
}

/** Reads and parses a document file (or `-`). */
export async function readDocument(io: CliIo, path: string): Promise<unknown> {
  return parseDocument(await readInput(io, path), path);
}

/** Pretty JSON; `Date` values become epoch seconds, as the Connect API sends them on the wire. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, serialised: unknown) {
      const raw = this[key];
      return raw instanceof Date ? Math.floor(raw.getTime() / 1000) : serialised;
    },
    2,
  );
}

/** A message to send or test: its body (byte-for-byte) and its String message attributes. */
export interface MessageInput {
  body: string;
  attributes: Record<string, string>;
}

/** A sample message of `events/messages/`: a body (any JSON value) and String message attributes. */
const sampleMessageSchema = z.object({
  body: z.json(),
  messageAttributes: z.optional(z.record(z.string(), z.object({ StringValue: z.string() }))),
});

/**
 * Reads a message file. Plain: the file is the body. `sample`: the file is a sample message of
 * `events/messages/` (`{ body, messageAttributes }` in the SendMessage shape; an object body is
 * sent as its JSON text).
 */
export async function readMessage(io: CliIo, path: string, sample: boolean): Promise<MessageInput> {
  const text = await readInput(io, path);
  if (!sample) return { body: text, attributes: {} };
  const what = path === '-' ? 'standard input' : path;
  const parsed = sampleMessageSchema.safeParse(await parseDocument(text, path));
  if (!parsed.success) {
    throw new CliUserError(
      `${what} is not a sample message {"body": ..., "messageAttributes": {"<name>": {"StringValue": ...}}}: ${describeIssues(parsed.error)}`,
    );
  }
  const { body, messageAttributes = {} } = parsed.data;
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(messageAttributes)) attributes[name] = value.StringValue;
  return { body: typeof body === 'string' ? body : JSON.stringify(body), attributes };
}
