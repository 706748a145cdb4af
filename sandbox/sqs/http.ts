import { randomUUID } from 'node:crypto';
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from '#sandbox/http-types.ts';
import { parseObjectBody } from '../json-members.ts';
import { errorResponseParts, SqsApiError } from './errors.ts';
import {
  changeMessageVisibility,
  changeMessageVisibilityBatch,
  deleteMessage,
  deleteMessageBatch,
} from './handles.ts';
import {
  createQueue,
  deleteQueue,
  getQueueAttributes,
  getQueueUrl,
  listDeadLetterSourceQueues,
  listQueues,
  listQueueTags,
  purgeQueue,
  setQueueAttributes,
  tagQueue,
  untagQueue,
} from './queues.ts';
import { receiveMessage } from './receive.ts';
import { sendMessage, sendMessageBatch } from './send.ts';
import type { Action, ActionResult, SqsState } from './state.ts';

/** The operations served, by the name after `AmazonSQS.` in the `x-amz-target` header. */
const ACTIONS: Readonly<Record<string, Action>> = {
  CreateQueue: createQueue,
  GetQueueUrl: getQueueUrl,
  ListQueues: listQueues,
  ListDeadLetterSourceQueues: listDeadLetterSourceQueues,
  GetQueueAttributes: getQueueAttributes,
  SetQueueAttributes: setQueueAttributes,
  DeleteQueue: deleteQueue,
  PurgeQueue: purgeQueue,
  TagQueue: tagQueue,
  UntagQueue: untagQueue,
  ListQueueTags: listQueueTags,
  SendMessage: sendMessage,
  SendMessageBatch: sendMessageBatch,
  ReceiveMessage: receiveMessage,
  DeleteMessage: deleteMessage,
  DeleteMessageBatch: deleteMessageBatch,
  ChangeMessageVisibility: changeMessageVisibility,
  ChangeMessageVisibilityBatch: changeMessageVisibilityBatch,
};

const TARGET_PREFIX = 'AmazonSQS.';
const JSON_HEADERS = { 'content-type': 'application/x-amz-json-1.0' } as const;

/** The AWS JSON 1.0 endpoint over `state`: dispatches on `x-amz-target`; never throws. */
export function sqsHandler(state: SqsState): EmulatorHandler {
  return async (request) => {
    const requestId = randomUUID();
    try {
      const result = await dispatch(state, request);
      return {
        status: 200,
        headers: { ...JSON_HEADERS, 'x-amzn-requestid': requestId },
        body: JSON.stringify(result),
      };
    } catch (error) {
      return errorResponse(error, requestId);
    }
  };
}

async function dispatch(state: SqsState, request: EmulatorRequest): Promise<ActionResult> {
  const target = headerValue(request, 'x-amz-target') ?? '';
  const name = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  const action = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
  if (!action)
    throw new SqsApiError('UnsupportedOperation', `Unsupported operation: ${target || '(no x-amz-target)'}.`);
  const input = parseObjectBody(
    request.body,
    (message, cause) => new SqsApiError('SerializationException', message, { cause }),
  );
  return action(state, input, {
    origin: requestOrigin(request),
    senderId: senderIdOf(request, state.accountId),
  });
}

function errorResponse(error: unknown, requestId: string): EmulatorResponse {
  const apiError =
    error instanceof SqsApiError
      ? error
      : new SqsApiError('InternalError', 'We encountered an internal error. Please try again.', {
          cause: error,
        });
  const parts = errorResponseParts(apiError);
  return {
    status: parts.status,
    headers: { ...JSON_HEADERS, 'x-amzn-requestid': requestId, ...parts.headers },
    body: parts.body,
  };
}

function headerValue(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function requestOrigin(request: EmulatorRequest): string {
  const scheme = headerValue(request, 'x-forwarded-proto') ?? 'http';
  const host = headerValue(request, 'host') ?? 'localhost';
  return `${scheme}://${host}`;
}

/** SenderId: the access key id from the SigV4 Authorization header (the caller's identity), else the account. */
function senderIdOf(request: EmulatorRequest, accountId: string): string {
  const authorization = headerValue(request, 'authorization') ?? '';
  const match = /Credential=([^/,\s]+)\//.exec(authorization);
  return match?.[1] ?? accountId;
}
