/**
 * An event put on a bus: matched against the bus's rules that are not DISABLED, sent to every target
 * of each matching rule (the event JSON as the SQS message body, as EventBridge delivers to a queue),
 * and kept on the bus with the rules it matched and any delivery that failed.
 */
import type { EventEnvelope } from './envelope.ts';
import { type BusRecord, type EventsState, type FailedDelivery, type KeptEvent, keep } from './state.ts';

export function publish(state: EventsState, bus: BusRecord, event: EventEnvelope): KeptEvent {
  const matched = [...bus.rules.values()].filter((rule) => rule.state !== 'DISABLED' && rule.matches(event));
  const body = JSON.stringify(event);
  const failedDeliveries: FailedDelivery[] = [];
  for (const rule of matched) {
    for (const target of rule.targets) {
      try {
        state.deliver(target.arn, body);
      } catch (error) {
        failedDeliveries.push({
          rule: rule.name,
          targetId: target.id,
          targetArn: target.arn,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
  return keep(state, bus, {
    event: structuredClone(event),
    matchedRules: matched.map((rule) => rule.name),
    failedDeliveries,
  });
}
