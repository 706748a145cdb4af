/**
 * The semantics of the emulated Connect task APIs behind one small front: the shared state
 * (`state.ts`), the operations dispatched by name (`operations/`), and the admin views of contacts.
 * Transport, throttling and fault injection live in `emulator.ts`; this module is synchronous and
 * deterministic given its clock. Requests reach an operation already checked against the API model.
 */
import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '../events/envelope.ts';
import { acceptContact, completeContactAsAgent } from './agent.ts';
import type { JsonObject } from './check-input.ts';
import type { ConnectEmulatorConfig, ConnectOperation } from './config.ts';
import type { ContactChannel, ContactRecord, ContactState } from './contact-record.ts';
import { notFound } from './errors.ts';
import { sweepContacts } from './lifecycle.ts';
import type { EmulatorLimits } from './limits.ts';
import { OPERATION_HANDLERS } from './operations/index.ts';
import { ConnectState } from './state.ts';
import { checkAttributeKeys, checkAttributesBudget } from './validate.ts';
import type { World } from './world.ts';

type TimestampKey =
  | 'initiationTimestamp'
  | 'lastUpdateTimestamp'
  | 'scheduledTimestamp'
  | 'disconnectTimestamp'
  | 'enqueueTimestamp'
  | 'queueDueTimestamp'
  | 'connectedToAgentTimestamp'
  | 'afterContactWorkStartTimestamp'
  | 'afterContactWorkEndTimestamp'
  | 'completedTimestamp';
const TIMESTAMP_KEYS = new Set<string>([
  'initiationTimestamp',
  'lastUpdateTimestamp',
  'scheduledTimestamp',
  'disconnectTimestamp',
  'enqueueTimestamp',
  'queueDueTimestamp',
  'connectedToAgentTimestamp',
  'afterContactWorkStartTimestamp',
  'afterContactWorkEndTimestamp',
  'completedTimestamp',
] satisfies TimestampKey[]);

/**
 * A contact as the admin API and `ConnectEmulator.contacts()` show it: the record's members with
 * capitalised names (the DescribeContact names where there is one), plus what only the sandbox
 * knows (State, References, ClientToken, chain, transfer count). Timestamps are ISO-8601 strings
 * (the API's epoch seconds would be easy to confuse with the clock's epoch milliseconds).
 */
export type ContactView = {
  [K in keyof ContactRecord as Capitalize<K>]: K extends TimestampKey ? string : ContactRecord[K];
};

function toView(contact: ContactRecord): ContactView {
  const view: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(contact)) {
    const name = `${key.charAt(0).toUpperCase()}${key.slice(1)}`;
    view[name] =
      TIMESTAMP_KEYS.has(key) && value !== undefined ? new Date(value as number).toISOString() : value;
  }
  return structuredClone(view) as ContactView;
}

export interface ContactFilter {
  instanceId?: string;
  channel?: string;
  state?: string;
  name?: string;
  clientToken?: string;
}

/**
 * A contact that did not come from StartTaskContact (a voice call to chain tasks to, a chat to refuse
 * transfers on...). Seeding publishes no contact events; what an agent then does with it does.
 */
export interface SeedContactInput {
  instanceId?: string;
  channel: ContactChannel;
  state?: ContactState;
  name?: string;
  description?: string;
  attributes?: Record<string, string>;
  initiationMethod?: string;
}

export interface ConnectServiceOptions {
  world: World;
  limits: EmulatorLimits;
  now: () => number;
  config: () => ConnectEmulatorConfig;
  /** Where contact events go. */
  publish?: (event: EventEnvelope) => void;
}

export function createConnectService(options: ConnectServiceOptions) {
  const { world, limits, now, config } = options;
  const state = new ConnectState(world, limits, now, config, options.publish);

  function seedContact(input: SeedContactInput): ContactView {
    const instanceId = input.instanceId ?? world.instances[0]?.id;
    if (instanceId === undefined || !state.instances.has(instanceId)) {
      throw notFound(`instance ${String(instanceId)} does not exist`);
    }
    const attributes = input.attributes ?? {};
    checkAttributeKeys(attributes, limits);
    checkAttributesBudget(attributes, limits);
    const contactId = randomUUID();
    const t = now();
    const contact: ContactRecord = {
      contactId,
      arn: `${state.arnPrefix(instanceId)}/contact/${contactId}`,
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
    state.addContact(contact);
    if (input.state === 'ENDED') {
      state.endContact(contact, t, 'SEEDED');
      state.completeContact(contact, t);
    }
    return toView(contact);
  }

  function listContacts(filter: ContactFilter = {}): ContactView[] {
    sweepContacts(state);
    return [...state.contacts.values()]
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

  return {
    /** Runs what has come due on the emulator clock (scheduled queueing, auto-complete, after-contact work). */
    sweep: () => sweepContacts(state),
    acceptContact: (contactId: string, userId?: string) => {
      sweepContacts(state);
      acceptContact(state, contactId, userId);
      return toView(state.contacts.get(contactId) as ContactRecord);
    },
    completeContact: (contactId: string, afterContactWorkSeconds?: number) => {
      sweepContacts(state);
      completeContactAsAgent(state, contactId, afterContactWorkSeconds);
      return toView(state.contacts.get(contactId) as ContactRecord);
    },
    /** Runs an operation on its model-checked input. */
    call: (operation: ConnectOperation, input: JsonObject) => OPERATION_HANDLERS[operation](state, input),
    seedContact,
    listContacts,
    reset: () => state.reset(),
  };
}
