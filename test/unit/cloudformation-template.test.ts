/**
 * Guards the production settings of serverless.yml by reading the CloudFormation template that
 * `serverless package` produces (packaging offline first when the template is missing or stale).
 * Each rule is its own test, so a failure names the rule that broke.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadServerlessConfig } from '#common/serverless-config.ts';
import { parseTaskSchedules } from '#lib/schedules/declaration.ts';
import {
  actionsOf,
  asArray,
  type CfnResource,
  type CfnTemplate,
  connectScopeOf,
  functionRoleId,
  loadPackagedTemplate,
  PACKAGING_TIMEOUT_SECONDS,
  property,
  REPO_ROOT,
  type RoleStatement,
  referencedIds,
  renderValue,
  resource,
  resourcesOf,
  resourcesOfType,
  roleStatements,
} from '#test/support/template/cloudformation.ts';

const FUNCTIONS = {
  ingest: 'IngestLambdaFunction',
  transfer: 'TransferLambdaFunction',
  redrive: 'RedriveLambdaFunction',
  contactEvents: 'ContactEventsLambdaFunction',
} as const;
const TABLES = ['RulesTable', 'IdempotencyTable', 'LedgerTable', 'TransfersTable', 'BudgetTable'] as const;
/** One queue per priority lane: urgent, normal (the ingest queue), bulk. */
const LANE_QUEUES = {
  urgent: 'IngestUrgentQueue',
  normal: 'IngestQueue',
  bulk: 'IngestBulkQueue',
} as const;
const QUEUES = [
  ...Object.values(LANE_QUEUES),
  'DeadLetterQueue',
  'ContactEventsQueue',
  'ContactEventsDeadLetterQueue',
] as const;
/** X-Ray's write actions support no resource-level permissions: the one documented `*` resource. */
const XRAY_WRITE_ACTIONS = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
const FOURTEEN_DAYS_SECONDS = 14 * 24 * 60 * 60;
const CONNECT_ARN_PREFIX = 'arn:{AWS::Partition}:connect:{AWS::Region}:{AWS::AccountId}:instance/';
/** The state that cannot be rebuilt: hand-written rules, the exactly-once ledger, the transfer plans. */
const PROTECTED_TABLES = ['RulesTable', 'LedgerTable', 'TransfersTable'] as const;
/** Rebuilt by traffic: deleted with the stack, so a redeploy of the stage can create them again. */
const DISPOSABLE_TABLES = ['IdempotencyTable', 'BudgetTable'] as const;
const TABLE_ARN_PREFIX = 'arn:{AWS::Partition}:dynamodb:{AWS::Region}:{AWS::AccountId}:table/';
const ALARM_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:ops-alerts';

/** scripts/lint-template.mjs: the params of the prod packaging it lints. */
const lintTemplate: { PROD_PARAMS: Record<string, string> } = await import(
  pathToFileURL(resolve(REPO_ROOT, 'scripts/lint-template.mjs')).href
);

let template: CfnTemplate;

beforeAll(
  async () => {
    template = await loadPackagedTemplate();
  },
  (PACKAGING_TIMEOUT_SECONDS + 10) * 1000,
);

function fn(name: keyof typeof FUNCTIONS): CfnResource {
  return resource(template, FUNCTIONS[name]);
}

function envOf(name: keyof typeof FUNCTIONS): Record<string, unknown> {
  return (property(fn(name), ['Environment', 'Variables']) ?? {}) as Record<string, unknown>;
}

function statementsOfRole(roleId: string): RoleStatement[] {
  return roleStatements(template).filter((s) => s.roleId === roleId);
}

function statementsOfFunction(name: keyof typeof FUNCTIONS): RoleStatement[] {
  const roleId = functionRoleId(fn(name));
  if (!roleId) throw new Error(`function ${name} has no in-stack role`);
  return statementsOfRole(roleId);
}

function allowedActions(name: keyof typeof FUNCTIONS): Set<string> {
  return new Set(
    statementsOfFunction(name)
      .filter((s) => s.statement.Effect === 'Allow')
      .flatMap((s) => actionsOf(s.statement)),
  );
}

function alarms(of: CfnTemplate = template): CfnResource[] {
  return resourcesOfType(of, 'AWS::CloudWatch::Alarm').map(([, r]) => r);
}

/** serverless.yml resolved by the sandbox's loader with these params (no packaging), as a template. */
function templateWith(params: Record<string, string>, stage = 'dev'): CfnTemplate {
  const config = loadServerlessConfig({ stage, params });
  return { ...config.resources, Resources: config.resources.Resources } as CfnTemplate;
}

function dimensionValue(alarm: CfnResource, name: string): string | undefined {
  const dims = asArray(
    property(alarm, ['Dimensions']) as Array<{ Name: string; Value: unknown }> | undefined,
  );
  const found = dims.find((d) => d.Name === name);
  return found ? renderValue(found.Value) : undefined;
}

function findAlarm(namespace: string, metric: string, dimension: [string, string]): CfnResource | undefined {
  return alarms().find(
    (a) =>
      property(a, ['Namespace']) === namespace &&
      property(a, ['MetricName']) === metric &&
      dimensionValue(a, dimension[0]) === dimension[1],
  );
}

