/**
 * `/_sandbox/events`: the events kept per bus.
 *
 *   GET    /_sandbox/events                       every bus: name, ARN, rules, kept count, last seq
 *   GET    /_sandbox/events?bus=<name|arn>&since=<seq>   the bus's kept events after `since`, oldest first
 *   DELETE /_sandbox/events[?bus=<name|arn>]      drops the kept events (sequence numbers go on)
 */
import type { EmulatorRequest, EmulatorResponse } from '../http-types.ts';
import type { EventsEmulator } from './emulator.ts';
import { EventsApiError } from './errors.ts';

function json(status: number, body: unknown): EmulatorResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function sinceOf(req: EmulatorRequest): number {
  const raw = req.query.get('since');
  if (raw === null || raw === '') return 0;
  const since = Number(raw);
  if (!Number.isInteger(since) || since < 0) {
    throw new EventsApiError('ValidationException', `since must be a whole number ≥ 0, got "${raw}"`);
  }
  return since;
}

/** Serves the route; errors as `{__type, message}` with their status (an unknown bus: 400). */
export function eventsAdmin(events: EventsEmulator, req: EmulatorRequest): EmulatorResponse {
  try {
    const bus = req.query.get('bus') || undefined;
    if (req.method === 'DELETE') {
      events.clearKept(bus);
      return json(200, { cleared: bus ?? 'all' });
    }
    if (req.method !== 'GET') {
      throw new EventsApiError(
        'ValidationException',
        `/_sandbox/events takes GET or DELETE, not ${req.method}`,
      );
    }
    return json(200, bus === undefined ? { buses: events.buses() } : events.kept(bus, sinceOf(req)));
  } catch (error) {
    if (!(error instanceof EventsApiError)) throw error;
    return json(error.status, { __type: error.code, message: error.message });
  }
}
