/**
 * The embedded sandbox: DynamoDB (dynalite), SQS, EventBridge and Connect emulators behind one
 * loopback edge endpoint, with the queues, tables, event buses and rules of serverless.yml created
 * on it. The Connect emulator publishes its contact events on the sandbox EventBridge's default bus.
 *
 *   const sandbox = await startSandbox({ port: 0 });   // port 0: any free port (tests in parallel)
 *   process.env.AWS_ENDPOINT_URL = sandbox.endpoint;   // the AWS SDK v3 then talks to the sandbox
 *   ...
 *   await sandbox.stop();
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { loadServerlessConfig, type ServerlessConfig } from '#common/serverless-config.ts';
import { type AdminExtension, createAdminHandler } from './admin.ts';
import { type ConnectEmulator, createConnectEmulator, loadWorld } from './connect/emulator.ts';
import { type EdgeRoutes, startEdge } from './edge.ts';
import { createEventsEmulator, type EventsEmulator } from './events/emulator.ts';
import { type DeployedResources, deployResources } from './resources.ts';
import { createSqsEmulator, type SqsEmulator } from './sqs/emulator.ts';

const SANDBOX_REGION = 'us-east-1';
const SANDBOX_ACCOUNT_ID = '000000000000';
const DEFAULT_SANDBOX_PORT = 4566;
export const SANDBOX_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
/** Connect publishes contact events on the account's default event bus. */
const DEFAULT_EVENT_BUS = 'default';
/** How often (real ms) the Connect emulator runs what has come due on its clock, besides clock moves. */
const AUTO_SWEEP_MS = 1000;
/** The SenderId of the messages EventBridge rules send to queues: the service principal. */
const EVENTBRIDGE_SENDER_ID = 'events.amazonaws.com';

export interface SandboxOptions {
  /**
   * 0 = any free port.
   * @default SANDBOX_PORT or 4566
   */
  port?: number;
  /**
   * Persist DynamoDB data in this folder.
   * @default in memory
   */
  dataDir?: string;
  /**
   * Stage used to name resources from serverless.yml.
   * @default 'local'
   */
  stage?: string;
  serverlessPath?: string;
  worldPath?: string;
  /** Overrides for serverless.yml's `${param:...}` (as `--param key=value`), e.g. `{ startTaskRate: '20' }`. */
  params?: Record<string, string>;
  /**
   * Random numbers in [0, 1) for every injected fault (SQS duplicate deliveries, Connect errors and
   * lost responses, contact event faults, DynamoDB errors); chaos runs pass a seeded generator.
   * Default Math.random.
   */
  random?: () => number;
}

export interface Sandbox {
  endpoint: string;
  region: string;
  stage: string;
  config: ServerlessConfig;
  resources: DeployedResources;
  sqs: SqsEmulator;
  events: EventsEmulator;
  connect: ConnectEmulator;
  /** provider.environment of serverless.yml, resolved against the sandbox, plus endpoint and credentials. */
  environment: Record<string, string>;
  /** The environment one function sees (provider + function environment). */
  functionEnvironment(name: string): Record<string, string>;
  clients: { sqs: SQSClient; dynamodb: DynamoDBClient };
  addAdminRoute(extension: AdminExtension): void;
  setDynamoDbErrorRate(rate: number): void;
  /** Stops the servers; contact events still delayed by a fault are delivered first, not dropped. */
  stop(): Promise<void>;
}

export function sandboxPortFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SANDBOX_PORT;
  if (raw === undefined || raw === '') return DEFAULT_SANDBOX_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`SANDBOX_PORT must be an integer 0..65535, got "${raw}"`);
  }
  return port;
}

