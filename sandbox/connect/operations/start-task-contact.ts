/**
 * StartTaskContact (PUT /contact/task). Input: the request, already checked against the model.
 * Output: `{ContactId}`.
 *
 * Primary course: a known ClientToken (same instance, within `clientTokenTtlSeconds`) returns the
 * contact it created before any other check (the model has no IdempotencyException for this
 * operation); else resolve the one flow target (contact flow, quick connect, or an ACTIVE template
 * with a flow), fill template defaults, check the filled task against the model and the documented
 * rules, check linked contacts exist, copy the related contact's attributes (request attributes win),
 * enforce the chain and active-task quotas, create an ACTIVE task and publish INITIATED, then QUEUED
 * in the task's queue (the quick connect's queue, else its flow's `queueId` in the world, else the
 * instance's first queue) now, or, with a ScheduledTime, when that time comes on the emulator clock.
 *
 * The 12-task PreviousContactId chain counts every TASK contact linked to the chain's root (the first
 * contact with no PreviousContactId), the root included when it is a task, ended or not.
 */
import { randomUUID } from 'node:crypto';
import { checkInput, type JsonObject } from '../check-input.ts';
import type { ContactRecord } from '../contact-record.ts';
import { invalidParameter, invalidRequest, notFound, quotaExceeded } from '../errors.ts';
import { queueContact } from '../lifecycle.ts';
import { type ConnectState, type InstanceIndex, requireFlow, tokenKey } from '../state.ts';
import {
  applyTemplateDefaults,
  missingRequiredFields,
  type TaskContent,
  type TaskTemplate,
} from '../templates.ts';
import {
  type ContactReference,
  checkAttributeKeys,
  checkAttributesBudget,
  checkReferencesBudget,
  checkScheduledWindow,
  readReferences,
} from '../validate.ts';

interface StartInput {
  InstanceId: string;
  Name?: string;
  Description?: string;
  ScheduledTime?: number;
  Attributes?: Record<string, string>;
  References?: Record<string, ContactReference>;
  ContactFlowId?: string;
  QuickConnectId?: string;
  TaskTemplateId?: string;
  PreviousContactId?: string;
  RelatedContactId?: string;
  SegmentAttributes?: Record<string, unknown>;
  ClientToken?: string;
}

/** The flow the task runs, the template it comes from when it does, and the queue it enters. */
function resolveTarget(
  state: ConnectState,
  index: InstanceIndex,
  input: StartInput,
): { flowId: string; template?: TaskTemplate; queueId?: string } {
  const { ContactFlowId, QuickConnectId, TaskTemplateId } = input;
  const targets = [ContactFlowId, QuickConnectId, TaskTemplateId].filter((v) => v !== undefined);
  if (targets.length !== 1) {
    throw invalidRequest(
      `include exactly one of ContactFlowId, QuickConnectId or TaskTemplateId (got ${targets.length})`,
    );
  }
  const firstQueue = index.instance.queues[0]?.id;
  if (ContactFlowId !== undefined) {
    const flow = requireFlow(index, ContactFlowId);
    return { flowId: flow.id, queueId: flow.queueId ?? firstQueue };
  }
  if (QuickConnectId !== undefined) {
    const quickConnect = index.quickConnects.get(QuickConnectId);
    if (!quickConnect) throw notFound(`QuickConnectId: quick connect ${QuickConnectId} does not exist`);
    const flow = index.flows.get(quickConnect.contactFlowId);
    return {
      flowId: quickConnect.contactFlowId,
      queueId: quickConnect.queueId ?? flow?.queueId ?? firstQueue,
    };
  }
  const template = state.templateIn(input.InstanceId, TaskTemplateId as string);
  if (template.Status !== 'ACTIVE') {
    throw invalidRequest(
      `task template ${template.Id} is ${template.Status}; tasks can only be created from ACTIVE templates`,
    );
  }
  if (template.ContactFlowId === undefined) {
    throw invalidRequest(
      `task template ${template.Id} has no contact flow, so TaskTemplateId alone cannot identify the flow to run`,
    );
  }
  return {
    flowId: template.ContactFlowId,
    template,
    queueId: index.flows.get(template.ContactFlowId)?.queueId ?? firstQueue,
  };
}

