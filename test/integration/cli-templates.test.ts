/**
 * `task-ingest templates …` and `rules validate --fetch-template` against the sandbox's Connect
 * emulator, through the real ConnectClient over loopback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectClient, GetTaskTemplateCommand, ListTaskTemplatesCommand } from '@aws-sdk/client-connect';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '#cli/io.ts';
import { run } from '#cli/main.ts';
import { type ConnectEmulator, createConnectEmulator, loadWorld } from '#sandbox/connect/emulator.ts';
import type { EmulatorHandler } from '#sandbox/http-types.ts';
import { serveHandler } from '#sandbox/serve.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000001';

let emulator: ConnectEmulator;
let endpoint: string;
let closeServer: () => Promise<void>;
let dir: string;
/** Every Connect operation the CLI sent, by command name. */
const calls: string[] = [];

function connectClient(): ConnectClient {
  const client = new ConnectClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  client.middlewareStack.add(
    (next, context) => (args) => {
      calls.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize' },
  );
  return client;
}

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), readStdin: async () => '' };
  const code = await run(['--endpoint', endpoint, ...argv], {
    io,
    env: { CONNECT_INSTANCE_ID: INSTANCE },
    clients: { connect: connectClient },
  });
  return { code, out: out.join(''), err: err.join('') };
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

const template = {
  name: 'Callback request',
  description: 'Call the customer back',
  contactFlowId: FLOW,
  fields: [
    { name: 'Name', type: 'NAME' },
    { name: 'Phone', type: 'TEXT' },
    { name: 'Amount', type: 'NUMBER' },
  ],
  constraints: { required: ['Name', 'Phone'] },
  defaults: { Amount: '0' },
};

async function remote(name: string) {
  const client = connectClient();
  try {
    const list = await client.send(new ListTaskTemplatesCommand({ InstanceId: INSTANCE }));
    const id = list.TaskTemplates?.find((t) => t.Name === name)?.Id;
    if (id === undefined) return undefined;
    const { $metadata: _metadata, ...template } = await client.send(
      new GetTaskTemplateCommand({ InstanceId: INSTANCE, TaskTemplateId: id }),
    );
    return template;
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  emulator = createConnectEmulator({ world: loadWorld() });
  const route: EmulatorHandler = (req) =>
    req.path.startsWith('/_sandbox/') ? emulator.admin(req) : emulator.handle(req);
  const server = await serveHandler(route);
  endpoint = server.endpoint;
  closeServer = server.close;
  dir = mkdtempSync(join(tmpdir(), 'templates-'));
});
afterAll(async () => {
  await closeServer();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.reset();
  calls.length = 0;
});

