import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmulatorHandler, EmulatorRequest } from './http-types.ts';

/** Reads a request into an `EmulatorRequest` (the body fully buffered). */
export async function readRequest(req: IncomingMessage): Promise<EmulatorRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  return {
    method: req.method ?? 'GET',
    path: decodeURIComponent(url.pathname),
    query: url.searchParams,
    headers: req.headers,
    body: Buffer.concat(chunks),
  };
}

/** Writes an emulator response; a handler that throws becomes a 500 `InternalFailure`, never a crash. */
export async function respond(res: ServerResponse, handler: EmulatorHandler, request: EmulatorRequest) {
  try {
    const out = await handler(request);
    const body = out.body ?? '';
    res.writeHead(out.status, {
      'content-length': String(Buffer.byteLength(body)),
      ...out.headers,
    });
    res.end(body);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const body = JSON.stringify({ __type: 'InternalFailure', message, Message: message });
    if (!res.headersSent) {
      res.writeHead(500, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-errortype': 'InternalFailure',
        'content-length': String(Buffer.byteLength(body)),
      });
    }
    res.end(body);
  }
}

/**
 * Serves one emulator handler on loopback (port 0 = any free port). Used by emulator tests; the edge
 * endpoint (`sandbox/edge.ts`) does the same with routing in front.
 */
export async function serveHandler(
  handler: EmulatorHandler,
  port = 0,
): Promise<{ endpoint: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    readRequest(req).then(
      (request) => respond(res, handler, request),
      () => res.destroy(),
    );
  });
  return { server, ...(await listenOnLoopback(server, port)) };
}

/** Starts `server` on 127.0.0.1; `close` also drops kept-alive connections, so it never waits on a client. */
export async function listenOnLoopback(
  server: Server,
  port: number,
): Promise<{ endpoint: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
