import { invalidParameter, missingParameter, queueDoesNotExist, SqsApiError } from './errors.ts';
import type { Queue } from './queue.ts';
import { normaliseQueueAttributes, SETTABLE_ATTRIBUTES } from './queue-attributes.ts';
import { isReadOnly } from './receive.ts';
import {
  type Action,
  type ActionResult,
  assertRedriveTarget,
  createQueue as create,
  queueUrl,
  resolveQueue,
  type SqsState,
} from './state.ts';
import {
  type JsonObject,
  optionalInteger,
  optionalString,
  optionalStringList,
  optionalStringMap,
  requiredString,
} from './wire.ts';

/** The queue operations: create, find, list, attributes, delete, purge and tags. */

export const createQueue: Action = (state, input, { origin }) => {
  const name = requiredString(input, 'QueueName');
  const queue = create(state, name, optionalStringMap(input, 'Attributes') ?? {});
  Object.assign(queue.tags, optionalStringMap(input, 'tags') ?? {});
  return { QueueUrl: queueUrl(state, origin, queue.name) };
};

export const getQueueUrl: Action = (state, input, { origin }) => {
  const name = requiredString(input, 'QueueName');
  const owner = optionalString(input, 'QueueOwnerAWSAccountId');
  const queue = state.queues.get(name);
  if (!queue || (owner !== undefined && owner !== state.accountId)) throw queueDoesNotExist();
  return { QueueUrl: queueUrl(state, origin, queue.name) };
};

export const listQueues: Action = (state, input, { origin }) => {
  const prefix = optionalString(input, 'QueueNamePrefix') ?? '';
  const names = [...state.queues.keys()].filter((name) => name.startsWith(prefix)).sort();
  return paginate(input, names, (page, NextToken) => ({
    ...(page.length > 0 ? { QueueUrls: page.map((name) => queueUrl(state, origin, name)) } : {}),
    ...(NextToken ? { NextToken } : {}),
  }));
};

export const listDeadLetterSourceQueues: Action = (state, input, { origin }) => {
  const target = resolveQueue(state, input);
  const names = [...state.queues.values()]
    .filter((queue) => queue.redrivePolicy?.deadLetterTargetArn === target.arn)
    .map((queue) => queue.name)
    .sort();
  return paginate(input, names, (page, NextToken) => ({
    queueUrls: page.map((name) => queueUrl(state, origin, name)),
    ...(NextToken ? { NextToken } : {}),
  }));
};

export const getQueueAttributes: Action = (state, input) => {
  const queue = resolveQueue(state, input);
  const requested = optionalStringList(input, 'AttributeNames') ?? [];
  const all = queueAttributeValues(state, queue);
  const Attributes: Record<string, string> = {};
  for (const name of requested) {
    if (name === 'All') {
      Object.assign(Attributes, all);
      continue;
    }
    if (!SETTABLE_ATTRIBUTES.has(name) && !isReadOnly(name))
      throw new SqsApiError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    const value = all[name];
    if (value !== undefined) Attributes[name] = value;
  }
  return Object.keys(Attributes).length > 0 ? { Attributes } : {};
};

export const setQueueAttributes: Action = (state, input) => {
  const queue = resolveQueue(state, input);
  const raw = optionalStringMap(input, 'Attributes');
  if (raw === undefined) throw missingParameter('Attributes');
  const attributes = normaliseQueueAttributes(raw);
  assertRedriveTarget(state, queue.name, attributes);
  queue.applyAttributes(attributes);
  queue.lastModifiedAt = state.clock();
  return {};
};

export const deleteQueue: Action = (state, input) => {
  const queue = resolveQueue(state, input);
  state.queues.delete(queue.name);
  queue.purge();
  queue.wake();
  return {};
};

export const purgeQueue: Action = (state, input) => {
  resolveQueue(state, input).purge();
  return {};
};

export const tagQueue: Action = (state, input) => {
  Object.assign(resolveQueue(state, input).tags, optionalStringMap(input, 'Tags') ?? {});
  return {};
};

export const untagQueue: Action = (state, input) => {
  const queue = resolveQueue(state, input);
  for (const key of optionalStringList(input, 'TagKeys') ?? []) delete queue.tags[key];
  return {};
};

export const listQueueTags: Action = (state, input) => {
  const queue = resolveQueue(state, input);
  return Object.keys(queue.tags).length > 0 ? { Tags: { ...queue.tags } } : {};
};

function queueAttributeValues(state: SqsState, queue: Queue): Record<string, string> {
  const counts = queue.counts(state.clock());
  return {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.notVisible),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAt / 1000)),
    ...queue.attributes,
  };
}

/** MaxResults 1..1000 and an opaque NextToken (the offset); without MaxResults, the first 1000. */
function paginate(
  input: JsonObject,
  names: string[],
  render: (page: string[], nextToken: string | undefined) => ActionResult,
): ActionResult {
  const maxResults = optionalInteger(input, 'MaxResults');
  const token = optionalString(input, 'NextToken');
  if (maxResults !== undefined && (maxResults < 1 || maxResults > 1000))
    throw invalidParameter('MaxResults', maxResults, 'Must be between 1 and 1000.');
  let start = 0;
  if (token !== undefined) {
    const decoded = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(decoded) || decoded < 0)
      throw invalidParameter('NextToken', token, 'Invalid token.');
    start = decoded;
  }
  if (maxResults === undefined) return render(names.slice(start, start + 1000), undefined);
  const end = start + maxResults;
  const next = end < names.length ? Buffer.from(String(end), 'utf8').toString('base64url') : undefined;
  return render(names.slice(start, end), next);
}