/**
 * Starts the emulators behind one edge endpoint and deploys serverless.yml's queues and tables on it.
 * On a failed deployment everything started is closed again before the error is thrown.
 *
 * @param options - port, stage, persistence folder and emulator settings; every field is optional.
 * @returns the running sandbox: its endpoint, the deployed resources and `stop()`.
 * @example
 * const sandbox = await startSandbox({ port: 0 }); // any free port on 127.0.0.1
 * process.env.AWS_ENDPOINT_URL = sandbox.endpoint;
 * // ... SDK clients now talk to the sandbox ...
 * await sandbox.stop();
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const stage = options.stage ?? 'local';
  const config = loadServerlessConfig({
    ...(options.serverlessPath ? { path: options.serverlessPath } : {}),
    ...(options.params ? { params: options.params } : {}),
    stage,
  });
  const random = options.random;
  const sqs = createSqsEmulator({
    accountId: SANDBOX_ACCOUNT_ID,
    region: SANDBOX_REGION,
    ...(random ? { random } : {}),
  });
  const events = createEventsEmulator({
    accountId: SANDBOX_ACCOUNT_ID,
    region: SANDBOX_REGION,
    deliver: (queueArn, body) => sqs.sendToArn(queueArn, body, EVENTBRIDGE_SENDER_ID),
  });
  const connect = createConnectEmulator({
    world: loadWorld(options.worldPath),
    ...(random ? { random } : {}),
    contactEvents: (event) => events.publish(DEFAULT_EVENT_BUS, event),
    autoSweepMs: AUTO_SWEEP_MS,
  });
  const dynamo = await startDynalite(options.dataDir);
  const extensions: AdminExtension[] = [];
  // The admin routes run on requests through the edge, so after `edge` below is set.
  const setDynamoDbErrorRate = (rate: number) => {
    if (!(rate >= 0 && rate <= 1)) throw new TypeError('dynamodbErrorRate must be within 0..1');
    edge.faults.dynamodbErrorRate = rate;
  };
  const admin = createAdminHandler({
    stage,
    endpoint: () => edge.endpoint,
    sqs,
    events,
    connect,
    extensions,
    dynamodbErrorRate: () => edge.faults.dynamodbErrorRate,
    setDynamoDbErrorRate,
  });
  const edge = await startEdge(
    { dynamodb: dynamo.listener, sqs: sqs.handle, events: events.handle, connect, admin },
    options.port ?? sandboxPortFromEnv(),
    random,
  );
  const clientConfig = { endpoint: edge.endpoint, region: SANDBOX_REGION, credentials: SANDBOX_CREDENTIALS };
  const clients = { sqs: new SQSClient(clientConfig), dynamodb: new DynamoDBClient(clientConfig) };
  const stop = async () => {
    connect.close();
    clients.sqs.destroy();
    clients.dynamodb.destroy();
    await edge.close();
    await dynamo.close();
  };
  const resources = await deployResources({
    resources: config.resources.Resources,
    sqs: clients.sqs,
    dynamodb: clients.dynamodb,
    events,
    region: SANDBOX_REGION,
    accountId: SANDBOX_ACCOUNT_ID,
    stackName: `${config.service}-${stage}`,
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  const environments = sandboxEnvironments(config, resources, edge.endpoint);
  return {
    endpoint: edge.endpoint,
    region: SANDBOX_REGION,
    stage,
    config,
    resources,
    sqs,
    events,
    connect,
    environment: environments.provider,
    functionEnvironment: environments.ofFunction,
    clients,
    addAdminRoute(extension) {
      extensions.push(extension);
    },
    setDynamoDbErrorRate,
    stop,
  };
}

/**
 * dynalite listens on a private loopback port only so that its close() also closes its store;
 * requests reach it through the edge, which hands them to its listener directly.
 */
async function startDynalite(dataDir: string | undefined) {
  const dynamo = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(dataDir ? { path: dataDir } : {}),
  });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  return {
    listener: dynamo.listeners('request')[0] as EdgeRoutes['dynamodb'],
    close: () => new Promise<void>((resolve) => dynamo.close(() => resolve())),
  };
}

/** provider.environment resolved against the sandbox, and per function with its own environment on top. */
function sandboxEnvironments(config: ServerlessConfig, resources: DeployedResources, endpoint: string) {
  const baseEnv: Record<string, string> = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: SANDBOX_REGION,
    AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
  };
  const resolveEnv = (env: Record<string, unknown> | undefined, where: string) =>
    Object.fromEntries(
      Object.entries(env ?? {}).map(([k, v]) => [k, resources.resolveString(v, `${where}.${k}`)]),
    ) as Record<string, string>;
  const provider = { ...resolveEnv(config.provider.environment, 'provider.environment'), ...baseEnv };
  return {
    provider,
    ofFunction(name: string): Record<string, string> {
      const fn = config.functions[name];
      if (!fn) throw new TypeError(`serverless.yml has no function "${name}"`);
      return { ...provider, ...resolveEnv(fn.environment, `functions.${name}.environment`), ...baseEnv };
    },
  };
}
