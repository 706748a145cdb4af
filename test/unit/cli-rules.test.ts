import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ClientFactories } from '#cli/context.ts';
import type { CliIo } from '#cli/io.ts';
import { buildProgram, type CliDeps, run } from '#cli/main.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000001';
const SANDBOX_ENV = { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' };

function capture(stdin = '') {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    readStdin: async () => stdin,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

/** Client factories that fail the test if a command builds a client it must not need. */
const noAwsClients: Partial<ClientFactories> = {
  dynamo: () => {
    throw new Error('this command must not build a DynamoDB client');
  },
  sqs: () => {
    throw new Error('this command must not build an SQS client');
  },
  connect: () => {
    throw new Error('this command must not build a Connect client');
  },
};

function rule(overrides: Record<string, unknown> = {}) {
  return {
    source: 'com.example.crm',
    ruleId: 'case-opened',
    instanceId: INSTANCE,
    target: { contactFlowId: FLOW },
    mapping: {
      name: "'Case ' & data.caseId",
      description: 'data.subject',
      attributes: { caseId: 'data.caseId', tenant: 'attributes.tenant' },
    },
    idempotencyKey: "'case-' & data.caseId",
    ...overrides,
  };
}

const cloudEvent = {
  specversion: '1.0',
  source: 'com.example.crm',
  id: 'evt-1',
  type: 'com.example.crm.case.opened',
  data: { caseId: '1001', subject: 'Cannot log in' },
};

describe('task-ingest rules (in process)', () => {
  let dir: string;
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const cli = async (argv: string[], deps: CliDeps = {}) => {
    const captured = capture();
    const code = await run(argv, { io: captured.io, env: SANDBOX_ENV, clients: noAwsClients, ...deps });
    return { code, out: captured.out(), err: captured.err() };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cti-cli-rules-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('rules validate', () => {
    it('accepts a valid rule without any AWS call', async () => {
      // Prepare
      const path = file('valid.json', rule());

      // Act
      const result = await cli(['rules', 'validate', path]);

      // Assess
      expect(result.code).toBe(0);
      expect(result.out).toBe('rule case-opened of source com.example.crm is valid\n');
    });

    it('reads YAML rule files', async () => {
      // Prepare
      const path = file(
        'valid.yaml',
        [
          'source: com.example.crm',
          'ruleId: from-yaml',
          `instanceId: ${INSTANCE}`,
          'target: { contactFlowId: f1 }',
          'mapping: { name: "\'Case \' & data.caseId" }',
        ].join('\n'),
      );

      // Act
      const result = await cli(['rules', 'validate', path]);

      // Assess
      expect(result.code).toBe(0);
      expect(result.out).toContain('rule from-yaml of source com.example.crm is valid');
    });

    it('lists every error and exits 1 for an invalid rule', async () => {
      // Prepare
      const path = file('invalid.json', rule({ mapping: { name: '"open', attributes: { 'bad key': 'x' } } }));

      // Act
      const result = await cli(['rules', 'validate', path]);

      // Assess
      expect(result.code).toBe(1);
      expect(result.out).toBe('');
      expect(result.err).toContain('rule is invalid');
      expect(result.err).toMatch(/- mapping\.name: JSONata syntax error/);
      expect(result.err).toMatch(/- mapping\.attributes\.bad key: /);
    });

    it('prints the errors as JSON with --json', async () => {
      // Prepare
      const path = file('invalid-json.json', rule({ target: {} }));

      // Act
      const result = await cli(['rules', 'validate', '--json', path]);

      // Assess
      expect(result.code).toBe(1);
      const printed = JSON.parse(result.out) as { ok: boolean; errors: string[] };
      expect(printed.ok).toBe(false);
      expect(printed.errors.join('\n')).toContain(
        'exactly one of contactFlowId, quickConnectId, taskTemplateId',
      );
    });

    it('exits 1 with a clear message for a file that is not JSON', async () => {
      // Prepare
      const path = file('broken.json', '{ "source": ');

      // Act
      const result = await cli(['rules', 'validate', path]);

      // Assess
      expect(result.code).toBe(1);
      expect(result.err).toContain(`${path} is not valid JSON`);
    });
  });

  describe('rules test', () => {
    it('prints the exact StartTaskContact request with its ClientToken, without calling Connect', async () => {
      // Prepare
      const rulePath = file('rule.json', rule());
      const messagePath = file('cloudevent.json', cloudEvent);

      // Act
      const result = await cli(['rules', 'test', rulePath, messagePath, '--attr', 'tenant=acme']);

      // Assess
      expect(result.err).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.out)).toEqual({
        InstanceId: INSTANCE,
        ContactFlowId: FLOW,
        Name: 'Case 1001',
        Description: 'Cannot log in',
        Attributes: { caseId: '1001', tenant: 'acme' },
        ClientToken: taskClientToken(INSTANCE, 'com.example.crm', 'case-1001'),
      });
    });

    it('gives a raw JSON message the rule source and the same ClientToken on every run', async () => {
      // Prepare
      const rulePath = file('rule-raw.json', rule({ idempotencyKey: undefined }));
      const messagePath = file('raw.json', { caseId: '7', subject: 'Refund' });
      const argv = ['rules', 'test', rulePath, messagePath, '--attr', 'id=crm-7', '--json'];

      // Act
      const first = await cli(argv);
      const second = await cli(argv);

      // Assess
      expect(first.code).toBe(0);
      expect(second.out).toBe(first.out);
      const printed = JSON.parse(first.out) as {
        ok: boolean;
        idempotencyKey: string;
        request: { ClientToken: string };
      };
      expect(printed.ok).toBe(true);
      expect(printed.idempotencyKey).toBe('crm-7');
      expect(printed.request.ClientToken).toBe(taskClientToken(INSTANCE, 'com.example.crm', 'crm-7'));
    });

    it('reports every limit the request would break and exits 1', async () => {
      // Prepare: Name over 512 characters, no truncation
      const rulePath = file('rule-long.json', rule({ mapping: { name: '$pad("x", 600, "x")' } }));
      const messagePath = file('cloudevent-long.json', cloudEvent);

      // Act
      const result = await cli(['rules', 'test', rulePath, messagePath]);

      // Assess
      expect(result.code).toBe(1);
      expect(result.out).toBe('');
      expect(result.err).toContain('the request would be refused');
      expect(result.err).toMatch(/- Name: .*512/);
    });

    it('explains that the rule is for another source', async () => {
      // Prepare
      const rulePath = file('rule-other.json', rule({ source: 'com.example.orders' }));
      const messagePath = file('cloudevent-other.json', cloudEvent);

      // Act
      const result = await cli(['rules', 'test', rulePath, messagePath]);

      // Assess
      expect(result.code).toBe(1);
      expect(result.err).toContain(
        `the message's source is "com.example.crm", the rule's is "com.example.orders"`,
      );
    });

    it('validates a template-based task against the given template', async () => {
      // Prepare
      const rulePath = file('rule-template.json', rule({ target: { taskTemplateId: 'tpl-1' } }));
      const messagePath = file('cloudevent-template.json', cloudEvent);
      const templatePath = file('template.json', {
        Id: 'tpl-1',
        Status: 'INACTIVE',
        ContactFlowId: FLOW,
        Fields: [],
        Constraints: {},
        Defaults: {},
      });

      // Act
      const result = await cli(['rules', 'test', rulePath, messagePath, '--template-file', templatePath]);

      // Assess
      expect(result.code).toBe(1);
      expect(result.err).toContain('INACTIVE');
    });

    it('uses the stored rules of --source, choosing by priority and match', async () => {
      // Prepare
      const dynamo = mockClient(DynamoDBClient);
      const stored = (overrides: Record<string, unknown>) =>
        marshall({ ...rule(overrides), version: 1, updatedAt: '2024-05-01T00:00:00.000Z' });
      dynamo.on(QueryCommand).resolves({
        Items: [
          stored({ ruleId: 'catch-all', priority: 200, mapping: { name: "'generic'" } }),
          stored({ ruleId: 'other-type', priority: 1, match: "type = 'nope'", mapping: { name: "'wrong'" } }),
          stored({ ruleId: 'opened', priority: 10, mapping: { name: "'opened ' & data.caseId" } }),
        ],
      });
      const messagePath = file('cloudevent-stored.json', cloudEvent);

      // Act
      const result = await cli(['rules', 'test', '--source', 'com.example.crm', messagePath, '--json'], {
        clients: { dynamo: () => new DynamoDBClient({ region: 'us-east-1' }) },
      });

      // Assess
      expect(result.code).toBe(0);
      expect(JSON.parse(result.out)).toMatchObject({ ruleId: 'opened', request: { Name: 'opened 1001' } });
      expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input.TableName).toBe(
        'connect-task-ingest-local-rules',
      );
      dynamo.restore();
    });

    it('works on the repository samples (--sample message shape)', async () => {
      // Act
      const result = await cli([
        'rules',
        'test',
        'events/rules/crm-case.json',
        'events/messages/cloudevents.json',
        '--sample',
        '--json',
      ]);

      // Assess
      expect(result.code).toBe(0);
      const printed = JSON.parse(result.out) as { ruleId: string; request: Record<string, unknown> };
      expect(printed.ruleId).toBe('case-opened');
      expect(printed.request.ClientToken).toBe(
        taskClientToken(INSTANCE, 'com.example.crm', 'case-1001-opened'),
      );
      expect(printed.request.InstanceId).toBe(INSTANCE);
    });

    it('is a usage error (exit 2) to give only a message file without --source', async () => {
      // Prepare
      const messagePath = file('only-message.json', cloudEvent);

      // Act
      const result = await cli(['rules', 'test', messagePath]);

      // Assess
      expect(result.code).toBe(2);
      expect(result.err).toContain('rules test needs <rule-file> <message-file>');
    });
  });

  describe('rules put / list', () => {
    const dynamo = mockClient(DynamoDBClient);
    const withDynamo: CliDeps = { clients: { dynamo: () => new DynamoDBClient({ region: 'us-east-1' }) } };
    beforeEach(() => dynamo.reset());
    afterAll(() => dynamo.restore());

    it('refuses an invalid rule before any DynamoDB call', async () => {
      // Prepare
      const path = file('put-invalid.json', rule({ instanceId: '' }));

      // Act
      const result = await cli(['rules', 'put', path], withDynamo);

      // Assess
      expect(result.code).toBe(1);
      expect(result.err).toContain('instanceId');
      expect(dynamo.calls()).toHaveLength(0);
    });

    it('lists the shape, JSONata and instance errors of a bad rule file in one round', async () => {
      // Prepare: a shape error (priority), a JSONata error (mapping.name) and another stage's instance.
      const path = file(
        'put-three-errors.json',
        rule({
          priority: 'high',
          instanceId: '99999999-0000-4000-8000-000000000000',
          mapping: { name: "'a' &" },
        }),
      );

      // Act
      const result = await cli(['rules', 'put', path], withDynamo);

      // Assess
      expect(result.code).toBe(1);
      expect(result.err).toContain('priority:');
      expect(result.err).toContain('mapping.name: JSONata syntax error');
      expect(result.err).toContain(
        "instanceId: instance 99999999-0000-4000-8000-000000000000 is not one of the stage's",
      );
      expect(dynamo.calls()).toHaveLength(0);
    });

    it('stores a valid rule in the stage table and prints its version', async () => {
      // Prepare
      dynamo.on(GetItemCommand).resolves({});
      dynamo.on(PutItemCommand).resolves({});
      const path = file('put-valid.json', rule());

      // Act
      const result = await cli(['rules', 'put', path, '--stage', 'dev'], withDynamo);

      // Assess
      expect(result.code).toBe(0);
      expect(result.out).toBe('stored rule case-opened of source com.example.crm (version 1)\n');
      expect(dynamo.commandCalls(PutItemCommand)[0]?.args[0].input.TableName).toBe(
        'connect-task-ingest-dev-rules',
      );
    });

    it('reads the rule from standard input with -', async () => {
      // Prepare
      dynamo.on(GetItemCommand).resolves({});
      dynamo.on(PutItemCommand).resolves({});
      const captured = capture(JSON.stringify(rule({ ruleId: 'from-stdin' })));

      // Act
      const code = await run(['rules', 'put', '-'], { io: captured.io, env: SANDBOX_ENV, ...withDynamo });

      // Assess
      expect(code).toBe(0);
      expect(captured.out()).toContain('stored rule from-stdin');
    });

    it('flags stored rules that no longer validate in the listing', async () => {
      // Prepare
      dynamo.on(ScanCommand).resolves({
        Items: [
          marshall({ ...rule(), version: 2, updatedAt: '2024-05-01T00:00:00.000Z' }),
          marshall({ ...rule({ ruleId: 'old', mapping: { name: '(' } }), version: 1, updatedAt: 'x' }),
        ],
      });

      // Act
      const result = await cli(['rules', 'list', '--json'], withDynamo);

      // Assess
      expect(result.code).toBe(0);
      const rows = JSON.parse(result.out) as Array<{ ruleId: string; valid: boolean; version: number }>;
      expect(rows.map((r) => [r.ruleId, r.valid, r.version])).toEqual([
        ['case-opened', true, 2],
        ['old', false, 1],
      ]);
    });

    it('needs a stage against AWS: a usage error (exit 2) without one', async () => {
      // Act
      const result = await cli(['rules', 'list'], { env: {}, ...withDynamo });

      // Assess
      expect(result.code).toBe(2);
      expect(result.err).toContain('no stage: pass --stage');
      expect(dynamo.calls()).toHaveLength(0);
    });
  });

  describe('the program', () => {
    it('exits 2 on an unknown command and 2 when no command is given', async () => {
      // Act
      const unknown = await cli(['rulez']);
      const none = await cli([]);

      // Assess
      expect(unknown.code).toBe(2);
      expect(unknown.err).toContain("unknown command 'rulez'");
      expect(none.code).toBe(2);
    });

    it('exits 0 for --help and lists every command group', async () => {
      // Act
      const result = await cli(['--help']);

      // Assess
      expect(result.code).toBe(0);
      for (const group of ['rules', 'send', 'dlq', 'transfers']) expect(result.out).toContain(group);
    });

    it('builds a program whose output goes to the injected io', async () => {
      // Prepare
      const captured = capture();
      const { program } = await buildProgram({ io: captured.io, env: SANDBOX_ENV, clients: noAwsClients });

      // Act
      await program.parseAsync(['rules', 'validate', file('program.json', rule())], { from: 'user' });

      // Assess
      expect(program.name()).toBe('task-ingest');
      expect(captured.out()).toContain('is valid');
    });
  });
});
