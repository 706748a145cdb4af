/**
 * The Connect emulator held to the Amazon Connect API model it reads (`sandbox/connect/api-model.json`):
 * for every constrained input member of every emulated operation (taken from the data file, not
 * listed here), one value just inside its limit and one just outside, sent with the real ConnectClient
 * over loopback. Inside: the call is not refused for that member. Outside: the operation's validation
 * error (a type its model lists), naming the member; or, for a URI label, the SDK's own refusal.
 */
import * as Connect from '@aws-sdk/client-connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_MODEL,
  CONNECT_OPERATIONS,
  type ConnectEmulator,
  type ConnectOperation,
  createConnectEmulator,
  loadWorld,
} from '#sandbox/connect/emulator.ts';
import { CONNECT_ERROR_STATUS } from '#sandbox/connect/errors.ts';
import type { ModelNode } from '#sandbox/connect/model.ts';
import type { EmulatorHandler } from '#sandbox/http-types.ts';
import { serveHandler } from '#sandbox/serve.ts';
import { loopbackClientConfig } from '#test/support/loopback.ts';

const world = loadWorld();
/** The world's first instance, and the inbound flow it has. */
const INSTANCE_ID = world.instances[0]?.id ?? 'no-instance';
const FLOW_ID = 'f1a2b3c4-0000-4000-8000-000000000001';

type Input = Record<string, unknown>;

interface Case {
  operation: ConnectOperation;
  /** What the case changes, e.g. "Name: 1025 characters (max 1024)". */
  title: string;
  side: 'inside' | 'outside';
  /** The start of the emulator's message about this member (its path in the request). */
  label: string;
  /** Whether the member is a URI label (the SDK itself refuses an empty or missing one). */
  uri: boolean;
  input: (base: Input) => Input;
}

/** A value the member's shape accepts: the smallest that meets its bounds. */
function sample(node: ModelNode): unknown {
  switch (node.type) {
    case 'string':
      return node.enum ? node.enum[0] : 'a'.repeat(Math.max(node.min ?? 0, 1));
    case 'integer':
    case 'long':
      return node.min ?? 1;
    case 'boolean':
      return true;
    case 'timestamp':
      return new Date(Date.now() + 3_600_000);
    case 'list':
      return node.member
        ? Array.from({ length: Math.max(node.min ?? 0, 1) }, () => sample(node.member as ModelNode))
        : [];
    case 'map':
      return node.value && !node.value.ref ? { k: sample(node.value) } : {};
    default:
      return Object.fromEntries(
        (node.required ?? []).map((name) => [name, sample(node.members?.[name] as ModelNode)]),
      );
  }
}

/** A string of `length` that passes the member's pattern, or one that breaks it. */
function text(node: ModelNode, length: number, breakPattern = false): string | undefined {
  const fill = 'a'.repeat(Math.max(length - 1, 0));
  const candidates = breakPattern ? ['!', '\u0001', ' '] : ['a'];
  for (const first of candidates) {
    const value = length === 0 ? '' : `${first}${fill}`;
    const matches = !node.patternJs || new RegExp(node.patternJs, 'u').test(value);
    if (matches !== breakPattern) return value;
  }
  return undefined;
}

type Variant = Pick<Case, 'title' | 'side'> & { value: unknown };

