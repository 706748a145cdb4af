/**
 * Creates the queues, tables, event buses and rules declared in serverless.yml's
 * `resources.Resources` on the sandbox, so local and deployed shapes cannot drift: queues and tables
 * through the real AWS SDK clients, buses and rules on the EventBridge emulator (which has no API to
 * create them).
 *
 * Only the resource types the sandbox emulates are created (AWS::SQS::Queue, AWS::DynamoDB::Table,
 * AWS::Events::EventBus, AWS::Events::Rule with SQS targets); IAM roles, queue policies, alarms and
 * topics are AWS-only and skipped. CloudFormation intrinsics used by those resources (Ref,
 * Fn::GetAtt, Fn::Sub, Fn::Join, pseudo parameters) are resolved here; the same resolver turns the
 * functions' environment into plain strings. Refs as CloudFormation returns them: a queue's URL, a
 * table's and a bus's name, a rule's id (`<bus>|<rule>`, or the rule's name on the default bus).
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import { SandboxError } from './errors.ts';
import type { EventsEmulator } from './events/emulator.ts';

class ResourceDeployError extends SandboxError {}

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

interface DeployedQueue {
  logicalId: string;
  name: string;
  url: string;
  arn: string;
}
interface DeployedTable {
  logicalId: string;
  name: string;
  arn: string;
}

interface DeployedBus {
  logicalId: string;
  name: string;
  arn: string;
}
interface DeployedRule {
  logicalId: string;
  name: string;
  arn: string;
  busName: string;
}

export interface DeployedResources {
  queues: Record<string, DeployedQueue>;
  tables: Record<string, DeployedTable>;
  buses: Record<string, DeployedBus>;
  rules: Record<string, DeployedRule>;
  /** Resolves any CloudFormation value (intrinsics included) against what was deployed. */
  resolve(value: unknown): unknown;
  /** Like `resolve`, for values that must be strings (environment variables). */
  resolveString(value: unknown, where: string): string;
}

export interface DeployOptions {
  resources: Record<string, unknown>;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
  /** Where buses and rules are created. */
  events: Pick<EventsEmulator, 'createBus' | 'putRule'>;
  region: string;
  accountId: string;
  stackName: string;
}

const QUEUE_PROPERTIES: Record<string, QueueAttributeName> = {
  DelaySeconds: 'DelaySeconds',
  MaximumMessageSize: 'MaximumMessageSize',
  MessageRetentionPeriod: 'MessageRetentionPeriod',
  ReceiveMessageWaitTimeSeconds: 'ReceiveMessageWaitTimeSeconds',
  VisibilityTimeout: 'VisibilityTimeout',
  RedrivePolicy: 'RedrivePolicy',
  RedriveAllowPolicy: 'RedriveAllowPolicy',
  SqsManagedSseEnabled: 'SqsManagedSseEnabled',
};

/** A reference to a resource not created yet: its creation waits a round. */
class Unresolved extends Error {}

/** What a deployment knows so far: the template, the pseudo parameters and what was created. */
interface Deployment {
  options: DeployOptions;
  all: Record<string, CfnResource>;
  pseudo: Record<string, string>;
  queues: Record<string, DeployedQueue>;
  tables: Record<string, DeployedTable>;
  buses: Record<string, DeployedBus>;
  rules: Record<string, DeployedRule>;
}

export async function deployResources(options: DeployOptions): Promise<DeployedResources> {
  const { region, accountId, stackName } = options;
  const d: Deployment = {
    options,
    all: options.resources as Record<string, CfnResource>,
    pseudo: {
      'AWS::Region': region,
      'AWS::AccountId': accountId,
      'AWS::Partition': 'aws',
      'AWS::StackName': stackName,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::NoValue': '',
    },
    queues: {},
    tables: {},
    buses: {},
    rules: {},
  };
  await createInDependencyOrder(d);
  const resolveValue = (value: unknown) => resolve(d, value);
  return {
    queues: d.queues,
    tables: d.tables,
    buses: d.buses,
    rules: d.rules,
    resolve: resolveValue,
    resolveString(value, where) {
      const out = resolveValue(value);
      if (out === undefined || out === null || typeof out === 'object') {
        throw new ResourceDeployError(`${where} does not resolve to a string in the sandbox`);
      }
      return String(out);
    },
  };
}

type Creator = (d: Deployment, id: string, props: Record<string, unknown>) => Promise<void>;

