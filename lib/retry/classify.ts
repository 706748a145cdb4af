/**
 * Failure classification: which way a failed message goes (docs/ARCHITECTURE.md, "Failure classes").
 *
 * - `TRANSIENT` — retry in place (visibility backoff); the ingest queue's maxReceiveCount is the backstop.
 * - `OVER_QUOTA` — park in the DLQ with `nextAttemptAt`; the redrive replays it when due.
 * - `PERMANENT` — park in the DLQ with the reason; never retried automatically.
 *
 * Connect's StartTaskContact errors (StartTaskContact API reference, "Errors"): InternalServiceException 500,
 * InvalidParameterException 400, InvalidRequestException 400, ResourceNotFoundException 404,
 * ServiceQuotaExceededException 402, ThrottlingException 429. TransferContact adds
 * IdempotencyException 409 and AccessDeniedException 403 (TransferContact API reference). UpdateContact
 * adds ConflictException 409 and InvalidActiveRegionException 400 (UpdateContact API reference); StopContact ContactNotFoundException 410
 * (the lifecycle treats that one as "already ended" before it gets here).
 */
import { ActiveTasksAtQuotaError } from '#lib/capacity/errors.ts';
import { ServiceError } from '#lib/errors.ts';
import { IngestRetryError } from '#lib/ingest/errors.ts';
import type { FailureClass } from './failure-record.ts';

/** The classes an error can fall into (`EXHAUSTED` is only ever set by the redrive). */
type ErrorClass = Exclude<FailureClass, 'EXHAUSTED'>;

export interface Classification {
  class: ErrorClass;
  /** The exception name (`ServiceQuotaExceededException`), a network code (`ECONNRESET`) or our own code. */
  code: string;
  /** The error's message, at most `MAX_FAILURE_MESSAGE_LENGTH` characters. */
  message: string;
}

export const MAX_FAILURE_MESSAGE_LENGTH = 1_000;

/** How deep `classifyError` follows `cause` when the outer error is not recognised. */
const MAX_CAUSE_DEPTH = 5;

const BY_NAME: Readonly<Record<string, ErrorClass>> = {
  ThrottlingException: 'TRANSIENT',
  TooManyRequestsException: 'TRANSIENT',
  InternalServiceException: 'TRANSIENT',
  ServiceUnavailableException: 'TRANSIENT',
  TimeoutError: 'TRANSIENT',
  AbortError: 'TRANSIENT',
  RequestTimeout: 'TRANSIENT',
  RequestTimeoutException: 'TRANSIENT',
  ServiceQuotaExceededException: 'OVER_QUOTA',
  InvalidParameterException: 'PERMANENT',
  InvalidRequestException: 'PERMANENT',
  ResourceNotFoundException: 'PERMANENT',
  AccessDeniedException: 'PERMANENT',
  IdempotencyException: 'PERMANENT',
  // UpdateContact (409) and StopContact (410; the lifecycle takes it for "already ended" first).
  ConflictException: 'PERMANENT',
  ContactNotFoundException: 'PERMANENT',
  InvalidActiveRegionException: 'PERMANENT',
};

/** Node/undici socket-level error codes: the request may never have reached the service. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const NETWORK_MESSAGES = [/socket hang up/i, /ECONNRESET/, /ECONNREFUSED/];

/** Statuses that decide the class when the exception name is not one we know. */
function classByStatus(status: number): ErrorClass | undefined {
  if (status === 402) return 'OVER_QUOTA';
  if (status === 408 || status === 429 || status >= 500) return 'TRANSIENT';
  if (status === 400 || status === 403 || status === 404 || status === 409 || status === 410)
    return 'PERMANENT';
  return undefined;
}

type Inspectable = {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $retryable?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
};

function asObject(value: unknown): Inspectable | undefined {
  return typeof value === 'object' && value !== null ? (value as Inspectable) : undefined;
}

/** Cuts `text` to `max` UTF-16 units without splitting a surrogate pair. */
export function cutMessage(text: string, max = MAX_FAILURE_MESSAGE_LENGTH): string {
  if (text.length <= max) return text;
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

function messageOf(error: unknown): string {
  const e = asObject(error);
  if (e && typeof e.message === 'string') return cutMessage(e.message);
  if (typeof error === 'string') return cutMessage(error);
  return `non-Error value thrown (${error === null ? 'null' : typeof error})`;
}

/**
 * Our own errors, by class: a permanent one is PERMANENT; the service's count of an instance's
 * active tasks at its quota (no call made) is OVER_QUOTA; our own retryable conditions (TaskNotFound,
 * ...) are TRANSIENT. Each keeps its code. Undefined for the others (wrappers): their `cause` decides.
 */
function classifyOwn(e: ServiceError): { class: ErrorClass; code: string } | undefined {
  if (e.permanent) return { class: 'PERMANENT', code: e.code };
  if (e instanceof ActiveTasksAtQuotaError) return { class: 'OVER_QUOTA', code: e.code };
  if (e instanceof IngestRetryError) return { class: 'TRANSIENT', code: e.code };
  return undefined;
}

/** Classifies one foreign error (AWS's, Node's) by the SDK's exception name, status, or socket code. */
function classifyOne(e: Inspectable): { class: ErrorClass; code: string } | undefined {
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  const byName = BY_NAME[name];
  if (byName) return { class: byName, code: name };
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') {
    const byStatus = classByStatus(status);
    if (byStatus) return { class: byStatus, code: name || `HTTP${status}` };
  }
  if (e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false) {
    return { class: 'TRANSIENT', code: name || 'Retryable' };
  }
  if (e.$fault === 'server') return { class: 'TRANSIENT', code: name || 'ServerFault' };
  if (NETWORK_CODES.has(code)) return { class: 'TRANSIENT', code };
  if (typeof e.message === 'string' && NETWORK_MESSAGES.some((re) => re.test(e.message as string))) {
    return { class: 'TRANSIENT', code: code || 'NetworkError' };
  }
  return undefined;
}

/**
 * Decides the failure class of an error thrown while processing a message.
 *
 * Input: anything that was thrown (an SDK v3 service exception, a Node network error, one of our own
 * `ServiceError`s, or a non-Error value).
 * Output: class, code and message (the error's own message cut to 1,000 characters).
 * Primary course: our own errors by class (`classifyOwn`); a known Connect exception name
 * → its class; otherwise the HTTP status (402 → OVER_QUOTA; 408/429/5xx → TRANSIENT; 400/403/404/409 →
 * PERMANENT), `$retryable` / server fault, or a socket-level error → TRANSIENT. If the outer error is not
 * recognised, its `cause` chain is examined (our wrappers keep the SDK error as `cause`). Anything still
 * unknown is TRANSIENT: the ingest queue's maxReceiveCount is the backstop.
 */
export function classifyError(error: unknown): Classification {
  const message = messageOf(error);
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH; depth += 1) {
    const e = asObject(current);
    if (!e) break;
    const found = current instanceof ServiceError ? classifyOwn(current) : classifyOne(e);
    if (found) return { ...found, message };
    current = e.cause;
  }
  const outer = asObject(error);
  const name = outer && typeof outer.name === 'string' && outer.name !== 'Error' ? outer.name : '';
  const code = outer && typeof outer.code === 'string' ? outer.code : '';
  return { class: 'TRANSIENT', code: name || code || 'UnknownError', message };
}