/** The inside/outside values of one node's own constraints. */
function variants(node: ModelNode): Variant[] {
  const out: Variant[] = [];
  const push = (side: Case['side'], title: string, value: unknown) => {
    if (value !== undefined) out.push({ side, title, value });
  };
  const { min, max } = node;
  if (node.type === 'string' && !node.enum) {
    if (max !== undefined) push('inside', `${max} characters`, text(node, max));
    if (max !== undefined) push('outside', `${max + 1} characters (max ${max})`, text(node, max + 1));
    if (min !== undefined && min > 0) push('inside', `${min} characters`, text(node, min));
    if (min !== undefined && min > 0)
      push('outside', `${min - 1} characters (min ${min})`, text(node, min - 1));
    if (node.patternJs) push('inside', 'matching its pattern', text(node, Math.max(min ?? 1, 1)));
    if (node.patternJs) push('outside', 'breaking its pattern', text(node, Math.max(min ?? 1, 1), true));
  }
  if (node.enum) {
    push('inside', `enum value ${node.enum.at(-1)}`, node.enum.at(-1));
    push('outside', 'a value not in its enum', 'NOT_IN_THE_ENUM');
  }
  if (node.type === 'integer' || node.type === 'long') {
    if (min !== undefined) push('inside', `${min}`, min);
    if (min !== undefined) push('outside', `${min - 1} (min ${min})`, min - 1);
    if (max !== undefined) push('inside', `${max}`, max);
    if (max !== undefined) push('outside', `${max + 1} (max ${max})`, max + 1);
  }
  if ((node.type === 'list' || node.type === 'map') && (min !== undefined || max !== undefined)) {
    const item = node.type === 'list' ? node.member : node.value;
    const many = (n: number) => {
      const items = Array.from({ length: n }, () => (item ? sample(item) : undefined));
      return node.type === 'list' ? items : Object.fromEntries(items.map((v, i) => [`k${i}`, v]));
    };
    if (max !== undefined) push('inside', `${max} items`, many(max));
    if (max !== undefined) push('outside', `${max + 1} items (max ${max})`, many(max + 1));
    if (min !== undefined && min > 0) push('inside', `${min} items`, many(min));
    if (min !== undefined && min > 0) push('outside', `${min - 1} items (min ${min})`, many(min - 1));
  }
  return out;
}

/**
 * Every case of a member and of what it contains, each as a function that places its value in the
 * request. `place` puts a value where this node sits; `label` is the node's path in messages.
 */
function memberCases(
  operation: ConnectOperation,
  node: ModelNode,
  label: string,
  uri: boolean,
  place: (base: Input, value: unknown) => Input,
): Case[] {
  if (node.ref) return [];
  const cases: Case[] = variants(node).map((v) => ({
    operation,
    title: `${label}: ${v.title}`,
    side: v.side,
    label,
    uri,
    input: (base) => place(base, v.value),
  }));
  if (node.type === 'list' && node.member) {
    cases.push(
      ...memberCases(operation, node.member, `${label}[0]`, false, (base, value) => place(base, [value])),
    );
  }
  if (node.type === 'map' && node.key) {
    const value = node.value && !node.value.ref ? sample(node.value) : {};
    for (const v of variants(node.key)) {
      const key = String(v.value);
      cases.push({
        operation,
        title: `${label} key: ${v.title}`,
        side: v.side,
        label: `${label} key `,
        uri: false,
        input: (base) => place(base, { [key]: value }),
      });
    }
  }
  if (node.type === 'map' && node.value) {
    cases.push(
      ...memberCases(operation, node.value, `${label}["k"]`, false, (base, value) =>
        place(base, { k: value }),
      ),
    );
  }
  if (node.type === 'structure') cases.push(...structureCases(operation, node, label, place));
  return cases;
}

function structureCases(
  operation: ConnectOperation,
  node: ModelNode,
  label: string,
  place: (base: Input, value: unknown) => Input,
): Case[] {
  const cases: Case[] = [];
  const at = (name: string) => (label ? `${label}.${name}` : name);
  const own = (base: Input) => (label ? (sample(node) as Input) : base);
  for (const [name, member] of Object.entries(node.members ?? {})) {
    const uri = member.location === 'uri';
    cases.push(
      ...memberCases(operation, member, at(name), uri, (base, value) =>
        place(base, { ...own(base), [name]: value }),
      ),
    );
  }
  for (const name of node.required ?? []) {
    cases.push({
      operation,
      title: `${at(name)}: missing (required)`,
      side: 'outside',
      label: at(name),
      uri: node.members?.[name]?.location === 'uri',
      input: (base) => {
        const { [name]: _dropped, ...rest } = own(base);
        return place(base, rest);
      },
    });
  }
  return cases;
}

let emulator: ConnectEmulator;
let client: Connect.ConnectClient;
let closeServer: () => Promise<void>;
const bases = {} as Record<ConnectOperation, Input>;