/** What the sandbox creates, by type, in this order (rules last: they name buses and queues). */
const CREATORS: ReadonlyArray<[type: string, create: Creator]> = [
  ['AWS::SQS::Queue', createQueue],
  ['AWS::DynamoDB::Table', createTable],
  ['AWS::Events::EventBus', async (d, id, props) => createEventBus(d, id, props)],
  ['AWS::Events::Rule', async (d, id, props) => createRule(d, id, props)],
];

/** Creates the resources; one whose intrinsics point at one not yet created waits a round. */
async function createInDependencyOrder(d: Deployment): Promise<void> {
  const rank = (type: string) => CREATORS.findIndex(([t]) => t === type);
  let pending = Object.entries(d.all)
    .filter(([, r]) => rank(r.Type) >= 0)
    .sort(([, a], [, b]) => rank(a.Type) - rank(b.Type));
  while (pending.length > 0) {
    const next: typeof pending = [];
    for (const [id, resource] of pending) {
      const create = CREATORS[rank(resource.Type)]?.[1] as Creator;
      try {
        await create(d, id, resource.Properties ?? {});
      } catch (error) {
        if (error instanceof Unresolved) next.push([id, resource]);
        else
          throw new ResourceDeployError(
            `creating ${id} (${resource.Type}) failed: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
      }
    }
    if (next.length === pending.length) {
      throw new ResourceDeployError(
        `circular or unsatisfiable references among: ${next.map(([id]) => id).join(', ')}`,
      );
    }
    pending = next;
  }
}

/** Resolves any CloudFormation value: intrinsics (one-key objects) inside arrays and objects included. */
function resolve(d: Deployment, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(d, item));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  const key = keys[0] as string;
  if (keys.length === 1 && Object.hasOwn(INTRINSICS, key)) return (INTRINSICS[key] as Intrinsic)(d, obj[key]);
  if (keys.length === 1 && (key.startsWith('Fn::') || key === 'Condition')) {
    throw new ResourceDeployError(`${key} is not supported by the sandbox's resource resolver`);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolve(d, v)]));
}

type Intrinsic = (d: Deployment, arg: unknown) => unknown;

const ref: Intrinsic = (d, arg) => {
  const id = String(arg);
  if (id in d.pseudo) return d.pseudo[id];
  if (d.queues[id]) return d.queues[id].url;
  if (d.tables[id]) return d.tables[id].name;
  if (d.buses[id]) return d.buses[id].name;
  const rule = d.rules[id];
  if (rule) return rule.busName === 'default' ? rule.name : `${rule.busName}|${rule.name}`;
  if (id in d.all) throw new Unresolved(id);
  throw new ResourceDeployError(`Ref to unknown resource "${id}"`);
};

const getAtt: Intrinsic = (d, arg) => {
  const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
  if (!id || !attr) throw new ResourceDeployError(`malformed Fn::GetAtt ${JSON.stringify(arg)}`);
  const queue = d.queues[id];
  if (queue) {
    if (attr === 'Arn') return queue.arn;
    if (attr === 'QueueName') return queue.name;
    if (attr === 'QueueUrl') return queue.url;
  }
  const table = d.tables[id];
  if (table && attr === 'Arn') return table.arn;
  const bus = d.buses[id];
  if (bus && (attr === 'Arn' || attr === 'Name')) return attr === 'Arn' ? bus.arn : bus.name;
  const rule = d.rules[id];
  if (rule && attr === 'Arn') return rule.arn;
  if (id in d.all && !queue && !table && !bus && !rule) throw new Unresolved(id);
  throw new ResourceDeployError(`Fn::GetAtt ${id}.${attr} is not supported by the sandbox`);
};

const sub: Intrinsic = (d, arg) => {
  const [template, vars] = Array.isArray(arg)
    ? [String(arg[0]), (arg[1] ?? {}) as Record<string, unknown>]
    : [String(arg), {}];
  return template.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
    if (name in vars) return String(resolve(d, vars[name]));
    if (name.includes('.')) {
      const [id, attr] = name.split('.');
      return String(getAtt(d, [id, attr]));
    }
    return String(ref(d, name));
  });
};

const join: Intrinsic = (d, arg) => {
  const [sep, list] = arg as [string, unknown[]];
  return (resolve(d, list) as unknown[]).map(String).join(sep);
};

const INTRINSICS: Readonly<Record<string, Intrinsic>> = {
  Ref: ref,
  'Fn::GetAtt': getAtt,
  'Fn::Sub': sub,
  'Fn::Join': join,
};

async function createQueue(d: Deployment, id: string, props: Record<string, unknown>): Promise<void> {
  const { options } = d;
  const resolved = resolve(d, props) as Record<string, unknown>;
  const name = String(resolved.QueueName ?? `${options.stackName}-${id}`);
  const attributes: Partial<Record<QueueAttributeName, string>> = {};
  for (const [prop, attr] of Object.entries(QUEUE_PROPERTIES)) {
    const v = resolved[prop];
    if (v === undefined) continue;
    attributes[attr] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  const out = await options.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!out.QueueUrl) throw new ResourceDeployError(`CreateQueue ${name} returned no QueueUrl`);
  d.queues[id] = {
    logicalId: id,
    name,
    url: out.QueueUrl,
    arn: `arn:aws:sqs:${options.region}:${options.accountId}:${name}`,
  };
}

async function createTable(d: Deployment, id: string, props: Record<string, unknown>): Promise<void> {
  const { options } = d;
  const p = resolve(d, props) as Record<string, unknown>;
  const name = String(p.TableName ?? `${options.stackName}-${id}`);
  const gsis = (p.GlobalSecondaryIndexes as GlobalSecondaryIndex[] | undefined)?.map((g) => ({
    IndexName: g.IndexName,
    KeySchema: g.KeySchema,
    Projection: g.Projection,
  }));
  const input: CreateTableCommandInput = {
    TableName: name,
    AttributeDefinitions: p.AttributeDefinitions as AttributeDefinition[],
    KeySchema: p.KeySchema as KeySchemaElement[],
    BillingMode: 'PAY_PER_REQUEST',
    ...(gsis?.length ? { GlobalSecondaryIndexes: gsis } : {}),
  };
  try {
    await options.dynamodb.send(new CreateTableCommand(input));
  } catch (error) {
    // A persisted data dir already holds the table: that is fine, the shape is the same.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (ttl?.AttributeName) {
    await options.dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: ttl.Enabled ?? true },
      }),
    );
  }
  const described = await options.dynamodb.send(new DescribeTableCommand({ TableName: name }));
  d.tables[id] = {
    logicalId: id,
    name,
    arn: described.Table?.TableArn ?? `arn:aws:dynamodb:${options.region}:${options.accountId}:table/${name}`,
  };
}

