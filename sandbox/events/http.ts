/**
 * The EventBridge endpoint: AWS JSON 1.1, one operation per `x-amz-target: AWSEvents.<Operation>`,
 * errors as `{"__type": "<code>", "message"}` with `x-amzn-errortype`, as `@aws-sdk/client-eventbridge`
 * reads them. Never throws.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from '../http-types.ts';
import { parseObjectBody } from '../json-members.ts';
import { describeEventBus, listEventBuses } from './buses.ts';
import { EventsApiError } from './errors.ts';
import { putEvents } from './put-events.ts';
import { describeRule, listRules, listTargetsByRule, testEventPattern } from './rules.ts';
import type { Action, EventsState } from './state.ts';

const EVENTS_TARGET_PREFIX = 'AWSEvents.';

/** The operations served, by the name after `AWSEvents.` in the `x-amz-target` header. */
const EVENTS_ACTIONS: Readonly<Record<string, Action>> = {
  PutEvents: putEvents,
  ListEventBuses: listEventBuses,
  DescribeEventBus: describeEventBus,
  ListRules: listRules,
  DescribeRule: describeRule,
  ListTargetsByRule: listTargetsByRule,
  TestEventPattern: testEventPattern,
};

const CONTENT_TYPE = 'application/x-amz-json-1.1';

function response(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID(), ...headers },
    body: JSON.stringify(body),
  };
}

export function eventsHandler(state: EventsState): EmulatorHandler {
  return async (request) => {
    try {
      return response(200, dispatch(state, request));
    } catch (caught) {
      const error =
        caught instanceof EventsApiError
          ? caught
          : new EventsApiError(
              'InternalException',
              'the EventBridge emulator failed to process the request',
              {
                cause: caught,
              },
            );
      return response(
        error.status,
        { __type: error.code, message: error.message },
        { 'x-amzn-errortype': error.code },
      );
    }
  };
}

function dispatch(state: EventsState, request: EmulatorRequest): Record<string, unknown> {
  const header = request.headers['x-amz-target'];
  const target = (Array.isArray(header) ? header[0] : header) ?? '';
  const name = target.startsWith(EVENTS_TARGET_PREFIX) ? target.slice(EVENTS_TARGET_PREFIX.length) : '';
  const action = Object.hasOwn(EVENTS_ACTIONS, name) ? EVENTS_ACTIONS[name] : undefined;
  if (!action) {
    throw new EventsApiError(
      'UnknownOperationException',
      `the EventBridge emulator has no operation ${target || '(no x-amz-target)'}`,
    );
  }
  return action(
    state,
    parseObjectBody(
      request.body,
      (message, cause) => new EventsApiError('SerializationException', message, { cause }),
    ),
  );
}
