import { invalidParameter, queueDoesNotExist, SqsApiError } from './errors.ts';
import { Queue } from './queue.ts';
import { normaliseQueueAttributes, redriveAllowed } from './queue-attributes.ts';
import { type JsonObject, requiredString } from './wire.ts';

/** The state every SQS operation shares: the queues, the clock and the observers. */
export interface SqsState {
  readonly accountId: string;
  readonly region: string;
  /** Business clock in epoch ms (visibility, delays, retention). */
  readonly clock: () => number;
  /** Random numbers in [0, 1) for fault injection. */
  readonly random: () => number;
  readonly queues: Map<string, Queue>;
  /** Called with a queue name when messages become available in it. */
  readonly sendListeners: Set<(queueName: string) => void>;
  /** Called with a queue name and a count when a receive hands out messages. */
  readonly receiveListeners: Set<(queueName: string, messages: number) => void>;
  /** Long polls waiting now, per queue name. */
  readonly longPolls: Map<string, number>;
  /** Called whenever `longPolls` changes. */
  readonly longPollWatchers: Set<() => void>;
  duplicateDeliveryRate: number;
}

/** What a request brings beyond its input. */
interface RequestContext {
  /** `<scheme>://<host>` of the request, for queue URLs. */
  origin: string;
  senderId: string;
}

export type ActionResult = Record<string, unknown>;

/** One SQS operation: validates the JSON input against the state and returns the JSON output. */
export type Action = (
  state: SqsState,
  input: JsonObject,
  context: RequestContext,
) => ActionResult | Promise<ActionResult>;

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export function createSqsState(init: {
  accountId: string;
  region: string;
  clock: () => number;
  random: () => number;
}): SqsState {
  return {
    ...init,
    queues: new Map(),
    sendListeners: new Set(),
    receiveListeners: new Set(),
    longPolls: new Map(),
    longPollWatchers: new Set(),
    duplicateDeliveryRate: 0,
  };
}

/** arn:aws:sqs:<region>:<accountId>:<name> */
export function queueArn(state: SqsState, name: string): string {
  return `arn:aws:sqs:${state.region}:${state.accountId}:${name}`;
}

export function queueUrl(state: SqsState, origin: string, name: string): string {
  return `${origin.replace(/\/+$/, '')}/${state.accountId}/${name}`;
}

/** Calls every listener; a listener's failure must not fail the operation that triggered it. */
export function emit<A extends unknown[]>(listeners: Set<(...args: A) => void>, ...args: A): void {
  for (const listener of [...listeners]) {
    try {
      listener(...args);
    } catch {
      // ignored: see above
    }
  }
}

/** Messages became available in `queue`: wakes its long polls and tells the send listeners. */
export function notify(state: SqsState, queue: Queue): void {
  queue.wake();
  emit(state.sendListeners, queue.name);
}

export function queueByArn(state: SqsState, arn: string): Queue | undefined {
  for (const queue of state.queues.values()) if (queue.arn === arn) return queue;
  return undefined;
}

/** Resolves a QueueUrl by its last path segment (the SDK may send it to any host, e.g. the edge). */
export function resolveQueue(state: SqsState, input: JsonObject): Queue {
  const url = requiredString(input, 'QueueUrl');
  const path = url.split(/[?#]/, 1)[0] ?? '';
  const name = path
    .split('/')
    .filter((segment) => segment.length > 0)
    .pop();
  const queue = name === undefined ? undefined : state.queues.get(name);
  if (!queue) throw queueDoesNotExist();
  return queue;
}

/** True while `queue` is the live queue of its name (not deleted since). */
export function isLive(state: SqsState, queue: Queue): boolean {
  return state.queues.get(queue.name) === queue;
}

/** Validates a RedrivePolicy against the queues that exist (target exists, its RedriveAllowPolicy permits). */
export function assertRedriveTarget(
  state: SqsState,
  sourceName: string,
  attributes: Record<string, string>,
): void {
  const raw = attributes.RedrivePolicy;
  if (!raw) return;
  const { deadLetterTargetArn } = JSON.parse(raw) as { deadLetterTargetArn: string };
  const target = queueByArn(state, deadLetterTargetArn);
  const source = queueArn(state, sourceName);
  let reason: string | undefined;
  if (!target) reason = 'Dead letter target does not exist.';
  else if (!redriveAllowed(target.attributes.RedriveAllowPolicy, source))
    reason = `Queue ${source} is not allowed to use the dead-letter queue.`;
  if (reason)
    throw new SqsApiError(
      'InvalidParameterValue',
      `Value ${raw} for parameter RedrivePolicy is invalid. Reason: ${reason}`,
    );
}

/** Creates a queue; the same name with the same attributes returns the existing one. */
export function createQueue(state: SqsState, name: string, rawAttributes: Record<string, string>): Queue {
  if (!QUEUE_NAME.test(name)) {
    throw invalidParameter(
      'QueueName',
      name,
      'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.',
    );
  }
  const attributes = normaliseQueueAttributes(rawAttributes);
  const existing = state.queues.get(name);
  if (existing) {
    for (const [attribute, value] of Object.entries(attributes)) {
      if ((existing.attributes[attribute] ?? '') !== value)
        throw new SqsApiError(
          'QueueNameExists',
          `A queue already exists with the same name and a different value for attribute ${attribute}`,
        );
    }
    return existing;
  }
  assertRedriveTarget(state, name, attributes);
  const queue = new Queue({ name, arn: queueArn(state, name), createdAt: state.clock(), attributes });
  state.queues.set(name, queue);
  return queue;
}

/** Counts a long poll on `queueName` in (+1) or out (-1) and tells the watchers. */
export function trackLongPoll(state: SqsState, queueName: string, delta: 1 | -1): void {
  const count = (state.longPolls.get(queueName) ?? 0) + delta;
  if (count > 0) state.longPolls.set(queueName, count);
  else state.longPolls.delete(queueName);
  emit(state.longPollWatchers);
}

/** Resolves once at least `count` long polls wait on `queueName`. */
export function whenLongPolling(state: SqsState, queueName: string, count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if ((state.longPolls.get(queueName) ?? 0) < count) return;
      state.longPollWatchers.delete(check);
      resolve();
    };
    state.longPollWatchers.add(check);
    check();
  });
}
