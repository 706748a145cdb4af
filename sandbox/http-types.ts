import type { IncomingHttpHeaders } from 'node:http';

/** A request as the edge endpoint hands it to an emulator: body fully read. */
export interface EmulatorRequest {
  method: string;
  /** Path without the query string, e.g. `/contact/task`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Every emulator exposes this; the edge routes to it and never lets it throw past the socket. */
export type EmulatorHandler = (req: EmulatorRequest) => Promise<EmulatorResponse>;
