/**
 * Puts outcomes on the outcome bus: one PutEvents entry per outcome, `Source` the service
 * (`OUTCOME_SOURCE`), `DetailType` the outcome type, `Detail` the CloudEvent. PutEvents takes at most
 * 10 entries per call and may accept some entries and refuse others (FailedEntryCount, per-entry
 * ErrorCode: EventBridge API reference): the refused ones are reported, so they stay in the outbox.
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { OUTCOME_SOURCE, type Outcome } from './outcome.ts';

/** PutEvents: at most 10 entries per request (EventBridge API reference). */
const MAX_ENTRIES = 10;

export interface OutcomePublisher {
  /** Publishes the outcomes; resolves with the ids that were not accepted (to try again later). */
  publish(outcomes: readonly Outcome[]): Promise<{ failed: string[] }>;
}

export class EventBridgeOutcomePublisher implements OutcomePublisher {
  constructor(
    readonly client: EventBridgeClient,
    readonly busName: string,
  ) {}

  async publish(outcomes: readonly Outcome[]): Promise<{ failed: string[] }> {
    const failed: string[] = [];
    for (let i = 0; i < outcomes.length; i += MAX_ENTRIES) {
      const batch = outcomes.slice(i, i + MAX_ENTRIES);
      const out = await this.client.send(
        new PutEventsCommand({
          Entries: batch.map((outcome) => ({
            EventBusName: this.busName,
            Source: OUTCOME_SOURCE,
            DetailType: outcome.type,
            Detail: JSON.stringify(outcome),
            Time: new Date(outcome.time),
          })),
        }),
      );
      if ((out.FailedEntryCount ?? 0) === 0) continue;
      (out.Entries ?? []).forEach((entry, index) => {
        const outcome = batch[index];
        if (entry.ErrorCode !== undefined && outcome !== undefined) failed.push(outcome.id);
      });
    }
    return { failed };
  }
}