/** The task's content, template defaults filled in and checked as a request would be. */
function taskContent(
  state: ConnectState,
  input: StartInput,
  template: TaskTemplate | undefined,
): TaskContent {
  const { limits } = state;
  let content: TaskContent = {
    Name: input.Name,
    Description: input.Description,
    ScheduledTime: input.ScheduledTime,
    Attributes: input.Attributes ?? {},
    References: readReferences(input.References, limits.references.typesAtCreation),
  };
  if (template) {
    content = applyTemplateDefaults(template, content);
    const { Name, Description, ScheduledTime, Attributes, References } = content;
    checkInput(
      'StartTaskContact',
      { InstanceId: input.InstanceId, Name, Description, ScheduledTime, Attributes, References },
      limits,
    );
    readReferences(content.References, limits.references.typesAtCreation);
    const missing = missingRequiredFields(template, content);
    if (missing.length > 0) {
      throw invalidParameter(
        `task template ${template.Id} requires values for: ${missing.map((m) => JSON.stringify(m)).join(', ')}`,
      );
    }
  }
  checkAttributeKeys(content.Attributes, limits);
  checkReferencesBudget(content.References, limits);
  checkAttributesBudget(content.Attributes, limits);
  if (content.ScheduledTime !== undefined) checkScheduledWindow(content.ScheduledTime, state.now(), limits);
  return content;
}

function checkQuotas(state: ConnectState, instanceId: string, chainRootId: string, linked: boolean): void {
  const chainMax = state.limits.tasks.chainMax;
  if (linked && (state.chainSizes.get(chainRootId) ?? 0) >= chainMax) {
    throw quotaExceeded(
      `there can be a maximum of ${chainMax} linked task contacts in a PreviousContactId chain`,
    );
  }
  const active = state.activeTasks.get(instanceId)?.size ?? 0;
  const quota = state.config().activeTaskQuota;
  if (active >= quota)
    throw quotaExceeded(`instance ${instanceId} has ${active} active tasks; the quota is ${quota}`);
}

export function startTaskContact(state: ConnectState, body: JsonObject): { ContactId: string } {
  const input = body as unknown as StartInput;
  const { InstanceId: instanceId, ClientToken: clientToken } = input;
  const index = state.instanceOf(instanceId);
  if (clientToken !== undefined) {
    const prior = state.recall(state.startTokens, tokenKey(instanceId, clientToken));
    if (prior !== undefined) return { ContactId: prior };
  }
  const { flowId, template, queueId } = resolveTarget(state, index, input);
  const content = taskContent(state, input, template);
  const previous = input.PreviousContactId
    ? state.contactIn(instanceId, input.PreviousContactId, 'PreviousContactId')
    : undefined;
  const related = input.RelatedContactId
    ? state.contactIn(instanceId, input.RelatedContactId, 'RelatedContactId')
    : undefined;
  const attributes = related ? { ...related.attributes, ...content.Attributes } : content.Attributes;
  checkAttributesBudget(attributes, state.limits);

  const contactId = randomUUID();
  const chainRootId = previous ? previous.chainRootId : contactId;
  checkQuotas(state, instanceId, chainRootId, previous !== undefined);
  const t = state.now();
  const contact: ContactRecord = {
    contactId,
    arn: `${state.arnPrefix(instanceId)}/contact/${contactId}`,
    instanceId,
    channel: 'TASK',
    initiationMethod: 'API',
    state: 'ACTIVE',
    name: content.Name,
    description: content.Description,
    attributes,
    references: content.References,
    ...(input.SegmentAttributes !== undefined && { segmentAttributes: input.SegmentAttributes }),
    initiationTimestamp: t,
    lastUpdateTimestamp: t,
    scheduledTimestamp: content.ScheduledTime === undefined ? undefined : content.ScheduledTime * 1000,
    previousContactId: input.PreviousContactId,
    relatedContactId: input.RelatedContactId,
    chainRootId,
    contactFlowId: flowId,
    quickConnectId: input.QuickConnectId,
    taskTemplateId: template?.Id,
    transfers: 0,
    clientToken,
  };
  state.addContact(contact);
  if (clientToken !== undefined)
    state.startTokens.set(tokenKey(instanceId, clientToken), { at: t, value: contactId });
  state.emit('INITIATED', contact);
  if (queueId !== undefined) enterQueue(state, contact, queueId, t);
  return { ContactId: contactId };
}

/** QUEUED now, or at the task's ScheduledTime when that is still ahead. */
function enterQueue(state: ConnectState, contact: ContactRecord, queueId: string, t: number): void {
  const scheduled = contact.scheduledTimestamp;
  if (scheduled === undefined || scheduled <= t) {
    queueContact(state, contact, queueId, t);
  } else {
    contact.queueId = queueId;
    contact.queueDueTimestamp = scheduled;
    state.waiting.add(contact);
  }
}
