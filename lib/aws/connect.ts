/**
 * The Amazon Connect client. Only functions that call Connect import this module, so only their
 * bundles carry the Connect SDK.
 *
 * Retries are kept short: SQS visibility backoff is the long-term retry, and a long SDK retry loop at
 * a 2 requests/s quota only deepens a throttling storm. Timeouts are explicit so a hung call becomes
 * a TRANSIENT failure well inside the function timeout.
 */
import { ConnectClient } from '@aws-sdk/client-connect';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { tracer } from '#lib/observability/powertools.ts';

/**
 * The Connect client's timeouts: the longest one attempt can take once it has gone out is their sum.
 * Ingest keeps that much of its invocation back after its last wait (lib/ingest/handler.ts).
 */
export const CONNECT_TIMEOUTS = Object.freeze({ connectionMs: 2_000, requestMs: 5_000 });

export interface ConnectClientOptions {
  /** Total attempts per call including the first (SDK standard retry: 429/5xx only). */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export function createConnectClient(options: ConnectClientOptions = {}): ConnectClient {
  return new ConnectClient({
    maxAttempts: options.maxAttempts ?? 2,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? CONNECT_TIMEOUTS.connectionMs,
      requestTimeout: options.requestTimeoutMs ?? CONNECT_TIMEOUTS.requestMs,
      // Since @smithy/node-http-handler 4.x an exceeded requestTimeout only logs a warning and the call
      // keeps waiting (up to the function timeout, failing the whole batch). Make it a TimeoutError.
      throwOnRequestTimeout: true,
    }),
  });
}

let client: ConnectClient | undefined;

/** The function instance's traced Connect client, created on first use and then reused. */
export function connectClient(): ConnectClient {
  client ??= tracer.captureAWSv3Client(createConnectClient());
  return client;
}
