/**
 * The sandbox's EventBridge: event buses and rules with SQS targets, over the AWS JSON 1.1 protocol
 * as `@aws-sdk/client-eventbridge` speaks it: PutEvents, ListEventBuses, DescribeEventBus, ListRules,
 * DescribeRule, ListTargetsByRule, TestEventPattern (`http.ts`, one module per concern).
 *
 *   const events = createEventsEmulator({ deliver: (queueArn, body) => sqs.sendToArn(queueArn, body) });
 *   events.createBus('outcomes');
 *   events.putRule({ name: 'r', eventPattern: { source: ['x'] }, targets: [{ id: 't', arn: queueArn }] });
 *
 * Semantics: an event put on a bus (PutEvents, or `publish` from the Connect emulator) is matched at
 * once against the bus's rules that are not DISABLED (`pattern.ts`) and sent to each matching rule's
 * queues, synchronously; a delivery that fails (the queue is gone, the event is over the queue's
 * message size) is recorded on the kept event, not retried. Every event is kept on its bus (the last
 * `keepLimit`, default 10,000) with a sequence number, for `GET /_sandbox/events`.
 *
 * Not emulated: creating buses and rules through the API (they come from serverless.yml), targets
 * other than SQS, input transformers, archives and replays, schedules (the sandbox's scheduler runs
 * serverless.yml's `schedule` events), partner and global endpoints.
 */
import { now as clockNow } from '#lib/clock.ts';
import type { EmulatorHandler } from '../http-types.ts';
import type { EventEnvelope } from './envelope.ts';
import { busNotFound } from './errors.ts';
import { eventsHandler } from './http.ts';
import { publish } from './publish.ts';
import { type PutRuleInput, putRule } from './rules.ts';
import { createBus, createEventsState, findBus, type KeptEvent } from './state.ts';

export type { EventEnvelope } from './envelope.ts';

export interface EventsEmulatorOptions {
  /** Sends a rule's event to the SQS queue `queueArn`; throws with the reason when it cannot. */
  deliver(queueArn: string, body: string): void;
  /**
   * @default 000000000000
   */
  accountId?: string;
  /**
   * @default us-east-1
   */
  region?: string;
  /** Business clock in epoch ms (an entry without Time, bus creation); default the movable clock. */
  now?: () => number;
  /**
   * Events kept per bus.
   * @default 10,000
   */
  keepLimit?: number;
}

interface KeptEvents {
  bus: string;
  events: KeptEvent[];
  /** The sequence number of the newest event ever kept on the bus (0: none yet). */
  lastSeq: number;
  /** How many older events were dropped to stay within the bound. */
  evicted: number;
}

export interface EventsEmulator {
  /** Serves requests with header `x-amz-target: AWSEvents.<Operation>`; never throws. */
  handle: EmulatorHandler;
  /** Creates a bus (EventsEmulatorError when the name is taken or invalid); returns its name and ARN. */
  createBus(name: string): { name: string; arn: string };
  /** Creates a rule with its targets (EventsEmulatorError, EventPatternError). */
  putRule(input: PutRuleInput): { name: string; arn: string; busName: string };
  /** Puts an already built event on a bus (a name or an ARN), as an AWS service does. */
  publish(bus: string, event: EventEnvelope): KeptEvent;
  /** The events kept on a bus after sequence number `since` (default 0: all), oldest first. */
  kept(bus: string, since?: number): KeptEvents;
  /** Every bus with its count of kept events and last sequence number. */
  buses(): Array<{ name: string; arn: string; rules: string[]; kept: number; lastSeq: number }>;
  /** Drops the kept events of one bus, or of all; sequence numbers go on from where they were. */
  clearKept(bus?: string): void;
}

export function createEventsEmulator(options: EventsEmulatorOptions): EventsEmulator {
  const state = createEventsState({
    accountId: options.accountId ?? '000000000000',
    region: options.region ?? 'us-east-1',
    now: options.now ?? clockNow,
    deliver: options.deliver,
    keepLimit: options.keepLimit ?? 10_000,
  });
  const bus = (ref: string) => {
    const found = findBus(state, ref, 'bus');
    if (!found) throw busNotFound(ref);
    return found;
  };
  return {
    handle: eventsHandler(state),
    createBus(name) {
      const created = createBus(state, name);
      return { name: created.name, arn: created.arn };
    },
    putRule(input) {
      const rule = putRule(state, input);
      return { name: rule.name, arn: rule.arn, busName: rule.busName };
    },
    publish: (ref, event) => publish(state, bus(ref), event),
    kept(ref, since = 0) {
      const { name, kept, lastSeq, evicted } = bus(ref);
      return { bus: name, events: structuredClone(kept.filter((e) => e.seq > since)), lastSeq, evicted };
    },
    buses: () =>
      [...state.buses.values()].map((b) => ({
        name: b.name,
        arn: b.arn,
        rules: [...b.rules.keys()],
        kept: b.kept.length,
        lastSeq: b.lastSeq,
      })),
    clearKept(ref) {
      for (const b of ref === undefined ? state.buses.values() : [bus(ref)]) b.kept.length = 0;
    },
  };
}
