/**
 * Errors of the sandbox's Connect emulator.
 *
 *   ConnectEmulatorError            base of this module
 *   ├─ ConnectApiError              an error the emulated API returns on the wire (`type` is the AWS
 *   │                               exception name sent in `x-amzn-errortype`, `status` its HTTP code)
 *   └─ ConnectEmulatorConfigError   a bad world file or a bad fault/config patch (a programming or
 *                                   operator error, never sent as an API error)
 */

/** The exception names the emulator sends, with the HTTP status codes of the Amazon Connect API model. */
export const CONNECT_ERROR_STATUS = {
  InvalidParameterException: 400,
  InvalidRequestException: 400,
  /** Malformed JSON or a body that is not a JSON object: AWS REST-JSON services answer this. */
  SerializationException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  UnknownOperationException: 404,
  IdempotencyException: 409,
  DuplicateResourceException: 409,
  ServiceQuotaExceededException: 402,
  /** StopContact on a contact that is no longer active (the model's 410). */
  ContactNotFoundException: 410,
  ThrottlingException: 429,
  InternalServiceException: 500,
} as const;

export type ConnectErrorType = keyof typeof CONNECT_ERROR_STATUS;

class ConnectEmulatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectEmulatorError';
  }
}

/** An API error as the emulated service returns it: `x-amzn-errortype: <type>`, body `{"Message"}`. */
export class ConnectApiError extends ConnectEmulatorError {
  readonly type: ConnectErrorType;
  readonly status: number;

  constructor(type: ConnectErrorType, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectApiError';
    this.type = type;
    this.status = CONNECT_ERROR_STATUS[type];
  }
}

/** A world file or configuration patch that does not have the documented shape. */
export class ConnectEmulatorConfigError extends ConnectEmulatorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectEmulatorConfigError';
  }
}

export const invalidParameter = (message: string) =>
  new ConnectApiError('InvalidParameterException', message);
export const invalidRequest = (message: string) => new ConnectApiError('InvalidRequestException', message);
export const notFound = (message: string) => new ConnectApiError('ResourceNotFoundException', message);
export const quotaExceeded = (message: string) =>
  new ConnectApiError('ServiceQuotaExceededException', message);
