/**
 * The state every EventBridge operation shares: the event buses (`default` always exists), their
 * rules with SQS targets, and the events kept per bus; plus the port that delivers to a queue.
 */

import type { EventEnvelope } from './envelope.ts';
import { busNotFound, EventsEmulatorError, validationError } from './errors.ts';
import type { EventPredicate } from './pattern.ts';
import type { JsonObject } from './wire.ts';

export interface RuleTarget {
  id: string;
  /** An SQS queue ARN: the only target type the sandbox delivers to. */
  arn: string;
}

export type RuleState = 'ENABLED' | 'DISABLED' | 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
export const RULE_STATES: readonly RuleState[] = [
  'ENABLED',
  'DISABLED',
  'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
];

export interface RuleRecord {
  name: string;
  arn: string;
  busName: string;
  /** The pattern as JSON text, as DescribeRule returns it. */
  eventPattern: string;
  matches: EventPredicate;
  state: RuleState;
  description?: string;
  targets: RuleTarget[];
}

/** A delivery of a kept event that did not reach its target, with the reason. */
export interface FailedDelivery {
  rule: string;
  targetId: string;
  targetArn: string;
  error: string;
}

export interface KeptEvent {
  /** 1, 2, 3… per bus, never reused (not even after a clear). */
  seq: number;
  event: EventEnvelope;
  /** The rules whose pattern matched, in the order they were created. */
  matchedRules: string[];
  failedDeliveries: FailedDelivery[];
}

export interface BusRecord {
  name: string;
  arn: string;
  createdAt: number;
  rules: Map<string, RuleRecord>;
  kept: KeptEvent[];
  lastSeq: number;
  /** Kept events dropped to stay within the bound (oldest first). */
  evicted: number;
}

export interface EventsState {
  readonly accountId: string;
  readonly region: string;
  /** Business clock in epoch ms. */
  readonly now: () => number;
  /** Sends `body` to the SQS queue `queueArn`; throws with the reason when it cannot. */
  readonly deliver: (queueArn: string, body: string) => void;
  /** Kept events per bus at most; older ones are evicted. */
  readonly keepLimit: number;
  readonly buses: Map<string, BusRecord>;
}

export const DEFAULT_BUS = 'default';

/** One EventBridge operation: validates the JSON input against the state and returns the JSON output. */
export type Action = (state: EventsState, input: JsonObject) => Record<string, unknown>;

/** The model's NonPartnerEventBusNameOrArn: a name, or the ARN of a bus. */
const BUS_NAME_OR_ARN =
  /^(arn:aws[\w-]*:events:[a-z]{2}-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/.\-_A-Za-z0-9]+$/;

export function createEventsState(init: Omit<EventsState, 'buses'>): EventsState {
  const state: EventsState = { ...init, buses: new Map() };
  createBus(state, DEFAULT_BUS);
  return state;
}

function busArn(state: Pick<EventsState, 'region' | 'accountId'>, name: string): string {
  return `arn:aws:events:${state.region}:${state.accountId}:event-bus/${name}`;
}

/** Creates a bus; the name must be new. */
export function createBus(state: EventsState, name: string): BusRecord {
  if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(name)) {
    throw new EventsEmulatorError(`"${name}" is not a valid event bus name`);
  }
  if (state.buses.has(name)) throw new EventsEmulatorError(`event bus ${name} already exists`);
  const bus: BusRecord = {
    name,
    arn: busArn(state, name),
    createdAt: state.now(),
    rules: new Map(),
    kept: [],
    lastSeq: 0,
    evicted: 0,
  };
  state.buses.set(name, bus);
  return bus;
}

/** A bus name or ARN outside the model's pattern is a ValidationException for `member`. */
export function checkBusRef(ref: string, member: string): void {
  if (ref.length > 1600 || !BUS_NAME_OR_ARN.test(ref)) {
    throw validationError(
      member,
      ref,
      `Member must satisfy regular expression pattern: ${BUS_NAME_OR_ARN.source}`,
    );
  }
}

/**
 * The bus a request names (a name or an ARN; `default` when absent), or undefined when there is no
 * such bus here (checkBusRef first).
 */
export function findBus(state: EventsState, nameOrArn: string | undefined, member: string) {
  const ref = nameOrArn ?? DEFAULT_BUS;
  checkBusRef(ref, member);
  if (!ref.startsWith('arn:')) return state.buses.get(ref);
  const bus = state.buses.get(ref.slice(ref.indexOf(':event-bus/') + ':event-bus/'.length));
  return bus?.arn === ref ? bus : undefined;
}

/** Like findBus, for operations that answer an unknown bus with ResourceNotFoundException. */
export function requireBus(state: EventsState, nameOrArn: string | undefined, member: string): BusRecord {
  const bus = findBus(state, nameOrArn, member);
  if (!bus) throw busNotFound(nameOrArn ?? DEFAULT_BUS);
  return bus;
}

/** Keeps `kept` on its bus within the bound. */
export function keep(state: EventsState, bus: BusRecord, kept: Omit<KeptEvent, 'seq'>): KeptEvent {
  bus.lastSeq += 1;
  const entry = { seq: bus.lastSeq, ...kept };
  bus.kept.push(entry);
  const over = bus.kept.length - state.keepLimit;
  if (over > 0) {
    bus.kept.splice(0, over);
    bus.evicted += over;
  }
  return entry;
}
