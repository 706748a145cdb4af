/**
 * Errors of the sandbox's EventBridge emulator.
 *
 *   EventsEmulatorError      base of this module
 *   ├─ EventsApiError        an error the emulated API returns on the wire (AWS JSON 1.1: status,
 *   │                        `x-amzn-errortype: <code>`, body `{"__type": "<code>", "message"}`)
 *   └─ EventPatternError     an event pattern EventBridge would refuse (the reason only; the API
 *                            answers it as InvalidEventPatternException, a deployment as its error)
 */
import { SandboxError } from '../errors.ts';

/** The error codes the emulator sends, with their HTTP status (the EventBridge API model's). */
const EVENTS_ERROR_STATUS = {
  ValidationException: 400,
  ResourceNotFoundException: 400,
  InvalidEventPatternException: 400,
  /** A body that is not a JSON object: the AWS JSON protocol's own error. */
  SerializationException: 400,
  UnknownOperationException: 400,
  InternalException: 500,
} as const;

export type EventsErrorCode = keyof typeof EVENTS_ERROR_STATUS;

export class EventsEmulatorError extends SandboxError {}

export class EventsApiError extends EventsEmulatorError {
  readonly code: EventsErrorCode;
  readonly status: number;

  constructor(code: EventsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = EVENTS_ERROR_STATUS[code];
  }
}

/** `reason` says what is wrong with the pattern, e.g. `"detail.state" must be an object or an array`. */
export class EventPatternError extends EventsEmulatorError {}

export const busNotFound = (name: string) =>
  new EventsApiError('ResourceNotFoundException', `Event bus ${name} does not exist.`);

export const ruleNotFound = (name: string, bus: string) =>
  new EventsApiError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus ${bus}.`);

/** A model constraint broken, in the wording of AWS's validation errors. */
export const validationError = (member: string, value: unknown, constraint: string) =>
  new EventsApiError(
    'ValidationException',
    `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${constraint}`,
  );
