/**
 * The CLI's errors and how they read: each carries the exit code it maps to (1 a user or
 * validation error, 2 a usage error), and an endpoint that cannot be reached reads as that, with
 * the endpoint, whatever call met it first.
 */

/** A CLI failure with the exit code it maps to. */
export class CliError extends Error {
  readonly exitCode: number;
  /** Extra lines printed under the message (e.g. every validation error). */
  readonly details: readonly string[];
  constructor(
    message: string,
    exitCode: number,
    details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.details = details;
  }
}

/** Bad input, a refused rule, a missing resource: exit 1. */
export class CliUserError extends CliError {
  constructor(message: string, details: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, 1, details, options);
    this.name = 'CliUserError';
  }
}

/** The command line itself is wrong: exit 2. */
export class CliUsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 2, [], options);
    this.name = 'CliUsageError';
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error)
    return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}

/** Node's network error codes that mean "the endpoint cannot be reached", in words. */
const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/**
 * Why the endpoint could not be reached, when `error` (or a cause, or one of an AggregateError's
 * errors) is a network failure; undefined for any other error.
 */
export function unreachableReason(error: unknown, depth = 0): string | undefined {
  if (depth > 6 || error === null || typeof error !== 'object') return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && UNREACHABLE[code] !== undefined) return `${UNREACHABLE[code]}, ${code}`;
  for (const inner of Array.isArray(errors) ? errors : []) {
    const reason = unreachableReason(inner, depth + 1);
    if (reason !== undefined) return reason;
  }
  return unreachableReason(cause, depth + 1);
}

/** The message for an endpoint that cannot be reached; a loopback one is most likely a sandbox that is not running. */
export function unreachableMessage(endpoint: string | undefined, reason: string, loopback: boolean): string {
  const where = endpoint ?? 'the AWS endpoint';
  return loopback
    ? `cannot reach ${where} (${reason}): is the sandbox running? Start it with npm run sandbox (or npm start), or pass --endpoint`
    : `cannot reach ${where} (${reason})`;
}
