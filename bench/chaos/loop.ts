/**
 * The chaos run's side of closing the loop: the contactEvents function built with the run's clients,
 * the outcome bus read back as the run goes, and the ledger entries read at the end
 * (common/chaos/outcomes.ts compares them with the emulator).
 */
import type { ConnectClient } from '@aws-sdk/client-connect';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { LedgerRead, PublishedOutcome } from '#common/chaos/outcomes.ts';
import type { ChaosReport } from '#common/chaos/report.ts';
import { contactEventsConfigFromEnv } from '#lib/config.ts';
import { createContactEventsHandler } from '#lib/contact-events/handler.ts';
import { CONTACT_EVENT_TYPES, viewOf } from '#lib/contact-events/progress.ts';
import type { SweepSummary } from '#lib/contact-events/sweep.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import { silentLogger } from '#lib/observability/logger.ts';
import type { Sandbox } from '#sandbox/index.ts';

/**
 * The contactEvents function as functions/contact-events.ts builds it, with the run's clients (its
 * EventBridge client crashes PutEvents while the faults are on). The configuration is read now, from
 * the environment the caller set (the pipeline re-applies serverless.yml's when it starts). `now` is
 * the sandbox's clock, which the run moves.
 */
export function contactEventsFunction(
  clients: {
    dynamodb: DynamoDBClient;
    connect: ConnectClient;
    sqs: SQSClient;
    eventbridge: EventBridgeClient;
  },
  now: () => number,
): () => ReturnType<typeof createContactEventsHandler> {
  const config = contactEventsConfigFromEnv();
  return () => createContactEventsHandler({ config, clients, now, logger: silentLogger });
}

/** What the contact events sweep runs did, in all. */
export type SweepFigures = ChaosReport['observed']['contactSweeps'];

export function addSweep(figures: SweepFigures, summary: SweepSummary | undefined): void {
  figures.runs += 1;
  if (summary === undefined) {
    figures.failed += 1;
    return;
  }
  figures.checked += summary.checked;
  figures.closed += summary.closed;
  figures.confirmed += summary.confirmed;
  figures.drained += summary.drained;
}

/** The CloudEvent of a kept outcome bus entry. */
function asOutcome(detail: Record<string, unknown>): PublishedOutcome {
  return {
    id: String(detail.id),
    type: String(detail.type),
    subject: String(detail.subject),
    data: detail.data,
  };
}

/**
 * Reads the outcome bus's kept events as they come: call `read()` often enough that the bus does not
 * drop any before they are read (it keeps the last 10,000); those it did drop are counted `unread`.
 */
export function createOutcomeReader(events: Sandbox['events'], bus: string) {
  let since = 0;
  let unread = 0;
  const published: PublishedOutcome[] = [];
  return {
    read(): void {
      for (const kept of events.kept(bus, since).events) {
        unread += Math.max(0, kept.seq - since - 1);
        since = kept.seq;
        published.push(asOutcome(kept.event.detail));
      }
    },
    published: published as readonly PublishedOutcome[],
    unread: () => unread,
  };
}

export type OutcomeReader = ReturnType<typeof createOutcomeReader>;

/** The entries of the tasks `clientTokens` as the ledger holds them now, a few reads at a time. */
export async function readLedger(
  client: DynamoDBClient,
  tableName: string,
  clientTokens: readonly string[],
): Promise<Map<string, LedgerRead>> {
  const ledger = new DynamoLedger({ client, tableName });
  const out = new Map<string, LedgerRead>();
  const todo = [...clientTokens];
  const reader = async () => {
    for (let token = todo.pop(); token !== undefined; token = todo.pop()) {
      const progress = await ledger.progress(token);
      if (progress === undefined) continue;
      const view = viewOf(progress.facts);
      out.set(token, {
        ...(progress.closedAt === undefined ? {} : { closedAt: progress.closedAt }),
        pending: progress.pending,
        ...(view.agentId === undefined ? {} : { agentId: view.agentId }),
        ...(view.disconnectReason === undefined ? {} : { disconnectReason: view.disconnectReason }),
        facts: CONTACT_EVENT_TYPES.flatMap((type) => {
          const fact = progress.facts[type];
          return fact === undefined ? [] : [`${type} via ${fact.via}`];
        }),
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, reader));
  return out;
}
