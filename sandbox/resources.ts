/**
 * Creates the queues and tables declared in serverless.yml's `resources.Resources` on the sandbox,
 * through the real AWS SDK clients, so local and deployed shapes cannot drift.
 *
 * Only the resource types the sandbox emulates are created (AWS::SQS::Queue, AWS::DynamoDB::Table);
 * IAM roles, alarms and topics are AWS-only and skipped. CloudFormation intrinsics used by those
 * resources (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, pseudo parameters) are resolved here; the same
 * resolver turns the functions' environment into plain strings.
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

export class ResourceDeployError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ResourceDeployError';
  }
}

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface DeployedQueue {
  logicalId: string;
  name: string;
  url: string;
  arn: string;
}
export interface DeployedTable {
  logicalId: string;
  name: string;
  arn: string;
}

export interface DeployedResources {
  queues: Record<string, DeployedQueue>;
  tables: Record<string, DeployedTable>;
  /** Resolves any CloudFormation value (intrinsics included) against what was deployed. */
  resolve(value: unknown): unknown;
  /** Like `resolve`, for values that must be strings (environment variables). */
  resolveString(value: unknown, where: string): string;
}

export interface DeployOptions {
  resources: Record<string, unknown>;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
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

class Unresolved extends Error {}

export async function deployResources(options: DeployOptions): Promise<DeployedResources> {
  const { region, accountId, stackName } = options;
  const all = options.resources as Record<string, CfnResource>;
  const queues: Record<string, DeployedQueue> = {};
  const tables: Record<string, DeployedTable> = {};

  const pseudo: Record<string, string> = {
    'AWS::Region': region,
    'AWS::AccountId': accountId,
    'AWS::Partition': 'aws',
    'AWS::StackName': stackName,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::NoValue': '',
  };

  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const key = keys[0] as string;
      const arg = obj[key];
      switch (key) {
        case 'Ref': {
          const id = String(arg);
          if (id in pseudo) return pseudo[id];
          if (queues[id]) return queues[id].url;
          if (tables[id]) return tables[id].name;
          if (id in all) throw new Unresolved(id);
          throw new ResourceDeployError(`Ref to unknown resource "${id}"`);
        }
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
          if (!id || !attr) throw new ResourceDeployError(`malformed Fn::GetAtt ${JSON.stringify(arg)}`);
          const queue = queues[id];
          if (queue) {
            if (attr === 'Arn') return queue.arn;
            if (attr === 'QueueName') return queue.name;
            if (attr === 'QueueUrl') return queue.url;
          }
          const table = tables[id];
          if (table && attr === 'Arn') return table.arn;
          if (id in all && !queue && !table) throw new Unresolved(id);
          throw new ResourceDeployError(`Fn::GetAtt ${id}.${attr} is not supported by the sandbox`);
        }
        case 'Fn::Sub': {
          const [template, vars] = Array.isArray(arg)
            ? [String(arg[0]), (arg[1] ?? {}) as Record<string, unknown>]
            : [String(arg), {}];
          return template.replace(/\$\{([^}!]+)\}/g, (_m, name: string) => {
            if (name in vars) return String(resolve(vars[name]));
            if (name.includes('.')) {
              const [id, attr] = name.split('.');
              return String(resolve({ 'Fn::GetAtt': [id, attr] }));
            }
            return String(resolve({ Ref: name }));
          });
        }
        case 'Fn::Join': {
          const [sep, list] = arg as [string, unknown[]];
          return (resolve(list) as unknown[]).map(String).join(sep);
        }
        default:
          if (key.startsWith('Fn::') || key === 'Condition') {
            throw new ResourceDeployError(`${key} is not supported by the sandbox's resource resolver`);
          }
      }
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolve(v)]));
  };

  const createQueue = async (id: string, props: Record<string, unknown>) => {
    const resolved = resolve(props) as Record<string, unknown>;
    const name = String(resolved.QueueName ?? `${stackName}-${id}`);
    const attributes: Partial<Record<QueueAttributeName, string>> = {};
    for (const [prop, attr] of Object.entries(QUEUE_PROPERTIES)) {
      const v = resolved[prop];
      if (v === undefined) continue;
      attributes[attr] = typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    const out = await options.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!out.QueueUrl) throw new ResourceDeployError(`CreateQueue ${name} returned no QueueUrl`);
    queues[id] = {
      logicalId: id,
      name,
      url: out.QueueUrl,
      arn: `arn:aws:sqs:${region}:${accountId}:${name}`,
    };
  };

  const createTable = async (id: string, props: Record<string, unknown>) => {
    const p = resolve(props) as Record<string, unknown>;
    const name = String(p.TableName ?? `${stackName}-${id}`);
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
    tables[id] = {
      logicalId: id,
      name,
      arn: described.Table?.TableArn ?? `arn:aws:dynamodb:${region}:${accountId}:table/${name}`,
    };
  };

  // Create in dependency order: a resource whose intrinsics point at one not yet created waits a round.
  let pending = Object.entries(all).filter(
    ([, r]) => r.Type === 'AWS::SQS::Queue' || r.Type === 'AWS::DynamoDB::Table',
  );
  while (pending.length > 0) {
    const next: typeof pending = [];
    for (const [id, resource] of pending) {
      try {
        if (resource.Type === 'AWS::SQS::Queue') await createQueue(id, resource.Properties ?? {});
        else await createTable(id, resource.Properties ?? {});
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

  return {
    queues,
    tables,
    resolve,
    resolveString(value, where) {
      const out = resolve(value);
      if (out === undefined || out === null || typeof out === 'object') {
        throw new ResourceDeployError(`${where} does not resolve to a string in the sandbox`);
      }
      return String(out);
    },
  };
}