describe('IAM: least privilege per function', () => {
  it('runs every function with its own role that only Lambda can assume', () => {
    // Prepare
    const roleIds = Object.keys(FUNCTIONS).map((name) => functionRoleId(fn(name as keyof typeof FUNCTIONS)));

    // Assess
    expect(roleIds.every((id) => id !== undefined)).toBe(true);
    expect(new Set(roleIds).size).toBe(roleIds.length);
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
    for (const roleId of roleIds as string[]) {
      const role = resource(template, roleId);
      expect(role.Type).toBe('AWS::IAM::Role');
      const trust = property(role, ['AssumeRolePolicyDocument', 'Statement']) as Array<
        Record<string, unknown>
      >;
      expect(trust).toHaveLength(1);
      expect(trust[0]?.Principal).toEqual({ Service: 'lambda.amazonaws.com' });
      expect(asArray(trust[0]?.Action as string | string[])).toEqual(['sts:AssumeRole']);
    }
  });

  it('grants no wildcard action ("*", "service:*" or any pattern) and no NotAction', () => {
    // Act
    const offending = roleStatements(template).filter(
      ({ statement }) =>
        statement.NotAction !== undefined || actionsOf(statement).some((a) => a.includes('*')),
    );

    // Assess
    expect(offending).toEqual([]);
  });

  it('uses Resource "*" only for the X-Ray write actions, which have no resource-level permissions', () => {
    // Act
    const starStatements = roleStatements(template).filter(({ statement }) =>
      resourcesOf(statement).includes('*'),
    );
    const offending = starStatements.filter(
      ({ statement }) => !actionsOf(statement).every((action) => XRAY_WRITE_ACTIONS.has(action)),
    );

    // Assess
    expect(roleStatements(template).some(({ statement }) => statement.NotResource !== undefined)).toBe(false);
    expect(offending).toEqual([]);
  });

  it('traces every function and lets each role write its traces', () => {
    for (const name of Object.keys(FUNCTIONS) as Array<keyof typeof FUNCTIONS>) {
      expect(property(fn(name), ['TracingConfig', 'Mode'])).toBe('Active');
      const actions = allowedActions(name);
      for (const action of XRAY_WRITE_ACTIONS) expect(actions.has(action)).toBe(true);
    }
  });

  it('scopes every Connect statement to the configured instance', () => {
    // Prepare
    const instanceId = String(envOf('ingest').CONNECT_INSTANCE_ID);
    const instanceArn = `${CONNECT_ARN_PREFIX}${instanceId}`;
    const connectStatements = roleStatements(template).filter(({ statement }) =>
      actionsOf(statement).some((a) => a.startsWith('connect:')),
    );

    // Act
    const resources = connectStatements.flatMap(({ statement }) => resourcesOf(statement));

    // Assess
    expect(instanceId).toMatch(/^[A-Za-z0-9-]{1,100}$/);
    expect(connectStatements.length).toBeGreaterThan(0);
    for (const arn of resources) {
      expect(arn === instanceArn || arn.startsWith(`${instanceArn}/`), arn).toBe(true);
      expect(arn.slice(instanceArn.length)).not.toMatch(/^\/\*/);
    }
    for (const name of Object.keys(FUNCTIONS) as Array<keyof typeof FUNCTIONS>) {
      expect(envOf(name).CONNECT_INSTANCE_ID).toBe(instanceId);
      // connectInstanceIds defaults to the single connectInstanceId (stages that pass only that).
      expect(envOf(name).CONNECT_INSTANCE_IDS).toBe(instanceId);
    }
  });

  it('scopes every Connect statement of every role to exactly the listed instances (two-instance list)', () => {
    // Prepare: the same serverless.yml through the sandbox's loader, with a two-instance list.
    const ids = ['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002'];
    const config = loadServerlessConfig({ stage: 'dev', params: { connectInstanceIds: ids.join(', ') } });
    const twoInstances = { Resources: config.resources.Resources } as CfnTemplate;
    const single = roleStatements(template).filter(({ statement }) =>
      actionsOf(statement).some((a) => a.startsWith('connect:')),
    );

    // Act
    const connectStatements = roleStatements(twoInstances).filter(({ statement }) =>
      actionsOf(statement).some((a) => a.startsWith('connect:')),
    );

    // Assess: the same Connect statements as the packaged template, each on both instances alone,
    // with the same resource paths for each instance as the single-instance template has.
    expect(connectStatements.map((s) => `${s.roleId}/${s.statement.Sid}`).sort()).toEqual(
      single.map((s) => `${s.roleId}/${s.statement.Sid}`).sort(),
    );
    for (const { roleId, statement } of connectStatements) {
      const scope = connectScopeOf(statement);
      const packaged = single.find((s) => s.roleId === roleId && s.statement.Sid === statement.Sid);
      const packagedSuffixes = [
        ...connectScopeOf(packaged?.statement as RoleStatement['statement']).suffixesByInstance.values(),
      ][0];
      expect(scope.foreign, `${roleId}/${statement.Sid}`).toEqual([]);
      expect([...scope.instances].sort(), `${roleId}/${statement.Sid}`).toEqual(ids);
      for (const id of ids)
        expect(scope.suffixesByInstance.get(id)?.sort()).toEqual(packagedSuffixes?.sort());
    }
    for (const fn of Object.values(config.functions)) {
      expect(fn.environment.CONNECT_INSTANCE_IDS).toBe(ids.join(','));
    }
  });

  it('grants StartTaskContact on the contact, flow, quick-connect and task-template ARNs the action needs', () => {
    // Prepare
    const instanceArn = `${CONNECT_ARN_PREFIX}${String(envOf('ingest').CONNECT_INSTANCE_ID)}`;

    // Act
    const resources = statementsOfFunction('ingest')
      .filter(({ statement }) => actionsOf(statement).includes('connect:StartTaskContact'))
      .flatMap(({ statement }) => resourcesOf(statement));

    // Assess
    expect(resources.sort()).toEqual(
      [
        `${instanceArn}/contact/*`,
        `${instanceArn}/contact-flow/*`,
        `${instanceArn}/task-template/*`,
        `${instanceArn}/transfer-destination/*`,
      ].sort(),
    );
  });

  it("grants UpdateContact and StopContact (update/complete rules) on the instance's contacts only", () => {
    // Prepare
    const instanceArn = `${CONNECT_ARN_PREFIX}${String(envOf('ingest').CONNECT_INSTANCE_ID)}`;

    for (const action of ['connect:UpdateContact', 'connect:StopContact']) {
      // Act
      const statements = statementsOfFunction('ingest').filter(({ statement }) =>
        actionsOf(statement).includes(action),
      );

      // Assess
      expect(statements.length, action).toBeGreaterThan(0);
      expect(statements.flatMap(({ statement }) => resourcesOf(statement))).toEqual([
        `${instanceArn}/contact/*`,
      ]);
    }
  });

  it('lets only ingest start tasks, only transfer transfer contacts, and keeps Connect away from redrive', () => {
    // Act
    const ingest = allowedActions('ingest');
    const transfer = allowedActions('transfer');
    const redrive = allowedActions('redrive');

    // Assess
    expect([...ingest].filter((a) => a.startsWith('connect:')).sort()).toEqual([
      'connect:GetTaskTemplate',
      'connect:StartTaskContact',
      'connect:StopContact',
      'connect:UpdateContact',
    ]);
    expect([...transfer].filter((a) => a.startsWith('connect:')).sort()).toEqual([
      'connect:DescribeContact',
      'connect:TransferContact',
    ]);
    expect([...redrive].filter((a) => a.startsWith('connect:'))).toEqual([]);
  });

  it("scopes each role's log permissions to its own function's log group", () => {
    for (const name of Object.keys(FUNCTIONS) as Array<keyof typeof FUNCTIONS>) {
      // Prepare
      const logGroupName = `/aws/lambda/${String(property(fn(name), ['FunctionName']))}`;
      const logStatements = statementsOfFunction(name).filter(({ statement }) =>
        actionsOf(statement).some((a) => a.startsWith('logs:')),
      );

      // Act
      const resources = logStatements.flatMap(({ statement }) => resourcesOf(statement));
      const actions = logStatements.flatMap(({ statement }) => actionsOf(statement));

      // Assess
      expect(actions.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(resources.length).toBeGreaterThan(0);
      for (const arn of resources) expect(arn.endsWith(`:log-group:${logGroupName}:*`), arn).toBe(true);
    }
  });

  it("scopes DynamoDB and SQS statements to this stack's own tables, index and queues", () => {
    // Prepare
    const allowed = new Set<string>([
      ...TABLES.map((t) => `{${t}.Arn}`),
      '{TransfersTable.Arn}/index/byStatusDue',
      '{LedgerTable.Arn}/index/byPending',
      ...QUEUES.map((q) => `{${q}.Arn}`),
    ]);

    // Act
    const dataStatements = roleStatements(template).filter(({ statement }) =>
      actionsOf(statement).some((a) => a.startsWith('dynamodb:') || a.startsWith('sqs:')),
    );
    const outside = dataStatements.flatMap(({ statement }) =>
      resourcesOf(statement).filter((arn) => !allowed.has(arn)),
    );

    // Assess
    expect(dataStatements.length).toBeGreaterThan(0);
    expect(outside).toEqual([]);
  });

  it('gives each function exactly the data access its use cases need', () => {
    const grants = (name: keyof typeof FUNCTIONS) =>
      statementsOfFunction(name)
        .filter(({ statement }) => actionsOf(statement).some((a) => /^(dynamodb|sqs):/.test(a)))
        .flatMap(({ statement }) =>
          resourcesOf(statement).flatMap((arn) => actionsOf(statement).map((a) => `${a} ${arn}`)),
        )
        .sort();

    expect(grants('ingest')).toEqual(
      [
        'dynamodb:GetItem {RulesTable.Arn}',
        'dynamodb:Query {RulesTable.Arn}',
        'dynamodb:GetItem {IdempotencyTable.Arn}',
        'dynamodb:PutItem {IdempotencyTable.Arn}',
        'dynamodb:UpdateItem {IdempotencyTable.Arn}',
        'dynamodb:DeleteItem {IdempotencyTable.Arn}',
        'dynamodb:GetItem {LedgerTable.Arn}',
        'dynamodb:PutItem {LedgerTable.Arn}',
        'dynamodb:UpdateItem {LedgerTable.Arn}',
        // A published rejection's outbox item.
        'dynamodb:DeleteItem {LedgerTable.Arn}',
        'dynamodb:PutItem {TransfersTable.Arn}',
        // The StartTaskContact budget: one conditional write per call, a read on a lost race.
        'dynamodb:GetItem {BudgetTable.Arn}',
        'dynamodb:UpdateItem {BudgetTable.Arn}',
        ...Object.values(LANE_QUEUES).flatMap((queue) => [
          `sqs:ReceiveMessage {${queue}.Arn}`,
          `sqs:DeleteMessage {${queue}.Arn}`,
          `sqs:ChangeMessageVisibility {${queue}.Arn}`,
          `sqs:GetQueueAttributes {${queue}.Arn}`,
          // A rule's lane forwards an event to that lane's queue.
          `sqs:SendMessage {${queue}.Arn}`,
        ]),
        'sqs:SendMessage {DeadLetterQueue.Arn}',
      ].sort(),
    );
    expect(
      grants('transfer').every((g) =>
        /^[a-z]+:[A-Za-z]+ \{(TransfersTable|LedgerTable|BudgetTable)\.Arn\}/.test(g),
      ),
    ).toBe(true);
    expect(grants('transfer').filter((g) => g.includes('BudgetTable'))).toEqual([
      'dynamodb:GetItem {BudgetTable.Arn}',
      'dynamodb:UpdateItem {BudgetTable.Arn}',
    ]);
    expect(grants('transfer')).toContain('dynamodb:Query {TransfersTable.Arn}/index/byStatusDue');
    expect(grants('transfer').filter((g) => g.includes('LedgerTable'))).toEqual([
      'dynamodb:GetItem {LedgerTable.Arn}',
    ]);
    expect(grants('redrive')).toEqual(
      [
        // An OVER_QUOTA message whose task exists, or whose newer copy waits, is deleted, not replayed;
        // one given up on gets its task.rejected outcome in the outbox when its source's rules ask.
        'dynamodb:GetItem {LedgerTable.Arn}',
        'dynamodb:PutItem {LedgerTable.Arn}',
        'dynamodb:Query {RulesTable.Arn}',
        'sqs:ReceiveMessage {DeadLetterQueue.Arn}',
        'sqs:DeleteMessage {DeadLetterQueue.Arn}',
        'sqs:ChangeMessageVisibility {DeadLetterQueue.Arn}',
        'sqs:SendMessage {DeadLetterQueue.Arn}',
        'sqs:GetQueueAttributes {DeadLetterQueue.Arn}',
        // A replay goes back to the queue of the lane it failed in.
        ...Object.values(LANE_QUEUES).map((queue) => `sqs:SendMessage {${queue}.Arn}`),
      ].sort(),
    );
    expect(grants('contactEvents')).toEqual(
      [
        ...['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'].map(
          (a) => `dynamodb:${a} {LedgerTable.Arn}`,
        ),
        'dynamodb:Query {LedgerTable.Arn}/index/byPending',
        ...['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'].map(
          (a) => `dynamodb:${a} {LedgerTable.Arn}/index/byPending`,
        ),
        // The DescribeContact budget.
        'dynamodb:GetItem {BudgetTable.Arn}',
        'dynamodb:UpdateItem {BudgetTable.Arn}',
        'sqs:ReceiveMessage {ContactEventsQueue.Arn}',
        'sqs:DeleteMessage {ContactEventsQueue.Arn}',
        'sqs:ChangeMessageVisibility {ContactEventsQueue.Arn}',
        'sqs:GetQueueAttributes {ContactEventsQueue.Arn}',
        // A freed slot sends the oldest waiting event back to its lane's queue.
        ...Object.values(LANE_QUEUES).map((queue) => `sqs:SendMessage {${queue}.Arn}`),
      ].sort(),
    );
  });

  it("publishes outcomes on the stack's own bus only, from ingest and contactEvents alone", () => {
    const eventStatements = roleStatements(template).filter(({ statement }) =>
      actionsOf(statement).some((a) => a.startsWith('events:')),
    );
    expect(eventStatements.flatMap(({ statement }) => actionsOf(statement))).toEqual([
      'events:PutEvents',
      'events:PutEvents',
    ]);
    expect(eventStatements.flatMap(({ statement }) => resourcesOf(statement))).toEqual([
      '{OutcomeBus.Arn}',
      '{OutcomeBus.Arn}',
    ]);
    expect(eventStatements.map(({ roleId }) => roleId).sort()).toEqual(
      [functionRoleId(fn('ingest')), functionRoleId(fn('contactEvents'))].sort(),
    );
    expect(property(resource(template, 'OutcomeBus'), ['Name'])).toBe('connect-task-ingest-dev-outcomes');
  });

  it('lets contactEvents only describe contacts of the listed instances', () => {
    const instanceArn = `${CONNECT_ARN_PREFIX}${String(envOf('ingest').CONNECT_INSTANCE_ID)}`;
    const connect = statementsOfFunction('contactEvents').filter(({ statement }) =>
      actionsOf(statement).some((a) => a.startsWith('connect:')),
    );
    expect(connect.flatMap(({ statement }) => actionsOf(statement))).toEqual(['connect:DescribeContact']);
    expect(connect.flatMap(({ statement }) => resourcesOf(statement))).toEqual([`${instanceArn}/contact/*`]);
  });
});

describe('contact events', () => {
  it("takes the task contact events of the stage's instances from the default bus to the contact events queue", () => {
    const rule = resource(template, 'ContactEventsRule');
    const instanceArn = `${CONNECT_ARN_PREFIX}${String(envOf('ingest').CONNECT_INSTANCE_ID)}`;
    expect(property(rule, ['EventBusName'])).toBe('default');
    expect(property(rule, ['State'])).toBe('ENABLED');
    const pattern = property(rule, ['EventPattern']) as Record<string, unknown>;
    expect(pattern.source).toEqual(['aws.connect']);
    expect(pattern['detail-type']).toEqual(['Amazon Connect Contact Event']);
    const detail = pattern.detail as Record<string, unknown>;
    expect(detail.channel).toEqual(['TASK']);
    expect((detail.instanceArn as unknown[]).map(renderValue)).toEqual([instanceArn]);
    const targets = property(rule, ['Targets']) as Array<Record<string, unknown>>;
    expect(targets.map((t) => renderValue(t.Arn))).toEqual(['{ContactEventsQueue.Arn}']);
  });

  it('lets EventBridge send to the contact events queue for that rule only', () => {
    const policy = resource(template, 'ContactEventsQueuePolicy');
    expect((property(policy, ['Queues']) as unknown[]).map(renderValue)).toEqual(['{ContactEventsQueue}']);
    const statements = property(policy, ['PolicyDocument', 'Statement']) as Array<Record<string, unknown>>;
    expect(statements).toHaveLength(1);
    const [statement] = statements as [Record<string, unknown>];
    expect(statement.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(statement.Action).toBe('sqs:SendMessage');
    expect(renderValue(statement.Resource)).toBe('{ContactEventsQueue.Arn}');
    expect(
      renderValue(
        (statement.Condition as Record<string, Record<string, unknown>>).ArnEquals?.['aws:SourceArn'],
      ),
    ).toBe('{ContactEventsRule.Arn}');
  });

  it('folds the contact events with partial batch failures, and sweeps every minute', () => {
    const mapping = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')
      .map(([, r]) => r)
      .find(
        (m) => renderValue(property(m, ['EventSourceArn'])) === '{ContactEventsQueue.Arn}',
      ) as CfnResource;
    expect(renderValue(property(mapping, ['FunctionName']))).toBe(`{${FUNCTIONS.contactEvents}.Arn}`);
    expect(property(mapping, ['FunctionResponseTypes'])).toContain('ReportBatchItemFailures');
    const visibility = Number(property(resource(template, 'ContactEventsQueue'), ['VisibilityTimeout']));
    expect(visibility).toBeGreaterThanOrEqual(6 * Number(property(fn('contactEvents'), ['Timeout'])));
    expect(envOf('contactEvents').CONTACT_EVENTS_QUEUE_URL).toEqual({ Ref: 'ContactEventsQueue' });
  });
});

describe('queues', () => {
  it('encrypts every queue at rest', () => {
    const queues = resourcesOfType(template, 'AWS::SQS::Queue');
    expect(queues.map(([id]) => id).sort()).toEqual([...QUEUES].sort());
    for (const [id, queue] of queues) {
      const sse = property(queue, ['SqsManagedSseEnabled']) === true || property(queue, ['KmsMasterKeyId']);
      expect(Boolean(sse), id).toBe(true);
    }
  });

  it.each(Object.entries(LANE_QUEUES))(
    'keeps the %s lane queue visibility timeout at least 6 x the ingest function timeout',
    (_lane, queue) => {
      const visibility = Number(property(resource(template, queue), ['VisibilityTimeout']));
      const timeout = Number(property(fn('ingest'), ['Timeout']));
      expect(timeout).toBeGreaterThan(0);
      expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
    },
  );

  it.each(Object.entries(LANE_QUEUES))(
    'parks a message of the %s lane in the DLQ only after at least 5 receives',
    (_lane, queue) => {
      const redrive = property(resource(template, queue), ['RedrivePolicy']) as Record<string, unknown>;
      expect(renderValue(redrive.deadLetterTargetArn)).toBe('{DeadLetterQueue.Arn}');
      expect(Number(redrive.maxReceiveCount)).toBeGreaterThanOrEqual(5);
      expect(String(redrive.maxReceiveCount)).toBe(String(envOf('ingest').INGEST_MAX_RECEIVE_COUNT));
    },
  );

  it('gives the urgent and bulk lane queues the settings of the ingest queue (the normal lane)', () => {
    // Prepare
    const settings = (queue: string) => {
      const { QueueName: _name, ...rest } = resource(template, queue).Properties ?? {};
      return rest;
    };
    const ingestName = String(property(resource(template, 'IngestQueue'), ['QueueName']));

    // Assess
    expect(settings(LANE_QUEUES.urgent)).toEqual(settings(LANE_QUEUES.normal));
    expect(settings(LANE_QUEUES.bulk)).toEqual(settings(LANE_QUEUES.normal));
    expect(property(resource(template, LANE_QUEUES.urgent), ['QueueName'])).toBe(`${ingestName}-urgent`);
    expect(property(resource(template, LANE_QUEUES.bulk), ['QueueName'])).toBe(`${ingestName}-bulk`);
    expect(ingestName).toMatch(/-ingest$/);
  });

  it('keeps DLQ messages for 14 days', () => {
    expect(property(resource(template, 'DeadLetterQueue'), ['MessageRetentionPeriod'])).toBe(
      FOURTEEN_DAYS_SECONDS,
    );
  });

  it('lets only the lane queues use the DLQ as their dead-letter queue', () => {
    // Prepare
    const names = Object.values(LANE_QUEUES).map((queue) =>
      String(property(resource(template, queue), ['QueueName'])),
    );
    const policy = property(resource(template, 'DeadLetterQueue'), ['RedriveAllowPolicy']) as {
      redrivePermission?: string;
      sourceQueueArns?: unknown[];
    };

    // Assess
    expect(policy.redrivePermission).toBe('byQueue');
    expect((policy.sourceQueueArns ?? []).map(renderValue).sort()).toEqual(
      names.map((name) => `arn:{AWS::Partition}:sqs:{AWS::Region}:{AWS::AccountId}:${name}`).sort(),
    );
  });

  it('consumes every lane queue with partial batch failures and a bounded maximum concurrency', () => {
    // Prepare
    const mappings = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').map(([, r]) => r);
    const mappingOf = (queue: string) =>
      mappings.find((m) => renderValue(property(m, ['EventSourceArn'])) === `{${queue}.Arn}`);
    const normal = mappingOf(LANE_QUEUES.normal) as CfnResource;

    // Assess
    // The lane queues, and the contact events queue (its own function).
    expect(mappings).toHaveLength(Object.keys(LANE_QUEUES).length + 1);
    for (const queue of Object.values(LANE_QUEUES)) {
      const mapping = mappingOf(queue);
      expect(mapping, queue).toBeDefined();
      expect(renderValue(property(mapping as CfnResource, ['FunctionName']))).toBe(
        `{${FUNCTIONS.ingest}.Arn}`,
      );
      expect(property(mapping as CfnResource, ['FunctionResponseTypes'])).toContain(
        'ReportBatchItemFailures',
      );
      expect(property(mapping as CfnResource, ['BatchSize'])).toBe(property(normal, ['BatchSize']));
      expect(property(mapping as CfnResource, ['MaximumBatchingWindowInSeconds'])).toBe(
        property(normal, ['MaximumBatchingWindowInSeconds']),
      );
      // Lambda's minimum for an SQS event source's MaximumConcurrency.
      expect(
        Number(property(mapping as CfnResource, ['ScalingConfig', 'MaximumConcurrency'])),
      ).toBeGreaterThanOrEqual(2);
    }
    expect(String(property(normal, ['ScalingConfig', 'MaximumConcurrency']))).toBe(
      String(envOf('ingest').INGEST_MAX_CONCURRENCY),
    );
  });

  it('gives the functions every lane queue URL (the normal lane is INGEST_QUEUE_URL)', () => {
    for (const name of ['ingest', 'redrive'] as const) {
      expect(envOf(name).INGEST_URGENT_QUEUE_URL).toEqual({ Ref: LANE_QUEUES.urgent });
      expect(envOf(name).INGEST_QUEUE_URL).toEqual({ Ref: LANE_QUEUES.normal });
      expect(envOf(name).INGEST_BULK_QUEUE_URL).toEqual({ Ref: LANE_QUEUES.bulk });
    }
  });
});

describe('tables', () => {
  it('encrypts every table at rest and bills it on demand', () => {
    const tables = resourcesOfType(template, 'AWS::DynamoDB::Table');
    expect(tables.map(([id]) => id).sort()).toEqual([...TABLES].sort());
    for (const [id, table] of tables) {
      expect(property(table, ['SSESpecification', 'SSEEnabled']), id).toBe(true);
      expect(property(table, ['BillingMode']), id).toBe('PAY_PER_REQUEST');
    }
  });

  it.each([
    ['IdempotencyTable', 'expiration'],
    ['LedgerTable', 'expiresAt'],
    ['TransfersTable', 'expiresAt'],
    ['BudgetTable', 'expiresAt'],
  ])('expires %s items through TTL on %s', (tableId, attribute) => {
    expect(property(resource(template, tableId), ['TimeToLiveSpecification'])).toEqual({
      AttributeName: attribute,
      Enabled: true,
    });
  });

  it('indexes transfers by status and numeric due time (GSI byStatusDue)', () => {
    // Prepare
    const transfers = resource(template, 'TransfersTable');
    const indexes = asArray(
      property(transfers, ['GlobalSecondaryIndexes']) as Array<Record<string, unknown>> | undefined,
    );
    const definitions = property(transfers, ['AttributeDefinitions']) as Array<{
      AttributeName: string;
      AttributeType: string;
    }>;

    // Act
    const byStatusDue = indexes.find((i) => i.IndexName === 'byStatusDue');

    // Assess
    expect(byStatusDue?.KeySchema).toEqual([
      { AttributeName: 'status', KeyType: 'HASH' },
      { AttributeName: 'dueAt', KeyType: 'RANGE' },
    ]);
    expect(definitions).toContainEqual({ AttributeName: 'dueAt', AttributeType: 'N' });
    expect(definitions).toContainEqual({ AttributeName: 'status', AttributeType: 'S' });
  });
});

describe('protected state (stateDeletionPolicy, default Retain)', () => {
  it.each(PROTECTED_TABLES)('retains %s when the stack is removed or the table replaced', (tableId) => {
    const table = resource(template, tableId);
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it.each(PROTECTED_TABLES)('protects %s from deletion', (tableId) => {
    expect(property(resource(template, tableId), ['DeletionProtectionEnabled'])).toBe(true);
  });

  it.each(PROTECTED_TABLES)('enables point-in-time recovery on %s', (tableId) => {
    expect(
      property(resource(template, tableId), [
        'PointInTimeRecoverySpecification',
        'PointInTimeRecoveryEnabled',
      ]),
    ).toBe(true);
  });

  it('retains the DLQ, which holds every parked event, with its 14-day retention', () => {
    const dlq = resource(template, 'DeadLetterQueue');
    expect(dlq.DeletionPolicy).toBe('Retain');
    expect(dlq.UpdateReplacePolicy).toBe('Retain');
    expect(property(dlq, ['MessageRetentionPeriod'])).toBe(FOURTEEN_DAYS_SECONDS);
  });

  it.each(DISPOSABLE_TABLES)('deletes the disposable %s with the stack, unprotected', (tableId) => {
    const table = resource(template, tableId);
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.UpdateReplacePolicy).toBe('Delete');
    expect(property(table, ['DeletionProtectionEnabled'])).not.toBe(true);
  });

  it('lets a throwaway stage choose Delete: deleted with the stack, no deletion protection, PITR kept', () => {
    // Act
    const throwaway = templateWith({ stateDeletionPolicy: 'Delete' });

    // Assess
    for (const id of [...PROTECTED_TABLES, 'DeadLetterQueue']) {
      expect(resource(throwaway, id).DeletionPolicy, id).toBe('Delete');
      expect(resource(throwaway, id).UpdateReplacePolicy, id).toBe('Delete');
    }
    for (const id of PROTECTED_TABLES) {
      expect(property(resource(throwaway, id), ['DeletionProtectionEnabled']), id).toBe(false);
      expect(
        property(resource(throwaway, id), ['PointInTimeRecoverySpecification', 'PointInTimeRecoveryEnabled']),
        id,
      ).toBe(true);
    }
  });

  it.each(['retain', 'Snapshot', ''])('refuses stateDeletionPolicy "%s" with a clear error', (policy) => {
    expect(() => templateWith({ stateDeletionPolicy: policy })).toThrow(
      /stateDeletionPolicy must be Retain or Delete/,
    );
  });

  it("points the functions, their IAM statements and the outputs at restored tables, keeping the stack's own", () => {
    // Prepare
    const restored = {
      restoredRulesTable: 'connect-task-ingest-dev-rules-r1',
      restoredLedgerTable: 'connect-task-ingest-dev-ledger-r1',
      restoredTransfersTable: 'connect-task-ingest-dev-transfers-r1',
    };
    const config = loadServerlessConfig({ stage: 'dev', params: restored });
    const pointed = templateWith(restored);
    const tableArns = roleStatements(pointed)
      .filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('dynamodb:')))
      .flatMap(({ statement }) => resourcesOf(statement));

    // Assess
    for (const fn of Object.values(config.functions)) {
      expect(fn.environment.RULES_TABLE).toBe(restored.restoredRulesTable);
      expect(fn.environment.LEDGER_TABLE).toBe(restored.restoredLedgerTable);
      expect(fn.environment.TRANSFERS_TABLE).toBe(restored.restoredTransfersTable);
    }
    expect([...new Set(tableArns)].sort()).toEqual(
      [
        '{BudgetTable.Arn}',
        '{IdempotencyTable.Arn}',
        `${TABLE_ARN_PREFIX}${restored.restoredRulesTable}`,
        `${TABLE_ARN_PREFIX}${restored.restoredLedgerTable}`,
        `${TABLE_ARN_PREFIX}${restored.restoredLedgerTable}/index/byPending`,
        `${TABLE_ARN_PREFIX}${restored.restoredTransfersTable}`,
        `${TABLE_ARN_PREFIX}${restored.restoredTransfersTable}/index/byStatusDue`,
      ].sort(),
    );
    expect(renderValue(pointed.Outputs?.RulesTableName?.Value)).toBe(restored.restoredRulesTable);
    expect(renderValue(pointed.Outputs?.LedgerTableName?.Value)).toBe(restored.restoredLedgerTable);
    expect(renderValue(pointed.Outputs?.TransfersTableName?.Value)).toBe(restored.restoredTransfersTable);
    for (const id of PROTECTED_TABLES) expect(resource(pointed, id).DeletionPolicy).toBe('Retain');
  });

  it('refuses a restored table name DynamoDB would refuse', () => {
    expect(() => templateWith({ restoredLedgerTable: 'ledger restored!' })).toThrow(
      /restoredLedgerTable must be empty or a DynamoDB table name/,
    );
  });
});

describe('functions', () => {
  it('runs every function on arm64 Node.js 22 with source-mapped stack traces', () => {
    for (const name of Object.keys(FUNCTIONS) as Array<keyof typeof FUNCTIONS>) {
      expect(property(fn(name), ['Runtime'])).toBe('nodejs22.x');
      expect(property(fn(name), ['Architectures'])).toEqual(['arm64']);
      expect(envOf(name).NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('packages one zipped bundle per function, each with its source map', () => {
    for (const name of Object.keys(FUNCTIONS)) {
      const zip = readFileSync(join(REPO_ROOT, '.serverless', `${name}.zip`));
      const entry = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      // Zip entry names are stored uncompressed in the archive headers.
      expect(zip.includes(`functions/${entry}.mjs.map`)).toBe(true);
    }
  });
});

describe('alarms and outputs', () => {
  it('alarms when the DLQ holds any message', () => {
    const alarm = findAlarm('AWS/SQS', 'ApproximateNumberOfMessagesVisible', [
      'QueueName',
      '{DeadLetterQueue.QueueName}',
    ]);
    expect(alarm).toBeDefined();
    expect(property(alarm as CfnResource, ['Threshold'])).toBe(0);
    expect(property(alarm as CfnResource, ['ComparisonOperator'])).toBe('GreaterThanThreshold');
  });

  it('alarms on the age of the oldest DLQ message, well inside the 14-day retention', () => {
    const alarm = findAlarm('AWS/SQS', 'ApproximateAgeOfOldestMessage', [
      'QueueName',
      '{DeadLetterQueue.QueueName}',
    ]);
    expect(alarm).toBeDefined();
    const threshold = Number(property(alarm as CfnResource, ['Threshold']));
    expect(threshold).toBeGreaterThan(0);
    expect(threshold).toBeLessThan(FOURTEEN_DAYS_SECONDS / 2);
  });

  it.each(Object.values(LANE_QUEUES))('alarms on the age of the oldest message of %s', (queue) => {
    const alarm = findAlarm('AWS/SQS', 'ApproximateAgeOfOldestMessage', [
      'QueueName',
      `{${queue}.QueueName}`,
    ]);
    expect(alarm).toBeDefined();
    expect(Number(property(alarm as CfnResource, ['Threshold']))).toBeGreaterThan(0);
  });

  it('alarms on an urgent backlog sooner than on a normal one', () => {
    const threshold = (queue: string) =>
      Number(
        property(
          findAlarm('AWS/SQS', 'ApproximateAgeOfOldestMessage', [
            'QueueName',
            `{${queue}.QueueName}`,
          ]) as CfnResource,
          ['Threshold'],
        ),
      );
    expect(threshold(LANE_QUEUES.urgent)).toBeLessThan(threshold(LANE_QUEUES.normal));
  });

  it.each(['Errors', 'Throttles'])('alarms on ingest function %s', (metric) => {
    const alarm = findAlarm('AWS/Lambda', metric, ['FunctionName', `{${FUNCTIONS.ingest}}`]);
    expect(alarm).toBeDefined();
    expect(property(alarm as CfnResource, ['Threshold'])).toBe(0);
  });

  it('alarms on failed transfers (TransfersFailed, Powertools EMF, dimension service)', () => {
    const namespace = String(envOf('transfer').POWERTOOLS_METRICS_NAMESPACE);
    const service = String(envOf('transfer').POWERTOOLS_SERVICE_NAME);
    expect(namespace).toBe('ConnectTaskIngest');
    expect(findAlarm(namespace, 'TransfersFailed', ['service', service])).toBeDefined();
  });

  it('alarms on the over-quota share OverQuota / (TasksCreated + OverQuota) with metric math', () => {
    // Prepare
    const service = String(envOf('ingest').POWERTOOLS_SERVICE_NAME);
    const mathAlarm = alarms().find((a) => Array.isArray(property(a, ['Metrics'])));
    const metrics = asArray(
      property(mathAlarm as CfnResource, ['Metrics']) as Array<Record<string, unknown>>,
    );

    // Act
    const byName = new Map(
      metrics
        .filter((m) => m.MetricStat)
        .map((m) => {
          const metric = (m.MetricStat as { Metric: Record<string, unknown> }).Metric;
          return [String(metric.MetricName), { id: String(m.Id), metric }] as const;
        }),
    );
    const expression = metrics.find((m) => m.ReturnData === true)?.Expression;

    // Assess
    expect(mathAlarm).toBeDefined();
    const created = byName.get('TasksCreated');
    const overQuota = byName.get('OverQuota');
    expect(created && overQuota).toBeTruthy();
    for (const entry of [created, overQuota]) expect(entry?.metric.Namespace).toBe('ConnectTaskIngest');
    expect(created?.metric.Dimensions).toEqual([{ Name: 'service', Value: service }]);
    // OverQuota is emitted as a single metric with the failure code dimension (lib/observability/ports.ts).
    expect(overQuota?.metric.Dimensions).toEqual([
      { Name: 'service', Value: service },
      { Name: 'code', Value: 'ServiceQuotaExceededException' },
    ]);
    expect(typeof expression).toBe('string');
    expect(expression).toContain(`${overQuota?.id}`);
    expect(expression).toContain(`/ (FILL(${created?.id}, 0) + FILL(${overQuota?.id}, 0))`);
  });

  it('leaves the alarms without actions when alarmTopicArn is empty', () => {
    expect(alarms().length).toBeGreaterThan(0);
    for (const alarm of alarms()) {
      for (const key of ['AlarmActions', 'OKActions']) {
        expect(property(alarm, [key]), `${String(property(alarm, ['AlarmName']))} ${key}`).toEqual([]);
      }
    }
  });

  it('notifies alarmTopicArn of every alarm and OK when it is set', () => {
    // Act
    const withTopic = alarms(templateWith({ alarmTopicArn: ALARM_TOPIC_ARN }));

    // Assess
    expect(withTopic).toHaveLength(alarms().length);
    for (const alarm of withTopic) {
      for (const key of ['AlarmActions', 'OKActions']) {
        expect(property(alarm, [key]), `${String(property(alarm, ['AlarmName']))} ${key}`).toEqual([
          ALARM_TOPIC_ARN,
        ]);
      }
    }
  });

  it('refuses an alarmTopicArn that is no SNS topic ARN', () => {
    expect(() => templateWith({ alarmTopicArn: 'ops-alerts' })).toThrow(
      /alarmTopicArn must be empty or an SNS topic ARN/,
    );
  });

  it('outputs the queue URLs and ARNs and every table name', () => {
    // Prepare
    const expected: Record<string, string> = {
      IngestQueueUrl: '{IngestQueue}',
      IngestQueueArn: '{IngestQueue.Arn}',
      IngestUrgentQueueUrl: '{IngestUrgentQueue}',
      IngestUrgentQueueArn: '{IngestUrgentQueue.Arn}',
      IngestBulkQueueUrl: '{IngestBulkQueue}',
      IngestBulkQueueArn: '{IngestBulkQueue.Arn}',
      DeadLetterQueueUrl: '{DeadLetterQueue}',
      DeadLetterQueueArn: '{DeadLetterQueue.Arn}',
      RulesTableName: '{RulesTable}',
      IdempotencyTableName: '{IdempotencyTable}',
      LedgerTableName: '{LedgerTable}',
      TransfersTableName: '{TransfersTable}',
    };

    // Act
    const actual = Object.fromEntries(
      Object.keys(expected).map((key) => [key, renderValue(template.Outputs?.[key]?.Value)]),
    );

    // Assess
    expect(actual).toEqual(expected);
  });

  it('routes "Transfer Requested" events from EventBridge to the transfer function', () => {
    // Act
    const rules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, r]) => {
      const pattern = property(r, ['EventPattern']) as Record<string, unknown> | undefined;
      return pattern !== undefined && asArray(pattern['detail-type']).includes('Transfer Requested');
    });

    // Assess
    expect(rules).toHaveLength(1);
    const targets = asArray(property(rules[0]?.[1] as CfnResource, ['Targets'])) as Array<{ Arn: unknown }>;
    expect(targets.map((t) => renderValue(t.Arn))).toEqual([`{${FUNCTIONS.transfer}.Arn}`]);
  });

  it('runs one transfer function instance at a time, so its rate shaping holds account-wide', () => {
    expect(property(resource(template, FUNCTIONS.transfer), ['ReservedConcurrentExecutions'])).toBe(1);
  });
});

describe('task schedules (EventBridge Scheduler, custom.taskSchedules)', () => {
  const schedules = () => resourcesOfType(template, 'AWS::Scheduler::Schedule');

  it('deploys every declared schedule in the stage schedule group', () => {
    // Prepare
    const declared = parseTaskSchedules(loadServerlessConfig({ stage: 'dev' }).custom.taskSchedules);
    const groups = resourcesOfType(template, 'AWS::Scheduler::ScheduleGroup');

    // Assess
    expect(declared.length).toBeGreaterThan(0);
    expect(
      schedules()
        .map(([, s]) => property(s, ['Name']))
        .sort(),
    ).toEqual(declared.map((s) => s.name).sort());
    expect(groups.map(([id]) => id)).toEqual(['TaskScheduleGroup']);
    expect(property(groups[0]?.[1] as CfnResource, ['Name'])).toBe('connect-task-ingest-dev-tasks');
    for (const [id, schedule] of schedules()) {
      expect(renderValue(property(schedule, ['GroupName'])), id).toBe('{TaskScheduleGroup}');
      expect(property(schedule, ['ScheduleExpressionTimezone']), id).toMatch(/^[A-Za-z_]+(\/[A-Za-z_+-]+)*$/);
    }
  });

  it('targets only the ingest queue (the normal lane), with the occurrence time in the message', () => {
    for (const [id, schedule] of schedules()) {
      const target = property(schedule, ['Target']) as { Arn: unknown; RoleArn: unknown; Input: string };
      expect(renderValue(target.Arn), id).toBe('{IngestQueue.Arn}');
      expect(renderValue(target.RoleArn), id).toBe('{TaskSchedulerRole.Arn}');
      const input = JSON.parse(target.Input) as Record<string, unknown>;
      expect(input.specversion, id).toBe('1.0');
      expect(input.time, id).toBe('<aws.scheduler.scheduled-time>');
      expect(input.id, id).toBe(`${String(property(schedule, ['Name']))}@<aws.scheduler.scheduled-time>`);
    }
  });

  it('runs the schedules with a role only EventBridge Scheduler of this account can assume', () => {
    const role = resource(template, 'TaskSchedulerRole');
    const trust = property(role, ['AssumeRolePolicyDocument', 'Statement']) as Array<Record<string, unknown>>;
    expect(trust).toHaveLength(1);
    expect(trust[0]?.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(asArray(trust[0]?.Action as string | string[])).toEqual(['sts:AssumeRole']);
    expect(trust[0]?.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  it('lets the Scheduler role do nothing but sqs:SendMessage to the SSE-SQS ingest queue (no KMS grant needed)', () => {
    // Act
    const grants = statementsOfRole('TaskSchedulerRole').flatMap(({ statement }) =>
      resourcesOf(statement).flatMap((arn) =>
        actionsOf(statement).map((a) => `${statement.Effect} ${a} ${arn}`),
      ),
    );

    // Assess
    expect(grants).toEqual(['Allow sqs:SendMessage {IngestQueue.Arn}']);
    expect(property(resource(template, 'IngestQueue'), ['SqsManagedSseEnabled'])).toBe(true);
    expect(property(resource(template, 'IngestQueue'), ['KmsMasterKeyId'])).toBeUndefined();
  });

  it('keeps the sample schedules (source com.example.calendar) disabled on a real stage', () => {
    const samples = schedules().filter(([, s]) =>
      String((property(s, ['Target']) as { Input: string }).Input).includes(
        '"source":"com.example.calendar"',
      ),
    );
    expect(samples.length).toBeGreaterThan(0);
    for (const [id, schedule] of samples) expect(property(schedule, ['State']), id).toBe('DISABLED');
  });
});

describe('lint-clean template (cfn-lint, npm run lint:template)', () => {
  it('declares no DependsOn that a Ref, GetAtt or Sub in the resource already implies (W3005)', () => {
    // Act
    const redundant = Object.entries(template.Resources).flatMap(([id, r]) => {
      const implied = referencedIds(r.Properties);
      return asArray(r.DependsOn)
        .filter((dependency) => implied.has(dependency))
        .map((dependency) => `${id} -> ${dependency}`);
    });

    // Assess
    expect(redundant).toEqual([]);
    for (const name of Object.keys(FUNCTIONS) as Array<keyof typeof FUNCTIONS>) {
      expect(functionRoleId(fn(name))).toBeDefined();
    }
  });

  it('has no template condition on a param, which packaging would make constant (W8003)', () => {
    for (const of of [template, templateWith(lintTemplate.PROD_PARAMS, 'prod')]) {
      expect(of.Conditions ?? {}).toEqual({});
      expect(JSON.stringify(of.Resources)).not.toContain('"Fn::If"');
    }
  });

  it('lints a prod packaging with every optional param set, each of them a param of serverless.yml', () => {
    // Prepare
    const defaults = loadServerlessConfig({ stage: 'prod' }).params;
    const optional = Object.keys(defaults).filter((name) => defaults[name] === '');

    // Act
    const linted = Object.keys(lintTemplate.PROD_PARAMS);

    // Assess: the options that are off by default, and the instance list, are all set.
    expect(optional.length).toBeGreaterThan(0);
    expect(linted).toEqual(expect.arrayContaining([...optional, 'connectInstanceId', 'connectInstanceIds']));
    expect(linted.filter((name) => !(name in defaults))).toEqual([]);
    for (const name of optional) expect(lintTemplate.PROD_PARAMS[name], name).not.toBe('');
  });
});
