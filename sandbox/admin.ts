/**
 * The sandbox's own admin routes under `/_sandbox/` (health, clock, queues, events, faults, reset); extensions
 * (the pipeline's schedules) come first, and anything else goes to the Connect emulator's admin API.
 */
import { isObject } from '#lib/guards.ts';
import type { MovableClock } from './clock.ts';
import { awsJsonError } from './edge.ts';
import { eventsAdmin } from './events/admin.ts';
import type { EventsEmulator } from './events/emulator.ts';
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from './http-types.ts';
import type { SqsEmulator } from './sqs/emulator.ts';

/** Extra admin routes (the pipeline adds /_sandbox/schedules). Return undefined to fall through. */
export type AdminExtension = (req: EmulatorRequest) => Promise<EmulatorResponse | undefined>;

export interface AdminTargets {
  stage: string;
  clock: MovableClock;
  endpoint(): string;
  sqs: SqsEmulator;
  events: EventsEmulator;
  connect: { admin: EmulatorHandler };
  extensions: readonly AdminExtension[];
  dynamodbErrorRate(): number;
  setDynamoDbErrorRate(rate: number): void;
}

type Route = (req: EmulatorRequest, targets: AdminTargets) => EmulatorResponse | Promise<EmulatorResponse>;

function ok(body: unknown): EmulatorResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

function parseJson(req: EmulatorRequest): Record<string, unknown> {
  const text = req.body.toString('utf8').trim();
  if (text === '') return {};
  const value = JSON.parse(text) as unknown;
  if (!isObject(value)) throw new TypeError('expected a JSON object');
  return value;
}

const health: Route = (_req, t) => ok({ ok: true, endpoint: t.endpoint(), stage: t.stage });

/** GET: the business clock; POST `{advanceMs, advanceSeconds}`: moves it forward first. */
const clock: Route = (req, t) => {
  if (req.method === 'POST') {
    const body = parseJson(req);
    const ms = Number(body.advanceMs ?? 0) + Number(body.advanceSeconds ?? 0) * 1000;
    if (!Number.isFinite(ms) || ms < 0) {
      return awsJsonError(400, 'InvalidParameterException', 'advanceMs/advanceSeconds must be ≥ 0');
    }
    t.clock.advance(ms);
  }
  return ok({ now: new Date(t.clock.now()).toISOString(), offsetMs: t.clock.offsetMs() });
};

const queues: Route = (_req, t) => ok({ queues: t.sqs.stats() });

const events: Route = (req, t) => eventsAdmin(t.events, req);

/** PUT/POST `{dynamodbErrorRate, sqsDuplicateDeliveryRate}` sets the faults; any method reads them. */
const faults: Route = (req, t) => {
  if (req.method === 'PUT' || req.method === 'POST') {
    const body = parseJson(req);
    if (body.dynamodbErrorRate !== undefined) t.setDynamoDbErrorRate(Number(body.dynamodbErrorRate));
    if (body.sqsDuplicateDeliveryRate !== undefined)
      t.sqs.setFaults({ duplicateDeliveryRate: Number(body.sqsDuplicateDeliveryRate) });
  }
  return ok({ dynamodbErrorRate: t.dynamodbErrorRate() });
};

/**
 * POST: empties the queues, drops the kept events and clears the faults here, then lets Connect
 * reset its own state.
 */
const reset: Route = (req, t) => {
  if (req.method === 'POST') {
    t.sqs.reset();
    t.events.clearKept();
    t.sqs.setFaults({ duplicateDeliveryRate: 0 });
    t.setDynamoDbErrorRate(0);
  }
  return t.connect.admin(req);
};

const ROUTES: Readonly<Record<string, Route>> = {
  '/_sandbox/health': health,
  '/_sandbox/clock': clock,
  '/_sandbox/queues': queues,
  '/_sandbox/events': events,
  '/_sandbox/faults': faults,
  '/_sandbox/reset': reset,
};

export function createAdminHandler(targets: AdminTargets): EmulatorHandler {
  return async (req) => {
    try {
      for (const extension of targets.extensions) {
        const out = await extension(req);
        if (out) return out;
      }
      const path = req.path.replace(/\/+$/, '');
      const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
      return route ? route(req, targets) : targets.connect.admin(req);
    } catch (error) {
      return awsJsonError(400, 'InvalidParameterException', `bad admin request: ${(error as Error).message}`);
    }
  };
}
