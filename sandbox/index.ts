/**
 * The embedded sandbox: DynamoDB (dynalite), SQS and Connect emulators behind one loopback edge
 * endpoint, with the queues and tables of serverless.yml created on it.
 *
 *   const sandbox = await startSandbox({ port: 0 });   // port 0: any free port (tests in parallel)
 *   process.env.AWS_ENDPOINT_URL = sandbox.endpoint;   // the AWS SDK v3 then talks to the sandbox
 *   ...
 *   await sandbox.stop();
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { advanceClock, clockOffsetMs, now } from '#lib/clock.ts';
import { type ConnectEmulator, createConnectEmulator, loadWorld } from './connect/emulator.ts';
import { awsJsonError, startEdge } from './edge.ts';
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from './http-types.ts';
import { type DeployedResources, deployResources } from './resources.ts';
import { loadServerlessConfig, type ServerlessConfig } from './serverless-config.ts';
import { createSqsEmulator, type SqsEmulator } from './sqs/emulator.ts';

export const SANDBOX_REGION = 'us-east-1';
export const SANDBOX_ACCOUNT_ID = '000000000000';
export const DEFAULT_SANDBOX_PORT = 4566;
export const SANDBOX_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface SandboxOptions {
  /** 0 = any free port. Default: SANDBOX_PORT or 4566. */
  port?: number;
  /** Persist DynamoDB data in this folder (default: in memory). */
  dataDir?: string;
  /** Stage used to name resources from serverless.yml (default 'local'). */
  stage?: string;
  serverlessPath?: string;
  worldPath?: string;
  /** Overrides for serverless.yml's `${param:...}` (as `--param key=value`), e.g. `{ startTaskRate: '20' }`. */
  params?: Record<string, string>;
  /**
   * Random numbers in [0, 1) for every injected fault (SQS duplicate deliveries, Connect errors and
   * lost responses, DynamoDB errors); chaos runs pass a seeded generator. Default Math.random.
   */
  random?: () => number;
}

/** Extra admin routes (the pipeline adds /_sandbox/schedules). Return undefined to fall through. */
export type AdminExtension = (req: EmulatorRequest) => Promise<EmulatorResponse | undefined>;

export interface Sandbox {
  endpoint: string;
  region: string;
  stage: string;
  config: ServerlessConfig;
  resources: DeployedResources;
  sqs: SqsEmulator;
  connect: ConnectEmulator;
  /** provider.environment of serverless.yml, resolved against the sandbox, plus endpoint and credentials. */
  environment: Record<string, string>;
  /** The environment one function sees (provider + function environment). */
  functionEnvironment(name: string): Record<string, string>;
  clients: { sqs: SQSClient; dynamodb: DynamoDBClient };
  addAdminRoute(extension: AdminExtension): void;
  setDynamoDbErrorRate(rate: number): void;
  stop(): Promise<void>;
}

