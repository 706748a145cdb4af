/**
 * The emulator's mutable state, shared by the operation modules: the world's index, contacts, task
 * templates and remembered ClientTokens, with the lookups and contact-lifecycle helpers every
 * operation uses. Timestamps are epoch milliseconds on the emulator's clock.
 */
import type { EventEnvelope } from '../events/envelope.ts';
import { checkInput } from './check-input.ts';
import type { ConnectEmulatorConfig } from './config.ts';
import { type ContactEventType, contactEventEnvelope } from './contact-event-detail.ts';
import type { ContactRecord } from './contact-record.ts';
import { ConnectEmulatorConfigError, notFound } from './errors.ts';
import type { EmulatorLimits } from './limits.ts';
import { parseCreateTemplate, type TaskTemplate, type TaskTemplateDefinition } from './templates.ts';
import type { World, WorldInstance } from './world.ts';

export interface InstanceIndex {
  instance: WorldInstance;
  flows: Map<string, WorldInstance['contactFlows'][number]>;
  queues: Set<string>;
  users: Set<string>;
  quickConnects: Map<string, WorldInstance['quickConnects'][number]>;
}

export interface TransferResponse {
  ContactId: string;
  ContactArn: string;
}

interface Remembered<T> {
  at: number;
  value: T;
}

/** The shared state, with the lookups and lifecycle helpers the operations use. */
export class ConnectState {
  readonly instances: Map<string, InstanceIndex>;
  readonly contacts = new Map<string, ContactRecord>();
  /**
   * Contacts that were given a step that comes due on the clock (a scheduled QUEUED, the end of
   * after-contact work); the sweep looks at these and at the active tasks only, and drops a contact
   * from here once it has no such step left.
   */
  readonly waiting = new Set<ContactRecord>();
  /** instanceId → ids of its TASK contacts not COMPLETED yet (the active-task quota). */
  readonly activeTasks = new Map<string, Set<string>>();
  /** chain root id → number of TASK contacts in the chain. */
  readonly chainSizes = new Map<string, number>();
  readonly templates = new Map<string, TaskTemplate>();
  readonly startTokens = new Map<string, Remembered<string>>();
  readonly transferTokens = new Map<
    string,
    Remembered<{ fingerprint: string; response: TransferResponse }>
  >();
  readonly templateTokens = new Map<string, Remembered<string>>();

  constructor(
    readonly world: World,
    readonly limits: EmulatorLimits,
    readonly now: () => number,
    readonly config: () => ConnectEmulatorConfig,
    /** Where contact events go (the emitter with its faults). */
    private readonly publish: (event: EventEnvelope) => void = () => {},
  ) {
    this.instances = new Map(world.instances.map((instance) => [instance.id, indexInstance(instance)]));
    this.loadWorldTemplates();
  }

  /** Clears contacts, runtime templates and tokens; the world's templates come back as they were. */
  reset(): void {
    this.contacts.clear();
    this.waiting.clear();
    this.activeTasks.clear();
    this.chainSizes.clear();
    this.templates.clear();
    this.startTokens.clear();
    this.transferTokens.clear();
    this.templateTokens.clear();
    this.loadWorldTemplates();
  }

  arnPrefix(instanceId: string): string {
    return `arn:aws:connect:${this.world.region}:${this.world.accountId}:instance/${instanceId}`;
  }

  /** Publishes a contact event of `type` about `contact` as it is now. */
  emit(type: ContactEventType, contact: ContactRecord): void {
    const { region, accountId } = this.world;
    const instanceArn = this.arnPrefix(contact.instanceId);
    this.publish(contactEventEnvelope(type, contact, { instanceArn, accountId, region, at: this.now() }));
  }

  /** A stored template as the API returns it: the definition plus its identity and timestamps. */
  storedTemplate(instanceId: string, id: string, definition: TaskTemplateDefinition): TaskTemplate {
    const at = this.now();
    return {
      ...definition,
      Id: id,
      Arn: `${this.arnPrefix(instanceId)}/task-template/${id}`,
      InstanceId: instanceId,
      CreatedTime: at,
      LastModifiedTime: at,
    };
  }

