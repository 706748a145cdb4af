/**
 * PutEvents (EventBridge API Reference): 1 to 10 entries whose total size, counted as "Calculating
 * Amazon EventBridge PutEvents event entry size" (EventBridge User Guide) counts it, is at most
 * 256 KB; each entry succeeds with an EventId or fails on its own with ErrorCode and ErrorMessage.
 *
 * Request-level: Entries absent, empty or over 10, an EventBusName outside the model's pattern, or
 * the size over the limit are ValidationException; a member of the wrong JSON type is
 * SerializationException. Per entry: Source, DetailType or Detail absent → InvalidArgument; a Source
 * starting with `aws.` → NotAuthorizedForSourceException (only AWS services publish those); Detail
 * not a JSON object → MalformedDetail.
 *
 * Emulator choice: EventBridge accepts an entry for a bus that does not exist and drops it; the
 * sandbox fails the entry (InvalidArgument, "Event bus … does not exist.") so that a misspelt bus
 * shows locally.
 */
import { randomUUID } from 'node:crypto';
import { isObject } from '#lib/guards.ts';
import { type EventEnvelope, eventTime } from './envelope.ts';
import { EventsApiError, validationError } from './errors.ts';
import { publish } from './publish.ts';
import { type Action, checkBusRef, type EventsState, findBus } from './state.ts';
import { type JsonObject, optionalObjectList, optionalString, optionalStringList } from './wire.ts';

const MAX_ENTRIES = 10;
/** "The maximum size for a PutEvents event entry is 256 KB" (PutEvents, EventBridge API Reference). */
const MAX_ENTRIES_BYTES = 256 * 1024;

interface EntryResult {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

interface Entry {
  source?: string;
  detailType?: string;
  detail?: string;
  resources: string[];
  /** Epoch seconds, as the SDK sends `Time`. */
  time?: number;
  busName?: string;
}

const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));

/** The entry's size as EventBridge counts it: Time 14 bytes, then the UTF-8 bytes of the strings. */
function entrySize(entry: Entry): number {
  const resources = entry.resources.reduce((sum, r) => sum + bytes(r), 0);
  return (
    (entry.time === undefined ? 0 : 14) +
    bytes(entry.source) +
    bytes(entry.detailType) +
    bytes(entry.detail) +
    resources
  );
}

function readEntry(input: JsonObject, index: number): Entry {
  const time = input.Time;
  if (time !== undefined && time !== null && (typeof time !== 'number' || !Number.isFinite(time))) {
    throw new EventsApiError('SerializationException', 'Member Time must be a timestamp.');
  }
  const busName = optionalString(input, 'EventBusName');
  if (busName !== undefined) checkBusRef(busName, `entries.${index + 1}.member.eventBusName`);
  return {
    source: optionalString(input, 'Source'),
    detailType: optionalString(input, 'DetailType'),
    detail: optionalString(input, 'Detail'),
    resources: optionalStringList(input, 'Resources') ?? [],
    ...(typeof time === 'number' && { time }),
    busName,
  };
}

const failed = (ErrorCode: string, ErrorMessage: string): EntryResult => ({ ErrorCode, ErrorMessage });
const required = (name: string) =>
  failed('InvalidArgument', `Parameter ${name} is not valid. Reason: ${name} is a required argument.`);

function putEntry(state: EventsState, entry: Entry): EntryResult {
  if (!entry.source) return required('Source');
  if (!entry.detailType) return required('DetailType');
  if (entry.detail === undefined) return required('Detail');
  if (entry.source.startsWith('aws.'))
    return failed('NotAuthorizedForSourceException', 'Not authorized for the source.');
  let detail: unknown;
  try {
    detail = JSON.parse(entry.detail);
  } catch {
    detail = undefined;
  }
  if (!isObject(detail)) return failed('MalformedDetail', 'Detail is malformed.');
  const bus = findBus(state, entry.busName, 'EventBusName');
  if (!bus) return failed('InvalidArgument', `Event bus ${entry.busName} does not exist.`);
  const event: EventEnvelope = {
    version: '0',
    id: randomUUID(),
    'detail-type': entry.detailType,
    source: entry.source,
    account: state.accountId,
    time: eventTime(entry.time === undefined ? state.now() : entry.time * 1000),
    region: state.region,
    resources: entry.resources,
    detail,
  };
  publish(state, bus, event);
  return { EventId: event.id };
}

export const putEvents: Action = (state, input) => {
  const raw = optionalObjectList(input, 'Entries');
  if (raw === undefined) throw validationError('entries', null, 'Member must not be null');
  if (raw.length < 1)
    throw validationError('entries', '[]', 'Member must have length greater than or equal to 1');
  if (raw.length > MAX_ENTRIES) {
    throw validationError(
      'entries',
      `[${raw.length} entries]`,
      `Member must have length less than or equal to ${MAX_ENTRIES}`,
    );
  }
  const entries = raw.map(readEntry);
  if (entries.reduce((sum, entry) => sum + entrySize(entry), 0) > MAX_ENTRIES_BYTES) {
    throw new EventsApiError(
      'ValidationException',
      'Total size of the entries in the request is over the limit.',
    );
  }
  const results = entries.map((entry) => putEntry(state, entry));
  return { FailedEntryCount: results.filter((r) => r.ErrorCode !== undefined).length, Entries: results };
};
