/**
 * The sandbox's one edge endpoint: routes each request to the emulator that serves it.
 *
 *   x-amz-target: DynamoDB_20120810.*  → dynalite (UpdateTimeToLive accepted and ignored here)
 *   x-amz-target: AmazonSQS.*          → the SQS emulator (AWS JSON 1.0)
 *   x-amz-target: AWSEvents.*          → the EventBridge emulator (AWS JSON 1.1)
 *   /_sandbox/*                        → the admin API
 *   Connect REST paths                 → the Connect task-API emulator
 *
 * Anything else gets an AWS-shaped error, never a crash or a hang.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from './http-types.ts';
import { listenOnLoopback, readRequest, respond } from './serve.ts';

export interface EdgeRoutes {
  /** dynalite's request listener (it reads the request itself). */
  dynamodb: (req: IncomingMessage, res: ServerResponse) => void;
  sqs: EmulatorHandler;
  events: EmulatorHandler;
  connect: { handle: EmulatorHandler; isConnectRequest(req: EmulatorRequest): boolean };
  admin: EmulatorHandler;
}

interface EdgeFaults {
  /** Probability that a DynamoDB call gets a 500 InternalServerError (chaos runs). */
  dynamodbErrorRate: number;
}

const DYNAMO_PREFIX = 'DynamoDB_20120810.';
const SQS_PREFIX = 'AmazonSQS.';
const EVENTS_PREFIX = 'AWSEvents.';

function json(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export function awsJsonError(status: number, type: string, message: string): EmulatorResponse {
  return json(
    status,
    { __type: type, message, Message: message },
    {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-errortype': type,
    },
  );
}

export interface Edge {
  server: Server;
  endpoint: string;
  faults: EdgeFaults;
  close(): Promise<void>;
}

export async function startEdge(
  routes: EdgeRoutes,
  port = 0,
  random: () => number = Math.random,
): Promise<Edge> {
  const faults: EdgeFaults = { dynamodbErrorRate: 0 };

  const handleDynamo = async (req: IncomingMessage, res: ServerResponse, operation: string) => {
    if (operation === 'UpdateTimeToLive') {
      // dynalite has no TTL. Accept and echo, so the same CreateTable/UpdateTimeToLive calls work locally.
      const request = await readRequest(req);
      let spec: unknown = {};
      try {
        spec = (JSON.parse(request.body.toString('utf8') || '{}') as { TimeToLiveSpecification?: unknown })
          .TimeToLiveSpecification;
      } catch {
        return respond(
          res,
          async () => awsJsonError(400, 'SerializationException', 'body is not JSON'),
          request,
        );
      }
      return respond(res, async () => json(200, { TimeToLiveSpecification: spec }), request);
    }
    if (faults.dynamodbErrorRate > 0 && random() < faults.dynamodbErrorRate) {
      const request = await readRequest(req);
      return respond(
        res,
        async () =>
          awsJsonError(
            500,
            'com.amazonaws.dynamodb.v20120810#InternalServerError',
            'injected by the sandbox (dynamodbErrorRate)',
          ),
        request,
      );
    }
    routes.dynamodb(req, res);
  };

  const route: EmulatorHandler = async (request) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    if (target.startsWith(SQS_PREFIX)) return routes.sqs(request);
    if (target.startsWith(EVENTS_PREFIX)) return routes.events(request);
    if (request.path.startsWith('/_sandbox/') || request.path === '/_sandbox') return routes.admin(request);
    if (routes.connect.isConnectRequest(request)) return routes.connect.handle(request);
    const form = String(request.headers['content-type'] ?? '').includes('x-www-form-urlencoded');
    if (form && request.body.toString('utf8').includes('Action=')) {
      return awsJsonError(
        400,
        'UnsupportedProtocol',
        'the sandbox speaks the AWS JSON protocol for SQS (AWS SDK v3, AWS CLI v2); the Query protocol is not supported',
      );
    }
    return awsJsonError(
      404,
      'UnknownOperationException',
      `the sandbox has no route for ${request.method} ${request.path}${target ? ` (x-amz-target ${target})` : ''}`,
    );
  };

  const server = createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (target.startsWith(DYNAMO_PREFIX)) {
      handleDynamo(req, res, target.slice(DYNAMO_PREFIX.length)).catch(() => res.destroy());
      return;
    }
    readRequest(req).then(
      (request) => respond(res, route, request),
      () => res.destroy(),
    );
  });
  server.keepAliveTimeout = 60_000;
  const { endpoint, close } = await listenOnLoopback(server, port);
  return { server, endpoint, faults, close };
}