  private loadWorldTemplates(): void {
    for (const { instance, flows } of this.instances.values()) {
      for (const { Id, ...body } of instance.taskTemplates) {
        let definition: TaskTemplateDefinition;
        try {
          checkInput('CreateTaskTemplate', { ...body, InstanceId: instance.id }, this.limits);
          definition = parseCreateTemplate(body);
        } catch (error) {
          throw new ConnectEmulatorConfigError(
            `world task template ${Id} of instance ${instance.id}: ${(error as Error).message}`,
            { cause: error },
          );
        }
        if (definition.ContactFlowId && !flows.has(definition.ContactFlowId)) {
          throw new ConnectEmulatorConfigError(
            `world task template ${Id} names contact flow ${definition.ContactFlowId}, which instance ${instance.id} does not have`,
          );
        }
        this.templates.set(templateKey(instance.id, Id), this.storedTemplate(instance.id, Id, definition));
      }
    }
  }

  /** The value remembered under `key`, unless the ClientToken window has passed. */
  recall<T>(map: Map<string, Remembered<T>>, key: string): T | undefined {
    const entry = map.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.at > this.config().clientTokenTtlSeconds * 1000) {
      map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  instanceOf(instanceId: string): InstanceIndex {
    const found = this.instances.get(instanceId);
    if (!found) throw notFound(`instance ${instanceId} does not exist`);
    return found;
  }

  contactIn(instanceId: string, contactId: string, field = 'ContactId'): ContactRecord {
    const contact = this.contacts.get(contactId);
    if (!contact || contact.instanceId !== instanceId) {
      throw notFound(`${field}: contact ${contactId} does not exist in instance ${instanceId}`);
    }
    return contact;
  }

  /** The contact a request names, in an instance that exists. */
  contactAt(instanceId: string, contactId: string): ContactRecord {
    this.instanceOf(instanceId);
    return this.contactIn(instanceId, contactId);
  }

  /** The template a request names, with the index of its instance (which exists). */
  templateAt(instanceId: string, templateId: string): { index: InstanceIndex; template: TaskTemplate } {
    return { index: this.instanceOf(instanceId), template: this.templateIn(instanceId, templateId) };
  }

  templateIn(instanceId: string, templateId: string): TaskTemplate {
    const template = this.templates.get(templateKey(instanceId, templateId));
    if (!template) throw notFound(`task template ${templateId} does not exist in instance ${instanceId}`);
    return template;
  }

  addContact(contact: ContactRecord): void {
    this.contacts.set(contact.contactId, contact);
    if (contact.channel !== 'TASK') return;
    this.chainSizes.set(contact.chainRootId, (this.chainSizes.get(contact.chainRootId) ?? 0) + 1);
    if (contact.completedTimestamp !== undefined) return;
    let set = this.activeTasks.get(contact.instanceId);
    if (!set) {
      set = new Set();
      this.activeTasks.set(contact.instanceId, set);
    }
    set.add(contact.contactId);
  }

  /** Disconnects the contact; a TASK keeps its quota slot until `completeContact`. */
  endContact(contact: ContactRecord, at: number, reason: string): void {
    contact.state = 'ENDED';
    contact.disconnectTimestamp = at;
    contact.disconnectReason = reason;
    contact.queueDueTimestamp = undefined;
    contact.lastUpdateTimestamp = Math.max(contact.lastUpdateTimestamp, at);
  }

  /** The contact is done (after-contact work included): its quota slot is freed. */
  completeContact(contact: ContactRecord, at: number): void {
    contact.completedTimestamp = at;
    this.activeTasks.get(contact.instanceId)?.delete(contact.contactId);
  }
}

function indexInstance(instance: WorldInstance): InstanceIndex {
  return {
    instance,
    flows: new Map(instance.contactFlows.map((f) => [f.id, f])),
    queues: new Set(instance.queues.map((q) => q.id)),
    users: new Set(instance.users.map((u) => u.id)),
    quickConnects: new Map(instance.quickConnects.map((q) => [q.id, q])),
  };
}

export const templateKey = (instanceId: string, templateId: string) => `${instanceId}\u0000${templateId}`;
export const tokenKey = (instanceId: string, token: string) => `${instanceId}\u0000${token}`;

/** A user of the instance by ID or ARN ("This can be the ID or the ARN of the user"); returns the ID. */
export function userIn(state: ConnectState, index: InstanceIndex, userId: string, field = 'UserId'): string {
  const agentArn = `${state.arnPrefix(index.instance.id)}/agent/`;
  const id = userId.startsWith(agentArn) ? userId.slice(agentArn.length) : userId;
  if (!index.users.has(id)) throw notFound(`${field}: user ${userId} does not exist`);
  return id;
}

export function requireFlow(index: InstanceIndex, flowId: string, field = 'ContactFlowId') {
  const flow = index.flows.get(flowId);
  if (!flow)
    throw notFound(`${field}: contact flow ${flowId} does not exist in instance ${index.instance.id}`);
  return flow;
}
