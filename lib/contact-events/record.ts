/**
 * One SQS record of the contact events queue: an Amazon Connect contact event, as the contact events
 * rule delivered it.
 *
 * Input: the record. Output: what became of it (`applied`, `unchanged`, `unknown`, `ignored`,
 * `malformed`); throws when SQS must deliver it again (a DynamoDB failure, a conflict, or a task not
 * yet in the ledger).
 *
 * Primary course: read the event (event.ts); a fact about a contact in the ledger is folded into its
 * entry (apply.ts) and the effects it causes are performed at once (lib/outcomes/drain.ts). A contact
 * the ledger does not know is counted and ignored, except while its event is young and has been
 * received fewer than `UNKNOWN_RETRY_RECEIVES` times: ingest writes its entry right after
 * StartTaskContact answers, and the event may arrive first. Then it comes back in a few seconds.
 */
import type { SQSRecord } from 'aws-lambda';
import type { ContactIndexLedger, ProgressLedger } from '#lib/ledger/port.ts';
import type { Logger } from '#lib/observability/logger.ts';
import type { DrainResult } from '#lib/outcomes/drain.ts';
import type { Effect } from '#lib/outcomes/effects.ts';
import { applyContactFact } from './apply.ts';
import { ContactNotYetKnownError } from './errors.ts';
import { readContactEvent } from './event.ts';

/** An unknown contact's event younger than this is retried, for its entry may still be written. */
const UNKNOWN_RETRY_WINDOW_MS = 5 * 60_000;
/** ... on its receives before this one ... */
const UNKNOWN_RETRY_RECEIVES = 4;
/** ... after 2, 4, then 8 seconds: the entry is written right after StartTaskContact answers. */
const unknownRetrySeconds = (receives: number) => 2 ** Math.min(3, Math.max(1, receives));

type ContactEventMetric =
  | 'ContactEventsApplied'
  | 'ContactEventsUnchanged'
  | 'ContactEventsUnknown'
  | 'ContactEventsIgnored'
  | 'ContactEventsMalformed';

export interface ContactEventDeps {
  ledger: ProgressLedger & ContactIndexLedger;
  drain(key: string, effects: readonly Effect[]): Promise<DrainResult>;
  /** Pushes the record's visibility out (its retry). */
  changeVisibility(receiptHandle: string, seconds: number): Promise<void>;
  count(metric: ContactEventMetric, dimensions?: { reason?: string }): void;
  log: Pick<Logger, 'info' | 'warn'>;
  now: () => number;
}

export type ContactEventResult = 'applied' | 'unchanged' | 'unknown' | 'ignored' | 'malformed';

export async function processContactEvent(
  record: SQSRecord,
  deps: ContactEventDeps,
): Promise<ContactEventResult> {
  const read = readContactEvent(record.body);
  if (read.kind === 'malformed') {
    deps.count('ContactEventsMalformed');
    deps.log.warn('not a contact event; ignored', { messageId: record.messageId, reason: read.reason });
    return 'malformed';
  }
  if (read.kind === 'ignored') {
    deps.count('ContactEventsIgnored', { reason: read.reason });
    return 'ignored';
  }
  const { instanceId, contactId, fact } = read;
  const out = await applyContactFact(instanceId, contactId, fact, { ledger: deps.ledger, now: deps.now });
  const fields = { contactId, eventType: fact.type, eventId: fact.ref };
  if (out.status === 'unknown') {
    const receives = Number(record.attributes.ApproximateReceiveCount ?? '1') || 1;
    if (deps.now() - fact.at < UNKNOWN_RETRY_WINDOW_MS && receives < UNKNOWN_RETRY_RECEIVES) {
      await deps.changeVisibility(record.receiptHandle, unknownRetrySeconds(receives));
      throw new ContactNotYetKnownError(contactId);
    }
    deps.count('ContactEventsUnknown');
    return 'unknown';
  }
  if (out.status === 'unchanged') {
    deps.count('ContactEventsUnchanged');
    return 'unchanged';
  }
  deps.count('ContactEventsApplied');
  deps.log.info('contact event recorded', { ...fields, clientToken: out.clientToken, state: out.view.state });
  if (out.effects.length > 0) await deps.drain(out.clientToken, out.effects);
  return 'applied';
}
