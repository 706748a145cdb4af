import { SandboxError } from '../errors.ts';

/**
 * SQS errors as the real service reports them over the AWS JSON 1.0 protocol (query-compatible mode).
 *
 * Wire shape: HTTP status from the service model, body `{"__type":"com.amazonaws.sqs#<Shape>","message":"..."}`
 * and header `x-amzn-query-error: <QueryCode>;Sender`. The AWS SDK v3 SQS client (awsQueryCompatible) reads the
 * error code from that header first and maps it to its exception class through the model's `awsQueryError`
 * trait (`AWS.SimpleQueueService.NonExistentQueue` → `QueueDoesNotExist`), or by shape name for shapes
 * without the trait (`InvalidAttributeName`). Codes the model does not declare (`InvalidParameterValue`,
 * `MissingParameter`) become an `SQSServiceException` whose `name` is the code, as against real SQS.
 */

/** The SQS error codes the emulator produces (the SDK's exception names, or the query code when unmodelled). */
export type SqsErrorCode =
  | 'QueueDoesNotExist'
  | 'QueueNameExists'
  | 'ReceiptHandleIsInvalid'
  | 'MessageNotInflight'
  | 'InvalidParameterValue'
  | 'MissingParameter'
  | 'InvalidAttributeName'
  | 'InvalidAttributeValue'
  | 'InvalidMessageContents'
  | 'TooManyEntriesInBatchRequest'
  | 'BatchEntryIdsNotDistinct'
  | 'EmptyBatchRequest'
  | 'InvalidBatchEntryId'
  | 'BatchRequestTooLong'
  | 'UnsupportedOperation'
  | 'SerializationException'
  | 'InternalError';

interface WireError {
  /** Value of `__type`. */
  type: string;
  /** Query-protocol code for `x-amzn-query-error`; absent for protocol-level errors. */
  queryCode?: string;
  status: number;
  fault: 'Sender' | 'Receiver';
}

const sqs = (shape: string) => `com.amazonaws.sqs#${shape}`;

/** Status codes and query codes as declared in the SQS service model (client-sqs `awsQueryError` traits). */
const CATALOGUE: Record<SqsErrorCode, WireError> = {
  QueueDoesNotExist: {
    type: sqs('QueueDoesNotExist'),
    queryCode: 'AWS.SimpleQueueService.NonExistentQueue',
    status: 400,
    fault: 'Sender',
  },
  QueueNameExists: {
    type: sqs('QueueNameExists'),
    queryCode: 'QueueAlreadyExists',
    status: 400,
    fault: 'Sender',
  },
  ReceiptHandleIsInvalid: {
    type: sqs('ReceiptHandleIsInvalid'),
    queryCode: 'ReceiptHandleIsInvalid',
    status: 404,
    fault: 'Sender',
  },
  MessageNotInflight: {
    type: sqs('MessageNotInflight'),
    queryCode: 'AWS.SimpleQueueService.MessageNotInflight',
    status: 400,
    fault: 'Sender',
  },
  InvalidParameterValue: {
    type: sqs('InvalidParameterValue'),
    queryCode: 'InvalidParameterValue',
    status: 400,
    fault: 'Sender',
  },
  MissingParameter: {
    type: sqs('MissingParameter'),
    queryCode: 'MissingParameter',
    status: 400,
    fault: 'Sender',
  },
  InvalidAttributeName: {
    type: sqs('InvalidAttributeName'),
    queryCode: 'InvalidAttributeName',
    status: 400,
    fault: 'Sender',
  },
  InvalidAttributeValue: {
    type: sqs('InvalidAttributeValue'),
    queryCode: 'InvalidAttributeValue',
    status: 400,
    fault: 'Sender',
  },
  InvalidMessageContents: {
    type: sqs('InvalidMessageContents'),
    queryCode: 'InvalidMessageContents',
    status: 400,
    fault: 'Sender',
  },
  TooManyEntriesInBatchRequest: {
    type: sqs('TooManyEntriesInBatchRequest'),
    queryCode: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
    status: 400,
    fault: 'Sender',
  },
  BatchEntryIdsNotDistinct: {
    type: sqs('BatchEntryIdsNotDistinct'),
    queryCode: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
    status: 400,
    fault: 'Sender',
  },
  EmptyBatchRequest: {
    type: sqs('EmptyBatchRequest'),
    queryCode: 'AWS.SimpleQueueService.EmptyBatchRequest',
    status: 400,
    fault: 'Sender',
  },
  InvalidBatchEntryId: {
    type: sqs('InvalidBatchEntryId'),
    queryCode: 'AWS.SimpleQueueService.InvalidBatchEntryId',
    status: 400,
    fault: 'Sender',
  },
  BatchRequestTooLong: {
    type: sqs('BatchRequestTooLong'),
    queryCode: 'AWS.SimpleQueueService.BatchRequestTooLong',
    status: 400,
    fault: 'Sender',
  },
  UnsupportedOperation: {
    type: sqs('UnsupportedOperation'),
    queryCode: 'AWS.SimpleQueueService.UnsupportedOperation',
    status: 400,
    fault: 'Sender',
  },
  SerializationException: {
    type: 'com.amazon.coral.service#SerializationException',
    status: 400,
    fault: 'Sender',
  },
  InternalError: {
    type: 'com.amazon.coral.service#InternalFailure',
    queryCode: 'InternalError',
    status: 500,
    fault: 'Receiver',
  },
};

/** Base class of the emulator's errors. */
export class SqsEmulatorError extends SandboxError {}

/** An SQS API error: becomes an AWS-shaped error response, or a failed batch entry. */
export class SqsApiError extends SqsEmulatorError {
  readonly code: SqsErrorCode;

  constructor(code: SqsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** True when the caller is at fault (4xx); the `SenderFault` of a failed batch entry. */
  get senderFault(): boolean {
    return CATALOGUE[this.code].fault === 'Sender';
  }

  /** The code a failed batch entry reports (`Code`): the query code, as real SQS does. */
  get entryCode(): string {
    return CATALOGUE[this.code].queryCode ?? this.code;
  }
}

/** `InvalidParameterValue` in the wording real SQS uses for a bad parameter. */
export function invalidParameter(name: string, value: unknown, reason: string): SqsApiError {
  return new SqsApiError(
    'InvalidParameterValue',
    `Value ${String(value)} for parameter ${name} is invalid. Reason: ${reason}`,
  );
}

export function missingParameter(name: string): SqsApiError {
  return new SqsApiError('MissingParameter', `The request must contain the parameter ${name}.`);
}

export function queueDoesNotExist(): SqsApiError {
  return new SqsApiError('QueueDoesNotExist', 'The specified queue does not exist.');
}

/** The HTTP shape of an error: status, headers and JSON body. */
export function errorResponseParts(error: SqsApiError): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const wire = CATALOGUE[error.code];
  const headers: Record<string, string> = {};
  if (wire.queryCode) headers['x-amzn-query-error'] = `${wire.queryCode};${wire.fault}`;
  return {
    status: wire.status,
    headers,
    body: JSON.stringify({ __type: wire.type, message: error.message }),
  };
}