beforeAll(async () => {
  emulator = createConnectEmulator({ world, config: { activeTaskQuota: 1_000_000 } });
  const route: EmulatorHandler = (req) => emulator.handle(req);
  const server = await serveHandler(route);
  closeServer = server.close;
  client = new Connect.ConnectClient(loopbackClientConfig(server.endpoint));
  const task = await client.send(
    new Connect.StartTaskContactCommand({ InstanceId: INSTANCE_ID, Name: 'n', ContactFlowId: FLOW_ID }),
  );
  const template = await client.send(
    new Connect.CreateTaskTemplateCommand({ InstanceId: INSTANCE_ID, Name: 't', Fields: [] }),
  );
  const contact = { InstanceId: INSTANCE_ID, ContactId: task.ContactId };
  const taskTemplate = { InstanceId: INSTANCE_ID, TaskTemplateId: template.Id };
  Object.assign(bases, {
    StartTaskContact: { InstanceId: INSTANCE_ID, Name: 'n', ContactFlowId: FLOW_ID },
    TransferContact: { ...contact, ContactFlowId: FLOW_ID },
    UpdateContact: { ...contact, Name: 'n' },
    DescribeContact: contact,
    ListContactReferences: { ...contact, ReferenceTypes: ['URL'] },
    StopContact: contact,
    CreateTaskTemplate: { InstanceId: INSTANCE_ID, Name: 't', Fields: [] },
    GetTaskTemplate: taskTemplate,
    ListTaskTemplates: { InstanceId: INSTANCE_ID },
    UpdateTaskTemplate: taskTemplate,
    DeleteTaskTemplate: taskTemplate,
  } satisfies Record<ConnectOperation, Input>);
});
afterAll(async () => {
  client.destroy();
  await closeServer();
});

type Sent = { ok: true } | { ok: false; name: string; message: string; status?: number };

async function send(operation: ConnectOperation, input: Input): Promise<Sent> {
  const Command = (
    Connect as unknown as Record<string, new (input: Input) => Connect.StartTaskContactCommand>
  )[`${operation}Command`];
  if (!Command) throw new Error(`the SDK has no ${operation}Command`);
  try {
    await client.send(new Command(input));
    return { ok: true };
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { ok: false, name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
}

const validationError = (operation: ConnectOperation) =>
  API_MODEL.operations[operation].errors.includes('InvalidParameterException')
    ? 'InvalidParameterException'
    : 'InvalidRequestException';

const cases = CONNECT_OPERATIONS.flatMap((operation) =>
  structureCases(operation, API_MODEL.operations[operation].input, '', (_base, value) => value as Input),
);

describe('the Connect emulator against the API model data', () => {
  it('reads a model with its version and covers every emulated operation', () => {
    expect(API_MODEL.source).toMatchObject({ apiVersion: '2017-08-08', botocoreVersion: expect.any(String) });
    expect(API_MODEL.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(cases.map((c) => c.operation))).toEqual(new Set(CONNECT_OPERATIONS));
    expect(cases.filter((c) => c.side === 'outside').length).toBeGreaterThan(50);
  });

  it('answers each model error type with the HTTP status the model gives it', () => {
    for (const [type, { httpStatus }] of Object.entries(API_MODEL.errors)) {
      if (type in CONNECT_ERROR_STATUS) {
        expect(CONNECT_ERROR_STATUS[type as keyof typeof CONNECT_ERROR_STATUS], type).toBe(httpStatus);
      }
    }
  });

  it.each(cases.filter((c) => c.side === 'inside').map((c) => [c.operation, c.title, c] as const))(
    '%s accepts %s',
    async (operation, _title, c) => {
      // Act
      const result = await send(operation, c.input(bases[operation]));

      // Assess: it may fail for other reasons (a contact that ended, a budget), never for this member.
      if (!result.ok) {
        expect(API_MODEL.operations[operation].errors).toContain(result.name);
        const refusedForMember =
          result.name === validationError(operation) && result.message.startsWith(c.label);
        expect(refusedForMember, result.message).toBe(false);
      }
    },
  );

  it.each(cases.filter((c) => c.side === 'outside').map((c) => [c.operation, c.title, c] as const))(
    '%s refuses %s',
    async (operation, _title, c) => {
      // Act
      const result = await send(operation, c.input(bases[operation]));

      // Assess
      expect(result.ok).toBe(false);
      if (result.ok) return;
      if (c.uri && result.status === undefined) return; // the SDK refuses an empty or missing URI label itself
      expect(result.name).toBe(validationError(operation));
      expect(API_MODEL.operations[operation].errors).toContain(result.name);
      expect(result.status).toBe(400);
      expect(result.message.startsWith(c.label)).toBe(true);
    },
  );
});