function createEventBus(d: Deployment, id: string, props: Record<string, unknown>): void {
  const p = resolve(d, props) as Record<string, unknown>;
  if (typeof p.Name !== 'string') throw new ResourceDeployError('an AWS::Events::EventBus needs a Name');
  if (p.EventSourceName !== undefined) {
    throw new ResourceDeployError('partner event buses (EventSourceName) are not supported by the sandbox');
  }
  d.buses[id] = { logicalId: id, ...d.options.events.createBus(p.Name) };
}

/** Target properties the sandbox honours; any other (Input, InputTransformer, RetryPolicy…) is refused. */
const TARGET_KEYS = new Set(['Id', 'Arn']);

function createRule(d: Deployment, id: string, props: Record<string, unknown>): void {
  const p = resolve(d, props) as Record<string, unknown>;
  if (p.ScheduleExpression !== undefined) {
    throw new ResourceDeployError(
      "scheduled rules are not created by the sandbox; declare a function's `schedule` event instead",
    );
  }
  const targets = (p.Targets ?? []) as Array<Record<string, unknown>>;
  for (const target of targets) {
    const extra = Object.keys(target).filter((key) => !TARGET_KEYS.has(key));
    if (extra.length > 0) {
      throw new ResourceDeployError(`target properties the sandbox does not support: ${extra.join(', ')}`);
    }
  }
  const name = String(p.Name ?? `${d.options.stackName}-${id}`.slice(0, 64));
  const bus = String(p.EventBusName ?? 'default');
  const rule = d.options.events.putRule({
    name,
    busName: bus,
    eventPattern: p.EventPattern,
    ...(p.State !== undefined && { state: String(p.State) }),
    ...(p.Description !== undefined && { description: String(p.Description) }),
    targets: targets.map((t) => ({ id: String(t.Id), arn: String(t.Arn) })),
  });
  d.rules[id] = { logicalId: id, ...rule };
}