describe('templates apply', () => {
  it('creates, then a second apply changes nothing and makes no UpdateTaskTemplate call', async () => {
    const path = file('callback.json', template);
    const first = await cli(['templates', 'apply', path]);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/^Callback request: created \(/);
    expect(calls).toContain('CreateTaskTemplateCommand');

    calls.length = 0;
    const second = await cli(['templates', 'apply', path]);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toMatch(/^Callback request: unchanged/);
    expect(calls).not.toContain('UpdateTaskTemplateCommand');
    expect(calls).not.toContain('CreateTaskTemplateCommand');
  });

  it('--dry-run prints the diff and changes nothing', async () => {
    const path = file('callback.json', template);
    expect((await cli(['templates', 'apply', path])).code).toBe(0);
    const before = await remote('Callback request');

    const changed = file('callback-2.json', { ...template, description: 'Call back today' });
    calls.length = 0;
    const dry = await cli(['templates', 'apply', '--dry-run', changed]);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain('Callback request: would update');
    expect(dry.out).toContain('~ description: "Call the customer back" → "Call back today"');
    expect(calls.filter((c) => /^(Create|Update|Delete)/.test(c))).toEqual([]);
    expect(await remote('Callback request')).toEqual(before);

    const diff = await cli(['templates', 'diff', changed]);
    expect(diff.out).toContain('~ description');
  });

  it('full replace: a field removed from the file disappears, with its constraint and default', async () => {
    const path = file('callback.json', template);
    expect((await cli(['templates', 'apply', path])).code).toBe(0);
    const smaller = file('callback-3.json', {
      ...template,
      fields: template.fields.filter((f) => f.name !== 'Amount'),
      defaults: {},
    });
    const applied = await cli(['templates', 'apply', smaller]);
    expect(applied.code, applied.err).toBe(0);
    expect(applied.out).toContain('- field "Amount" (NUMBER)');
    expect(calls).toContain('UpdateTaskTemplateCommand');
    const after = await remote('Callback request');
    expect(after?.Fields?.map((f) => f.Id?.Name)).toEqual(['Name', 'Phone']);
    expect(after?.Defaults?.DefaultFieldValues).toEqual([]);
    expect((await cli(['templates', 'apply', smaller])).out).toContain('unchanged');
  });

  it('validates every file before any call', async () => {
    const bad = file('bad.json', { ...template, name: '', fields: [{ name: 'X', type: 'NOPE' }] });
    const good = file('good.json', template);
    const result = await cli(['templates', 'apply', good, bad]);
    expect(result.code).toBe(1);
    expect(result.err).toContain('nothing was changed');
    expect(result.err).toContain('bad.json: name: 0 characters; must be 1 to 100');
    expect(calls).toEqual([]);
  });

  it('the sample files match the sandbox world: applying them changes nothing', async () => {
    const result = await cli([
      'templates',
      'apply',
      'events/templates/delayed-order.json',
      'events/templates/retired-returns.json',
    ]);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toContain('Delayed order: unchanged (d0d0d0d0-0000-4000-8000-000000000001)');
    expect(result.out).toContain('Retired returns template: unchanged');
  });
});

describe('templates list, show, delete', () => {
  it('lists, shows in the file format, and deletes only with --yes', async () => {
    const list = await cli(['templates', 'list']);
    expect(list.out).toContain('Delayed order');
    const shown = await cli(['templates', 'show', 'Delayed order']);
    expect(shown.code, shown.err).toBe(0);
    expect(JSON.parse(shown.out)).toMatchObject({
      name: 'Delayed order',
      constraints: { required: ['Customer email', 'Name'] },
    });

    const refused = await cli(['templates', 'delete', 'Delayed order']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('add --yes');
    expect(await remote('Delayed order')).toBeDefined();
    const deleted = await cli(['templates', 'delete', 'Delayed order', '--yes']);
    expect(deleted.code, deleted.err).toBe(0);
    expect(await remote('Delayed order')).toBeUndefined();
    expect((await cli(['templates', 'show', 'Delayed order'])).code).toBe(1);
  });
});

describe('rules validate against the targeted template', () => {
  const rule = {
    source: 'com.example.orders',
    ruleId: 'order-delayed',
    instanceId: INSTANCE,
    target: { taskTemplateId: 'd0d0d0d0-0000-4000-8000-000000000001' },
    mapping: { name: "'Delayed order ' & data.orderId" },
  };

  it('flags a rule that leaves a required field unmapped', async () => {
    const result = await cli(['rules', 'validate', '--fetch-template', file('rule.json', rule)]);
    expect(result.code).toBe(1);
    expect(result.err).toContain('rule does not fit its task template');
    expect(result.err).toContain('required field "Customer email" of template "Delayed order" is not mapped');
  });

  it('passes the sample rule, and checks against a template file without any call', async () => {
    const ok = await cli(['rules', 'validate', '--fetch-template', 'events/rules/orders.json']);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toContain('fits its task template');
    calls.length = 0;
    const offline = await cli([
      'rules',
      'validate',
      '--template-file',
      'events/templates/delayed-order.json',
      file('rule.json', rule),
    ]);
    expect(offline.code).toBe(1);
    expect(offline.err).toContain('"Customer email"');
    expect(calls).toEqual([]);
  });
});
