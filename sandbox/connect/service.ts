/**
 * The semantics of the emulated Connect task APIs: contacts, task templates, idempotency tokens and
 * quotas, with every rule taken from the seeds (000–004) and every number from the limits table.
 * Transport, throttling and fault injection live in `emulator.ts`; this module is synchronous and
 * deterministic given its clock.
 *
 * Decisions the documents leave open (see also the emulator's doc block):
 * - A known StartTaskContact ClientToken (same instance, within `clientTokenTtlSeconds`) returns the
 *   contact it created before any other check: no validation, no quota, no new contact, whatever the
 *   rest of the request says (the model has no IdempotencyException for StartTaskContact).
 * - The 12-task PreviousContactId chain counts every TASK contact linked to the chain's root (the
 *   first contact with no PreviousContactId), the root included when it is a task, ended or not.
 * - TransferContact beyond 11 transfers is InvalidRequestException (400), not 402: no backoff can cure
 *   it, so callers must classify it as permanent.
 * - StopContact on a contact that already ended, or that does not exist in the instance, is
 *   ContactNotFoundException (410): "The contact with the specified ID is not active or does not exist".
 * - UpdateContact takes the reference types of its API reference (ATTACHMENT too: `referenceTypesAtUpdate`),
 *   on ongoing and completed contacts alike.
 */
import { randomUUID } from 'node:crypto';
import type { TaskLimits } from '#lib/connect/constraints.ts';
import type { ConnectEmulatorConfig } from './config.ts';
import {
  ConnectApiError,
  ConnectEmulatorConfigError,
  invalidParameter,
  invalidRequest,
  notFound,
  quotaExceeded,
} from './errors.ts';
import {
  applyTemplateDefaults,
  applyTemplateUpdate,
  missingRequiredFields,
  parseCreateTemplate,
  type TaskContent,
  type TaskTemplate,
  type TaskTemplateDefinition,
  toTemplateResponse,
  toTemplateSummary,
} from './templates.ts';
import {
  type ContactReference,
  checkAttributesBudget,
  checkReferencesBudget,
  checkScheduledWindow,
  type JsonObject,
  optionalString,
  pathString,
  readAttributes,
  readReferences,
  readScheduledTime,
  requiredString,
} from './validate.ts';
import type { World, WorldInstance } from './world.ts';

export type ContactChannel = 'VOICE' | 'CHAT' | 'TASK' | 'EMAIL';
export type ContactState = 'ACTIVE' | 'ENDED';

/** A contact as the emulator holds it. Timestamps are epoch milliseconds. */
interface ContactRecord {
  contactId: string;
  arn: string;
  instanceId: string;
  channel: ContactChannel;
  initiationMethod: string;
  state: ContactState;
  name?: string;
  description?: string;
  attributes: Record<string, string>;
  references: Record<string, ContactReference>;
  segmentAttributes?: Record<string, unknown>;
  initiationTimestamp: number;
  lastUpdateTimestamp: number;
  scheduledTimestamp?: number;
  disconnectTimestamp?: number;
  disconnectReason?: string;
  previousContactId?: string;
  relatedContactId?: string;
  /** The first contact of this contact's PreviousContactId chain (itself when it has no previous). */
  chainRootId: string;
  contactFlowId?: string;
  quickConnectId?: string;
  taskTemplateId?: string;
  queueId?: string;
  userId?: string;
  transfers: number;
  clientToken?: string;
}

/**
 * A contact as the admin API and `ConnectEmulator.contacts()` show it: the DescribeContact names
 * where there is one, plus what only the sandbox knows (State, References, ClientToken, chain,
 * transfer count). Timestamps are ISO-8601 strings (the API's epoch seconds would be easy to confuse
 * with the clock's epoch milliseconds).
 */
