/**
 * The Connect resources that exist in the sandbox ("the world"): instances with their contact flows,
 * queues, users, quick connects and, optionally, task templates that exist from the start.
 *
 * The world is read-only to the emulator. Contacts and templates created through the API live in the
 * emulator's state and are cleared by a reset; the world's own templates come back as they were.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConnectEmulatorConfigError } from './errors.ts';

/** `events/sandbox-world.json` in this repository. */
const DEFAULT_WORLD_PATH = fileURLToPath(new URL('../../events/sandbox-world.json', import.meta.url));

const id = z.string().min(1);

const worldSchema = z.object({
  region: z.string().min(1).default('us-east-1'),
  accountId: z.string().min(1).default('000000000000'),
  instances: z
    .array(
      z.object({
        id,
        alias: z.string().optional(),
        /**
         * `queueId`: the queue a task started on this flow enters.
         * @default the instance's first queue
         */
        contactFlows: z
          .array(z.object({ id, name: z.string(), type: z.string().min(1), queueId: id.optional() }))
          .default([]),
        queues: z.array(z.object({ id, name: z.string() })).default([]),
        users: z.array(z.object({ id, username: z.string() })).default([]),
        quickConnects: z
          .array(
            z.object({
              id,
              name: z.string(),
              contactFlowId: id,
              queueId: id.optional(),
              userId: id.optional(),
            }),
          )
          .default([]),
        /**
         * Templates present from the start, in the CreateTaskTemplate request shape plus `Id`
         * (validated like an API call when the emulator is created).
         */
        taskTemplates: z.array(z.looseObject({ Id: id })).default([]),
      }),
    )
    .min(1, 'the world needs at least one instance'),
});

export type World = z.infer<typeof worldSchema>;
export type WorldInstance = World['instances'][number];

/** Validates a parsed world object (e.g. built in a test). */
export function parseWorld(value: unknown, where = 'world'): World {
  const parsed = worldSchema.safeParse(value);
  if (!parsed.success) {
    throw new ConnectEmulatorConfigError(
      `${where} is not a valid sandbox world: ${z.prettifyError(parsed.error)}`,
      {
        cause: parsed.error,
      },
    );
  }
  const ids = new Set<string>();
  for (const instance of parsed.data.instances) {
    if (ids.has(instance.id))
      throw new ConnectEmulatorConfigError(`${where}: instance ${instance.id} is listed twice`);
    ids.add(instance.id);
    const flows = new Set(instance.contactFlows.map((f) => f.id));
    const queues = new Set(instance.queues.map((q) => q.id));
    for (const named of [...instance.contactFlows, ...instance.quickConnects]) {
      if (named.queueId !== undefined && !queues.has(named.queueId)) {
        throw new ConnectEmulatorConfigError(
          `${where}: ${named.id} names queue ${named.queueId}, which instance ${instance.id} does not have`,
        );
      }
    }
    for (const qc of instance.quickConnects) {
      if (!flows.has(qc.contactFlowId)) {
        throw new ConnectEmulatorConfigError(
          `${where}: quick connect ${qc.id} names contact flow ${qc.contactFlowId}, which instance ${instance.id} does not have`,
        );
      }
    }
  }
  return parsed.data;
}

/**
 * Reads and validates a world file.
 *
 * Input: a path (default `events/sandbox-world.json`). Output: the validated world.
 * Fails with ConnectEmulatorConfigError when the file is missing, not JSON, or not world-shaped.
 */
export function loadWorld(path: string = DEFAULT_WORLD_PATH): World {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConnectEmulatorConfigError(`cannot read the sandbox world file ${path}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new ConnectEmulatorConfigError(`the sandbox world file ${path} is not valid JSON`, {
      cause: error,
    });
  }
  return parseWorld(json, path);
}
