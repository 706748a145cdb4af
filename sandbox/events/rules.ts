/**
 * Rules: created from serverless.yml's AWS::Events::Rule resources (`putRule`), read through
 * ListRules, DescribeRule and ListTargetsByRule, and the matcher itself through TestEventPattern.
 */
import { isObject } from '#lib/guards.ts';
import { EventPatternError, EventsApiError, EventsEmulatorError, ruleNotFound } from './errors.ts';
import { compileEventPattern, parseEventPattern } from './pattern.ts';
import {
  type Action,
  DEFAULT_BUS,
  type EventsState,
  findBus,
  RULE_STATES,
  type RuleRecord,
  type RuleState,
  type RuleTarget,
  requireBus,
} from './state.ts';
import { optionalString, page, requiredString } from './wire.ts';

export interface PutRuleInput {
  name: string;
  /**
   * A bus name or ARN.
   * @default `default`
   */
  busName?: string;
  /** The pattern: an object (CloudFormation) or JSON text (the API). */
  eventPattern: unknown;
  state?: string;
  description?: string;
  targets: RuleTarget[];
}

const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

function ruleArn(state: EventsState, busName: string, name: string): string {
  const path = busName === DEFAULT_BUS ? name : `${busName}/${name}`;
  return `arn:aws:events:${state.region}:${state.accountId}:rule/${path}`;
}

/**
 * Creates a rule with its targets. Fails with EventsEmulatorError (bad name, unknown bus, a rule of
 * that name on the bus, a target that is not an SQS queue of this account and Region) or
 * EventPatternError (the pattern EventBridge would refuse).
 */
export function putRule(state: EventsState, input: PutRuleInput): RuleRecord {
  if (!NAME.test(input.name)) throw new EventsEmulatorError(`"${input.name}" is not a valid rule name`);
  const bus = findBus(state, input.busName, 'EventBusName');
  if (!bus) throw new EventsEmulatorError(`event bus ${input.busName} does not exist`);
  if (bus.rules.has(input.name)) {
    throw new EventsEmulatorError(`rule ${input.name} already exists on event bus ${bus.name}`);
  }
  const ruleState = (input.state ?? 'ENABLED') as RuleState;
  if (!RULE_STATES.includes(ruleState)) throw new EventsEmulatorError(`"${input.state}" is not a rule state`);
  const matches =
    typeof input.eventPattern === 'string'
      ? parseEventPattern(input.eventPattern)
      : compileEventPattern(input.eventPattern);
  const sqsArn = `arn:aws:sqs:${state.region}:${state.accountId}:`;
  for (const target of input.targets) {
    if (!NAME.test(target.id) || !target.arn.startsWith(sqsArn)) {
      throw new EventsEmulatorError(
        `target ${target.id} (${target.arn}) of rule ${input.name}: the sandbox delivers only to SQS queues of ${sqsArn}*`,
      );
    }
  }
  const rule: RuleRecord = {
    name: input.name,
    arn: ruleArn(state, bus.name, input.name),
    busName: bus.name,
    eventPattern:
      typeof input.eventPattern === 'string' ? input.eventPattern : JSON.stringify(input.eventPattern),
    matches,
    state: ruleState,
    ...(input.description !== undefined && { description: input.description }),
    targets: input.targets.map((t) => ({ ...t })),
  };
  bus.rules.set(rule.name, rule);
  return rule;
}

function ruleView(rule: RuleRecord) {
  return {
    Name: rule.name,
    Arn: rule.arn,
    EventPattern: rule.eventPattern,
    State: rule.state,
    Description: rule.description,
    EventBusName: rule.busName,
  };
}

function ruleIn(state: EventsState, input: Record<string, unknown>, nameMember: string): RuleRecord {
  const name = requiredString(input, nameMember);
  const bus = requireBus(state, optionalString(input, 'EventBusName'), 'eventBusName');
  const rule = bus.rules.get(name);
  if (!rule) throw ruleNotFound(name, bus.name);
  return rule;
}

/** ListRules: the bus's rules in creation order, filtered by NamePrefix. */
export const listRules: Action = (state, input) => {
  const bus = requireBus(state, optionalString(input, 'EventBusName'), 'eventBusName');
  const prefix = optionalString(input, 'NamePrefix') ?? '';
  const rules = [...bus.rules.values()].filter((r) => r.name.startsWith(prefix));
  const { items, NextToken } = page(rules, input);
  return { Rules: items.map(ruleView), ...(NextToken && { NextToken }) };
};

export const describeRule: Action = (state, input) => ({
  ...ruleView(ruleIn(state, input, 'Name')),
  CreatedBy: state.accountId,
});

export const listTargetsByRule: Action = (state, input) => {
  const rule = ruleIn(state, input, 'Rule');
  const { items, NextToken } = page(rule.targets, input);
  return { Targets: items.map((t) => ({ Id: t.id, Arn: t.arn })), ...(NextToken && { NextToken }) };
};

/** The fields TestEventPattern requires of its event (EventBridge API Reference, TestEventPattern). */
const REQUIRED_EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'resources', 'detail-type'];

/** TestEventPattern: `{Result}` of the pattern over the event; a bad pattern is InvalidEventPatternException. */
export const testEventPattern: Action = (_state, input) => {
  const text = requiredString(input, 'EventPattern');
  const eventText = requiredString(input, 'Event');
  let event: unknown;
  try {
    event = JSON.parse(eventText);
  } catch {
    event = undefined;
  }
  const missing = isObject(event) ? REQUIRED_EVENT_FIELDS.filter((f) => !(f in event)) : ['a JSON object'];
  if (missing.length > 0) {
    throw new EventsApiError(
      'ValidationException',
      `Parameter Event is not valid. Missing: ${missing.join(', ')}`,
    );
  }
  try {
    return { Result: parseEventPattern(text)(event) };
  } catch (error) {
    if (!(error instanceof EventPatternError)) throw error;
    throw new EventsApiError(
      'InvalidEventPatternException',
      `Event pattern is not valid. Reason: ${error.message}`,
    );
  }
};