export interface ContactView {
  ContactId: string;
  Arn: string;
  InstanceId: string;
  Channel: ContactChannel;
  InitiationMethod: string;
  /** ACTIVE until StopContact, auto-complete or a seeded end; only ACTIVE tasks count against the quota. */
  State: ContactState;
  Name?: string;
  Description?: string;
  Attributes: Record<string, string>;
  References: Record<string, ContactReference>;
  SegmentAttributes?: Record<string, unknown>;
  InitiationTimestamp: string;
  LastUpdateTimestamp: string;
  ScheduledTimestamp?: string;
  DisconnectTimestamp?: string;
  /** StopContact's DisconnectReason.Code ('API' when none), AUTO_COMPLETED, or SEEDED. */
  DisconnectReason?: string;
  PreviousContactId?: string;
  RelatedContactId?: string;
  /** The first contact of the PreviousContactId chain (the contact itself when it has no previous). */
  ChainRootId: string;
  /** The flow the task runs (the template's or quick connect's flow when started from one); updated by transfers. */
  ContactFlowId?: string;
  QuickConnectId?: string;
  TaskTemplateId?: string;
  QueueId?: string;
  UserId?: string;
  /** Successful TransferContact calls on this contact (idempotent replays not counted). */
  Transfers: number;
  ClientToken?: string;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function toView(c: ContactRecord): ContactView {
  return structuredClone({
    ContactId: c.contactId,
    Arn: c.arn,
    InstanceId: c.instanceId,
    Channel: c.channel,
    InitiationMethod: c.initiationMethod,
    State: c.state,
    Name: c.name,
    Description: c.description,
    Attributes: c.attributes,
    References: c.references,
    SegmentAttributes: c.segmentAttributes,
    InitiationTimestamp: new Date(c.initiationTimestamp).toISOString(),
    LastUpdateTimestamp: new Date(c.lastUpdateTimestamp).toISOString(),
    ScheduledTimestamp: iso(c.scheduledTimestamp),
    DisconnectTimestamp: iso(c.disconnectTimestamp),
    DisconnectReason: c.disconnectReason,
    PreviousContactId: c.previousContactId,
    RelatedContactId: c.relatedContactId,
    ChainRootId: c.chainRootId,
    ContactFlowId: c.contactFlowId,
    QuickConnectId: c.quickConnectId,
    TaskTemplateId: c.taskTemplateId,
    QueueId: c.queueId,
    UserId: c.userId,
    Transfers: c.transfers,
    ClientToken: c.clientToken,
  });
}

export interface ContactFilter {
  instanceId?: string;
  channel?: string;
  state?: string;
  name?: string;
  clientToken?: string;
}

/** A contact that did not come from StartTaskContact (a voice call to chain tasks to, a chat to refuse transfers on...). */
export interface SeedContactInput {
  instanceId?: string;
  channel: ContactChannel;
  state?: ContactState;
  name?: string;
  description?: string;
  attributes?: Record<string, string>;
  initiationMethod?: string;
}

/** TransferContact flow types (004: inbound, transfer-to-agent and transfer-to-queue flows). */
const TRANSFER_FLOW_TYPES = new Set(['CONTACT_FLOW', 'AGENT_TRANSFER', 'QUEUE_TRANSFER']);

interface InstanceIndex {
  instance: WorldInstance;
  flows: Map<string, WorldInstance['contactFlows'][number]>;
  queues: Set<string>;
  users: Set<string>;
  quickConnects: Map<string, WorldInstance['quickConnects'][number]>;
}

interface TransferResponse {
  ContactId: string;
  ContactArn: string;
}

interface Remembered<T> {
  at: number;
  value: T;
}

export interface ConnectServiceOptions {
  world: World;
  limits: TaskLimits;
  now: () => number;
  config: () => ConnectEmulatorConfig;
}

export type ConnectService = ReturnType<typeof createConnectService>;

export function createConnectService(options: ConnectServiceOptions) {
  const { world, limits, now, config } = options;
  const arnPrefix = (instanceId: string) =>
    `arn:aws:connect:${world.region}:${world.accountId}:instance/${instanceId}`;

  const instances = new Map<string, InstanceIndex>(
    world.instances.map((instance) => [
      instance.id,
      {
        instance,
        flows: new Map(instance.contactFlows.map((f) => [f.id, f])),
        queues: new Set(instance.queues.map((q) => q.id)),
        users: new Set(instance.users.map((u) => u.id)),
        quickConnects: new Map(instance.quickConnects.map((q) => [q.id, q])),
      },
    ]),
  );

  const contacts = new Map<string, ContactRecord>();
  /** instanceId → ids of its ACTIVE TASK contacts (the active-task quota). */
  const activeTasks = new Map<string, Set<string>>();
  /** chain root id → number of TASK contacts in the chain. */
  const chainSizes = new Map<string, number>();
  const templates = new Map<string, TaskTemplate>();
  const startTokens = new Map<string, Remembered<string>>();
  const transferTokens = new Map<string, Remembered<{ fingerprint: string; response: TransferResponse }>>();
  const templateTokens = new Map<string, Remembered<string>>();

  const templateKey = (instanceId: string, templateId: string) => `${instanceId}\u0000${templateId}`;
  const tokenKey = (instanceId: string, token: string) => `${instanceId}\u0000${token}`;

  function recall<T>(map: Map<string, Remembered<T>>, key: string): T | undefined {
    const entry = map.get(key);
    if (!entry) return undefined;
    if (now() - entry.at > config().clientTokenTtlSeconds * 1000) {
      map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  function loadWorldTemplates(): void {
    for (const { instance } of instances.values()) {
      for (const raw of instance.taskTemplates) {
        const { Id, ...body } = raw;
        let definition: TaskTemplateDefinition;
        try {
          definition = parseCreateTemplate(body).definition;
        } catch (error) {
          throw new ConnectEmulatorConfigError(
            `world task template ${Id} of instance ${instance.id}: ${(error as Error).message}`,
            { cause: error },
          );
        }
        if (definition.ContactFlowId && !instances.get(instance.id)?.flows.has(definition.ContactFlowId)) {
          throw new ConnectEmulatorConfigError(
            `world task template ${Id} names contact flow ${definition.ContactFlowId}, which instance ${instance.id} does not have`,
          );
        }
        const at = now();
        templates.set(templateKey(instance.id, Id), {
          ...definition,
          Id,
          Arn: `${arnPrefix(instance.id)}/task-template/${Id}`,
          InstanceId: instance.id,
          CreatedTime: at,
          LastModifiedTime: at,
        });
      }
    }
  }

  // ---- lookups ---------------------------------------------------------------------------------

  function instanceOf(instanceId: string): InstanceIndex {
    pathString('InstanceId', instanceId, {
      min: limits.instanceIdMinLength,
      max: limits.instanceIdMaxLength,
    });
    const found = instances.get(instanceId);
    if (!found) throw notFound(`instance ${instanceId} does not exist`);
    return found;
  }

  function contactIn(instanceId: string, contactId: string, field = 'ContactId'): ContactRecord {
    const contact = contacts.get(contactId);
    if (!contact || contact.instanceId !== instanceId) {
      throw notFound(`${field}: contact ${contactId} does not exist in instance ${instanceId}`);
    }
    return contact;
  }

  function templateIn(instanceId: string, templateId: string): TaskTemplate {
    const template = templates.get(templateKey(instanceId, templateId));
    if (!template) throw notFound(`task template ${templateId} does not exist in instance ${instanceId}`);
    return template;
  }

  function requireFlow(index: InstanceIndex, flowId: string, field = 'ContactFlowId') {
    const flow = index.flows.get(flowId);
    if (!flow)
      throw notFound(`${field}: contact flow ${flowId} does not exist in instance ${index.instance.id}`);
    return flow;
  }

  const contactIdRule = { min: limits.contactIdMinLength, max: limits.contactIdMaxLength };

  // ---- contact lifecycle -----------------------------------------------------------------------

  function addContact(contact: ContactRecord): void {
    contacts.set(contact.contactId, contact);
    if (contact.channel === 'TASK') {
      chainSizes.set(contact.chainRootId, (chainSizes.get(contact.chainRootId) ?? 0) + 1);
      if (contact.state === 'ACTIVE') {
        let set = activeTasks.get(contact.instanceId);
        if (!set) {
          set = new Set();
          activeTasks.set(contact.instanceId, set);
        }
        set.add(contact.contactId);
      }
    }
  }

  function endContact(contact: ContactRecord, at: number, reason: string): void {
    contact.state = 'ENDED';
    contact.disconnectTimestamp = at;
    contact.disconnectReason = reason;
    contact.lastUpdateTimestamp = Math.max(contact.lastUpdateTimestamp, at);
    activeTasks.get(contact.instanceId)?.delete(contact.contactId);
  }

  /** Ends the tasks whose `autoCompleteAfterSeconds` has passed on the emulator clock. */
  function sweep(): void {
    const after = config().autoCompleteAfterSeconds;
    if (after === null) return;
    const t = now();
    for (const ids of activeTasks.values()) {
      for (const id of [...ids]) {
        const contact = contacts.get(id);
        if (!contact) continue;
        const due = contact.initiationTimestamp + after * 1000;
        if (due <= t) endContact(contact, due, 'AUTO_COMPLETED');
      }
    }
  }

  function newContactId(): string {
    return randomUUID();
  }

  // ---- StartTaskContact ------------------------------------------------------------------------

  function readTaskContent(body: JsonObject): TaskContent {
    return {
      Name: optionalString(body, 'Name', { max: limits.nameMaxLength }),
      Description: optionalString(body, 'Description', { max: limits.descriptionMaxLength }),
      ScheduledTime: readScheduledTime(body.ScheduledTime),
      Attributes: readAttributes(body.Attributes, limits),
      References: readReferences(body.References, limits, limits.referenceTypesAtCreation),
    };
  }

  /** The checks that also apply to values a template filled in. */
  function checkTaskContent(content: TaskContent): asserts content is TaskContent & { Name: string } {
    if (content.Name === undefined) throw invalidParameter('Name is required');
    readTaskContent({ ...content });
    checkReferencesBudget(content.References, limits);
    checkAttributesBudget(content.Attributes, limits);
    if (content.ScheduledTime !== undefined) checkScheduledWindow(content.ScheduledTime, now(), limits);
  }

  /**
   * StartTaskContact (PUT /contact/task).
   *
   * Input: the request body. Output: `{ContactId}`.
   * Primary course: known ClientToken → its contact; else resolve the one flow target (contact flow,
   * quick connect, or an ACTIVE template with a flow), fill template defaults, validate every
   * documented constraint, check linked contacts exist, copy the related contact's attributes
   * (request attributes win), enforce the chain and active-task quotas, create an ACTIVE task.
   */
  function startTaskContact(body: JsonObject): { ContactId: string } {
    const instanceId = requiredString(body, 'InstanceId');
    const index = instanceOf(instanceId);
    const clientToken = optionalString(body, 'ClientToken', { max: limits.clientTokenMaxLength });
    if (clientToken !== undefined) {
      const prior = recall(startTokens, tokenKey(instanceId, clientToken));
      if (prior !== undefined) return { ContactId: prior };
    }

    let content = readTaskContent(body);
    const contactFlowId = optionalString(body, 'ContactFlowId', { max: limits.contactFlowIdMaxLength });
    const quickConnectId = optionalString(body, 'QuickConnectId', { min: 1 });
    const taskTemplateId = optionalString(body, 'TaskTemplateId', { min: 1 });
    const previousContactId = optionalString(body, 'PreviousContactId', contactIdRule);
    const relatedContactId = optionalString(body, 'RelatedContactId', contactIdRule);
    const segmentAttributes = body.SegmentAttributes;
    if (
      segmentAttributes !== undefined &&
      (segmentAttributes === null ||
        typeof segmentAttributes !== 'object' ||
        Array.isArray(segmentAttributes))
    ) {
      throw invalidParameter('SegmentAttributes must be a map');
    }

    const targets = [contactFlowId, quickConnectId, taskTemplateId].filter((v) => v !== undefined);
    if (targets.length !== 1) {
      throw invalidRequest(
        `include exactly one of ContactFlowId, QuickConnectId or TaskTemplateId (got ${targets.length})`,
      );
    }
    let flowId: string;
    let template: TaskTemplate | undefined;
    if (contactFlowId !== undefined) {
      flowId = requireFlow(index, contactFlowId).id;
    } else if (quickConnectId !== undefined) {
      const quickConnect = index.quickConnects.get(quickConnectId);
      if (!quickConnect) throw notFound(`QuickConnectId: quick connect ${quickConnectId} does not exist`);
      flowId = quickConnect.contactFlowId;
    } else {
      template = templateIn(instanceId, taskTemplateId as string);
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
      flowId = template.ContactFlowId;
      content = applyTemplateDefaults(template, content);
    }

    checkTaskContent(content);
    if (template) {
      const missing = missingRequiredFields(template, content);
      if (missing.length > 0) {
        throw invalidParameter(
          `task template ${template.Id} requires values for: ${missing.map((m) => JSON.stringify(m)).join(', ')}`,
        );
      }
    }

    const previous = previousContactId
      ? contactIn(instanceId, previousContactId, 'PreviousContactId')
      : undefined;
    const related = relatedContactId
      ? contactIn(instanceId, relatedContactId, 'RelatedContactId')
      : undefined;
    const attributes = related ? { ...related.attributes, ...content.Attributes } : content.Attributes;
    checkAttributesBudget(attributes, limits);

    const contactId = newContactId();
    const chainRootId = previous ? previous.chainRootId : contactId;
    if (previous && (chainSizes.get(chainRootId) ?? 0) >= limits.previousContactChainMax) {
      throw quotaExceeded(
        `there can be a maximum of ${limits.previousContactChainMax} linked task contacts in a PreviousContactId chain`,
      );
    }
    const active = activeTasks.get(instanceId)?.size ?? 0;
    if (active >= config().activeTaskQuota) {
      throw quotaExceeded(
        `instance ${instanceId} has ${active} active tasks; the quota is ${config().activeTaskQuota}`,
      );
    }

    const t = now();
    addContact({
      contactId,
      arn: `${arnPrefix(instanceId)}/contact/${contactId}`,
      instanceId,
      channel: 'TASK',
      initiationMethod: 'API',
      state: 'ACTIVE',
      name: content.Name,
      description: content.Description,
      attributes,
      references: content.References,
      ...(segmentAttributes !== undefined && {
        segmentAttributes: segmentAttributes as Record<string, unknown>,
      }),
      initiationTimestamp: t,
      lastUpdateTimestamp: t,
      scheduledTimestamp: content.ScheduledTime === undefined ? undefined : content.ScheduledTime * 1000,
      previousContactId,
      relatedContactId,
      chainRootId,
      contactFlowId: flowId,
      quickConnectId,
      taskTemplateId: template?.Id,
      transfers: 0,
      clientToken,
    });
    if (clientToken !== undefined)
      startTokens.set(tokenKey(instanceId, clientToken), { at: t, value: contactId });
    return { ContactId: contactId };
  }

  // ---- TransferContact -------------------------------------------------------------------------

  /**
   * TransferContact (POST /contact/transfer).
   *
   * Input: the request body. Output: `{ContactId, ContactArn}`.
   * Primary course: never both QueueId and UserId; the contact exists; a known ClientToken with the
   * same parameters returns the first response (counted once), with other parameters 409
   * IdempotencyException; the contact is an ACTIVE TASK; flow, queue and user exist; fewer than 11
   * transfers so far; record the transfer.
   */
  function transferContact(body: JsonObject): TransferResponse {
    const instanceId = requiredString(body, 'InstanceId');
    const index = instanceOf(instanceId);
    const contactId = requiredString(body, 'ContactId', contactIdRule);
    const contactFlowId = requiredString(body, 'ContactFlowId', {
      min: 1,
      max: limits.contactFlowIdMaxLength,
    });
    const queueId = optionalString(body, 'QueueId', { min: 1 });
    const userId = optionalString(body, 'UserId', { min: 1 });
    const clientToken = optionalString(body, 'ClientToken', { max: limits.clientTokenMaxLength });
    if (queueId !== undefined && userId !== undefined) {
      throw invalidRequest('do not use both QueueId and UserId in the same TransferContact call');
    }
    const contact = contactIn(instanceId, contactId);
    const fingerprint = JSON.stringify([contactId, contactFlowId, queueId ?? null, userId ?? null]);
    if (clientToken !== undefined) {
      const prior = recall(transferTokens, tokenKey(instanceId, clientToken));
      if (prior) {
        if (prior.fingerprint === fingerprint) return prior.response;
        throw new ConnectApiError(
          'IdempotencyException',
          'this ClientToken was already used for a TransferContact call with other parameters',
        );
      }
    }
    if (contact.channel !== 'TASK') {
      throw invalidRequest(
        `TransferContact supports only TASK contacts; contact ${contactId} is ${contact.channel}`,
      );
    }
    if (contact.state !== 'ACTIVE') {
      throw invalidRequest(
        `TransferContact can be called only on active contacts; contact ${contactId} has ended`,
      );
    }
    const flow = requireFlow(index, contactFlowId);
    if (!TRANSFER_FLOW_TYPES.has(flow.type)) {
      throw invalidRequest(
        `contact flow ${flow.id} is of type ${flow.type}; TransferContact supports inbound, transfer-to-agent and transfer-to-queue flows`,
      );
    }
    if (queueId !== undefined && !index.queues.has(queueId))
      throw notFound(`QueueId: queue ${queueId} does not exist`);
    if (userId !== undefined && !index.users.has(userId))
      throw notFound(`UserId: user ${userId} does not exist`);
    if (contact.transfers >= limits.transfersPerContactMax) {
      throw invalidRequest(
        `a contact cannot be transferred more than ${limits.transfersPerContactMax} times`,
      );
    }

    const t = now();
    contact.transfers += 1;
    contact.contactFlowId = contactFlowId;
    if (queueId !== undefined) {
      contact.queueId = queueId;
      contact.userId = undefined;
    }
    if (userId !== undefined) {
      contact.userId = userId;
      contact.queueId = undefined;
    }
    contact.lastUpdateTimestamp = t;
    const response = { ContactId: contact.contactId, ContactArn: contact.arn };
    if (clientToken !== undefined) {
      transferTokens.set(tokenKey(instanceId, clientToken), { at: t, value: { fingerprint, response } });
    }
    return response;
  }

  // ---- other contact operations ----------------------------------------------------------------

  /** StopContact (POST /contact/stop): ends an active contact, freeing its place in the active-task quota. */
  function stopContact(body: JsonObject): Record<string, never> {
    const instanceId = requiredString(body, 'InstanceId');
    instanceOf(instanceId);
    const contactId = requiredString(body, 'ContactId', contactIdRule);
    const contact = contacts.get(contactId);
    if (!contact || contact.instanceId !== instanceId) {
      throw new ConnectApiError('ContactNotFoundException', `contact ${contactId} does not exist`);
    }
    if (contact.state !== 'ACTIVE') {
      throw new ConnectApiError('ContactNotFoundException', `contact ${contactId} is not active`);
    }
    const reason = body.DisconnectReason as { Code?: unknown } | undefined;
    endContact(contact, now(), typeof reason?.Code === 'string' ? reason.Code : 'API');
    return {};
  }

  function toContact(contact: ContactRecord) {
    const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
    const template = contact.taskTemplateId
      ? templates.get(templateKey(contact.instanceId, contact.taskTemplateId))
      : undefined;
    return {
      Arn: contact.arn,
      Id: contact.contactId,
      PreviousContactId: contact.previousContactId,
      RelatedContactId: contact.relatedContactId,
      InitiationMethod: contact.initiationMethod,
      Name: contact.name,
      Description: contact.description,
      Channel: contact.channel,
      QueueInfo: contact.queueId ? { Id: contact.queueId } : undefined,
      AgentInfo: contact.userId ? { Id: contact.userId } : undefined,
      InitiationTimestamp: seconds(contact.initiationTimestamp),
      DisconnectTimestamp: seconds(contact.disconnectTimestamp),
      LastUpdateTimestamp: seconds(contact.lastUpdateTimestamp),
      ScheduledTimestamp: seconds(contact.scheduledTimestamp),
      DisconnectReason: contact.disconnectReason,
      Attributes: contact.attributes,
      SegmentAttributes: contact.segmentAttributes,
      TaskTemplateInfo: template ? { Arn: template.Arn, Name: template.Name } : undefined,
    };
  }

  /** DescribeContact (GET /contacts/{InstanceId}/{ContactId}). */
  function describeContact(instanceId: string, contactId: string) {
    instanceOf(instanceId);
    return { Contact: toContact(contactIn(instanceId, contactId)) };
  }

  /**
   * UpdateContact (POST /contacts/{InstanceId}/{ContactId}): Name, Description, References (added or
   * replaced by key, the 4,096-byte budget applying to the result). Ongoing and completed contacts.
   */
  function updateContact(instanceId: string, contactId: string, body: JsonObject): Record<string, never> {
    instanceOf(instanceId);
    const contact = contactIn(instanceId, contactId);
    const name = optionalString(body, 'Name', { max: limits.nameMaxLength });
    const description = optionalString(body, 'Description', { max: limits.descriptionMaxLength });
    const references =
      body.References === undefined || body.References === null
        ? undefined
        : readReferences(body.References, limits, limits.referenceTypesAtUpdate);
    if (name === undefined && description === undefined && references === undefined) {
      throw invalidParameter('UpdateContact needs at least one of Name, Description or References');
    }
    const merged = { ...contact.references, ...references };
    checkReferencesBudget(merged, limits);
    if (name !== undefined) contact.name = name;
    if (description !== undefined) contact.description = description;
    contact.references = merged;
    contact.lastUpdateTimestamp = Math.max(contact.lastUpdateTimestamp, now());
    return {};
  }

  const SUMMARY_KEY: Record<string, string> = {
    URL: 'Url',
    ATTACHMENT: 'Attachment',
    STRING: 'String',
    NUMBER: 'Number',
    DATE: 'Date',
    EMAIL: 'Email',
  };

  /**
   * The ReferenceTypes the API model lists for ListContactReferences; the emulator stores only the ones
   * tasks carry (SUMMARY_KEY), so the others match nothing.
   */
  const LISTABLE_REFERENCE_TYPES = new Set([
    ...Object.keys(SUMMARY_KEY),
    'CONTACT_ANALYSIS',
    'EMAIL_MESSAGE',
    'EMAIL_MESSAGE_PLAIN_TEXT',
    'EMAIL_MESSAGE_REDACTED',
    'EMAIL_MESSAGE_PLAIN_TEXT_REDACTED',
  ]);

  /** ListContactReferences (GET /contact/references/{InstanceId}/{ContactId}?referenceTypes=...). */
  function listContactReferences(instanceId: string, contactId: string, query: URLSearchParams) {
    instanceOf(instanceId);
    const contact = contactIn(instanceId, contactId);
    const types = query
      .getAll('referenceTypes')
      .flatMap((v) => v.split(','))
      .filter((v) => v !== '');
    if (types.length === 0) throw invalidParameter('ReferenceTypes is required');
    for (const type of types) {
      if (!LISTABLE_REFERENCE_TYPES.has(type))
        throw invalidParameter(`ReferenceTypes: unknown type ${JSON.stringify(type)}`);
    }
    const wanted = new Set(types);
    const ReferenceSummaryList = Object.entries(contact.references)
      .filter(([, ref]) => wanted.has(ref.Type))
      .map(([name, ref]) => ({
        [SUMMARY_KEY[ref.Type] as string]: {
          Name: name,
          Value: ref.Value,
          ...(ref.Type === 'ATTACHMENT' && { Status: 'APPROVED' }),
        },
      }));
    return { ReferenceSummaryList };
  }

  // ---- task templates --------------------------------------------------------------------------

  /** CreateTaskTemplate (PUT /instance/{InstanceId}/task/template) → {Id, Arn}; idempotent by ClientToken. */
  function createTaskTemplate(instanceId: string, body: JsonObject) {
    const index = instanceOf(instanceId);
    const { definition, clientToken } = parseCreateTemplate(body);
    if (clientToken !== undefined) {
      if (clientToken.length > limits.clientTokenMaxLength) {
        throw invalidParameter(`ClientToken must be at most ${limits.clientTokenMaxLength} characters`);
      }
      const prior = recall(templateTokens, tokenKey(instanceId, clientToken));
      const existing = prior ? templates.get(templateKey(instanceId, prior)) : undefined;
      if (existing) return { Id: existing.Id, Arn: existing.Arn };
    }
    if (definition.ContactFlowId !== undefined) requireFlow(index, definition.ContactFlowId);
    const id = randomUUID();
    const t = now();
    const template: TaskTemplate = {
      ...definition,
      Id: id,
      Arn: `${arnPrefix(instanceId)}/task-template/${id}`,
      InstanceId: instanceId,
      CreatedTime: t,
      LastModifiedTime: t,
    };
    templates.set(templateKey(instanceId, id), template);
    if (clientToken !== undefined)
      templateTokens.set(tokenKey(instanceId, clientToken), { at: t, value: id });
    return { Id: id, Arn: template.Arn };
  }

  function getTaskTemplate(instanceId: string, templateId: string) {
    instanceOf(instanceId);
    return toTemplateResponse(templateIn(instanceId, templateId), true);
  }

  /** ListTaskTemplates: creation order; Status and Name (exact) filters, MaxResults 1..100, NextToken an offset. */
  function listTaskTemplates(instanceId: string, query: URLSearchParams) {
    instanceOf(instanceId);
    const status = query.get('status');
    if (status !== null && status !== 'ACTIVE' && status !== 'INACTIVE') {
      throw invalidParameter('Status must be ACTIVE or INACTIVE');
    }
    const name = query.get('name');
    const maxRaw = query.get('maxResults');
    const max = maxRaw === null ? 100 : Number(maxRaw);
    if (!Number.isInteger(max) || max < 1 || max > 100) throw invalidParameter('MaxResults must be 1 to 100');
    const tokenRaw = query.get('nextToken');
    const offset = tokenRaw === null ? 0 : Number(tokenRaw);
    if (!Number.isInteger(offset) || offset < 0) throw invalidParameter('NextToken is not valid');
    const all = [...templates.values()]
      .filter((t) => t.InstanceId === instanceId)
      .filter((t) => status === null || t.Status === status)
      .filter((t) => name === null || t.Name === name);
    const page = all.slice(offset, offset + max);
    return {
      TaskTemplates: page.map(toTemplateSummary),
      ...(offset + max < all.length && { NextToken: String(offset + max) }),
    };
  }

  /** UpdateTaskTemplate (POST .../task/template/{TaskTemplateId}): present members replace stored ones. */
  function updateTaskTemplate(instanceId: string, templateId: string, body: JsonObject) {
    const index = instanceOf(instanceId);
    const current = templateIn(instanceId, templateId);
    const next = applyTemplateUpdate(current, body);
    if (next.ContactFlowId !== undefined) requireFlow(index, next.ContactFlowId);
    const updated: TaskTemplate = {
      ...current,
      ...next,
      LastModifiedTime: Math.max(now(), current.CreatedTime),
    };
    templates.set(templateKey(instanceId, templateId), updated);
    return toTemplateResponse(updated, false);
  }

  function deleteTaskTemplate(instanceId: string, templateId: string): Record<string, never> {
    instanceOf(instanceId);
    templateIn(instanceId, templateId);
    templates.delete(templateKey(instanceId, templateId));
    return {};
  }

  // ---- admin -----------------------------------------------------------------------------------

  function seedContact(input: SeedContactInput): ContactView {
    const instanceId = input.instanceId ?? world.instances[0]?.id;
    if (instanceId === undefined || !instances.has(instanceId)) {
      throw notFound(`instance ${String(instanceId)} does not exist`);
    }
    const attributes = readAttributes(input.attributes, limits);
    checkAttributesBudget(attributes, limits);
    const contactId = newContactId();
    const t = now();
    const contact: ContactRecord = {
      contactId,
      arn: `${arnPrefix(instanceId)}/contact/${contactId}`,
      instanceId,
      channel: input.channel,
      initiationMethod: input.initiationMethod ?? 'INBOUND',
      state: 'ACTIVE',
      name: input.name,
      description: input.description,
      attributes,
      references: {},
      initiationTimestamp: t,
      lastUpdateTimestamp: t,
      chainRootId: contactId,
      transfers: 0,
    };
    addContact(contact);
    if (input.state === 'ENDED') endContact(contact, t, 'SEEDED');
    return toView(contact);
  }

  function listContacts(filter: ContactFilter = {}): ContactView[] {
    sweep();
    return [...contacts.values()]
      .filter(
        (c) =>
          (filter.instanceId === undefined || c.instanceId === filter.instanceId) &&
          (filter.channel === undefined || c.channel === filter.channel) &&
          (filter.state === undefined || c.state === filter.state) &&
          (filter.name === undefined || c.name === filter.name) &&
          (filter.clientToken === undefined || c.clientToken === filter.clientToken),
      )
      .map(toView);
  }

  function reset(): void {
    contacts.clear();
    activeTasks.clear();
    chainSizes.clear();
    templates.clear();
    startTokens.clear();
    transferTokens.clear();
    templateTokens.clear();
    loadWorldTemplates();
  }

  loadWorldTemplates();

  return {
    sweep,
    startTaskContact,
    transferContact,
    stopContact,
    describeContact,
    updateContact,
    listContactReferences,
    createTaskTemplate,
    getTaskTemplate,
    listTaskTemplates,
    updateTaskTemplate,
    deleteTaskTemplate,
    seedContact,
    listContacts,
    reset,
  };
}