function ok(body: unknown): EmulatorResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function parseJson(req: EmulatorRequest): Record<string, unknown> {
  const text = req.body.toString('utf8').trim();
  if (text === '') return {};
  const value = JSON.parse(text) as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new TypeError('expected a JSON object');
  return value as Record<string, unknown>;
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
  const connect = createConnectEmulator({
    world: loadWorld(options.worldPath),
    ...(random ? { random } : {}),
  });

  const dynamo = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir ? { path: options.dataDir } : {}),
  });
  // dynalite listens on a private loopback port only so that its close() also closes its store;
  // requests reach it through the edge, which hands them to its listener directly.
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
  const dynamoListener = dynamo.listeners('request')[0] as Parameters<typeof startEdge>[0]['dynamodb'];

  const extensions: AdminExtension[] = [];
  let edgeFaults: { dynamodbErrorRate: number } | undefined;

  const admin: EmulatorHandler = async (req) => {
    try {
      for (const ext of extensions) {
        const out = await ext(req);
        if (out) return out;
      }
      const path = req.path.replace(/\/+$/, '');
      if (path === '/_sandbox/health') return ok({ ok: true, endpoint: edge.endpoint, stage });
      if (path === '/_sandbox/clock') {
        if (req.method === 'POST') {
          const body = parseJson(req);
          const ms = Number(body.advanceMs ?? 0) + Number(body.advanceSeconds ?? 0) * 1000;
          if (!Number.isFinite(ms) || ms < 0) {
            return awsJsonError(400, 'InvalidParameterException', 'advanceMs/advanceSeconds must be ≥ 0');
          }
          advanceClock(ms);
        }
        return ok({ now: new Date(now()).toISOString(), offsetMs: clockOffsetMs() });
      }
      if (path === '/_sandbox/queues') return ok({ queues: sqs.stats() });
      if (path === '/_sandbox/faults') {
        if (req.method === 'PUT' || req.method === 'POST') {
          const body = parseJson(req);
          if (body.dynamodbErrorRate !== undefined)
            sandbox.setDynamoDbErrorRate(Number(body.dynamodbErrorRate));
          if (body.sqsDuplicateDeliveryRate !== undefined) {
            sqs.setFaults({ duplicateDeliveryRate: Number(body.sqsDuplicateDeliveryRate) });
          }
        }
        return ok({ dynamodbErrorRate: edgeFaults?.dynamodbErrorRate ?? 0 });
      }
      if (path === '/_sandbox/reset' && req.method === 'POST') {
        sqs.reset();
        sqs.setFaults({ duplicateDeliveryRate: 0 });
        sandbox.setDynamoDbErrorRate(0);
        return connect.admin(req);
      }
      return connect.admin(req);
    } catch (error) {
      return awsJsonError(400, 'InvalidParameterException', `bad admin request: ${(error as Error).message}`);
    }
  };

  const edge = await startEdge(
    { dynamodb: dynamoListener, sqs: sqs.handle, connect, admin },
    options.port ?? sandboxPortFromEnv(),
    random,
  );
  edgeFaults = edge.faults;

  const clientConfig = { endpoint: edge.endpoint, region: SANDBOX_REGION, credentials: SANDBOX_CREDENTIALS };
  const clients = { sqs: new SQSClient(clientConfig), dynamodb: new DynamoDBClient(clientConfig) };

  let resources: DeployedResources;
  try {
    resources = await deployResources({
      resources: config.resources.Resources,
      sqs: clients.sqs,
      dynamodb: clients.dynamodb,
      region: SANDBOX_REGION,
      accountId: SANDBOX_ACCOUNT_ID,
      stackName: `${config.service}-${stage}`,
    });
  } catch (error) {
    await edge.close();
    await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    throw error;
  }

  const baseEnv: Record<string, string> = {
    AWS_ENDPOINT_URL: edge.endpoint,
    AWS_REGION: SANDBOX_REGION,
    AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
  };
  const resolveEnv = (env: Record<string, unknown> | undefined, where: string) =>
    Object.fromEntries(
      Object.entries(env ?? {}).map(([k, v]) => [k, resources.resolveString(v, `${where}.${k}`)]),
    ) as Record<string, string>;
  const environment = { ...resolveEnv(config.provider.environment, 'provider.environment'), ...baseEnv };

  const sandbox: Sandbox = {
    endpoint: edge.endpoint,
    region: SANDBOX_REGION,
    stage,
    config,
    resources,
    sqs,
    connect,
    environment,
    functionEnvironment(name) {
      const fn = config.functions[name];
      if (!fn) throw new TypeError(`serverless.yml has no function "${name}"`);
      return { ...environment, ...resolveEnv(fn.environment, `functions.${name}.environment`), ...baseEnv };
    },
    clients,
    addAdminRoute(extension) {
      extensions.push(extension);
    },
    setDynamoDbErrorRate(rate) {
      if (!(rate >= 0 && rate <= 1)) throw new TypeError('dynamodbErrorRate must be within 0..1');
      edge.faults.dynamodbErrorRate = rate;
    },
    async stop() {
      clients.sqs.destroy();
      clients.dynamodb.destroy();
      await edge.close();
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
    },
  };
  return sandbox;
}
