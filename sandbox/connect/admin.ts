/**
 * The emulator's admin routes under /_sandbox: contacts (list, seed, an agent's accept and
 * complete), calls, reset, config.
 */
import { z } from 'zod';
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from '../http-types.ts';
import type { ConnectEmulatorConfig, ConnectEmulatorConfigPatch } from './config.ts';
import { ConnectApiError, ConnectEmulatorConfigError } from './errors.ts';
import { errorResponse, json } from './http.ts';
import { readJsonObject } from './routes.ts';
import type { ContactFilter, ContactView, SeedContactInput } from './service.ts';

/** What the admin routes act on: the ConnectEmulator's own methods. */
export interface AdminTarget {
  contacts(filter?: ContactFilter): ContactView[];
  /** Adds a contact that did not come from StartTaskContact (e.g. a VOICE contact). */
  seedContact(input: SeedContactInput): ContactView;
  /** An agent accepts a queued contact (`agent.ts`); `userId` defaults to the instance's first user. */
  acceptContact(contactId: string, userId?: string): ContactView;
  /** The agent ends the contact, with `afterContactWorkSeconds` of after-contact work if given. */
  completeContact(contactId: string, afterContactWorkSeconds?: number): ContactView;
  callCounts(): Record<string, Record<string, number>>;
  config(): ConnectEmulatorConfig;
  /** Validates and merges a patch; throws ConnectEmulatorConfigError. Token buckets start full again. */
  configure(patch: ConnectEmulatorConfigPatch): void;
  /**
   * Clears contacts, runtime templates, tokens, counters and faults (not the world). Requests still
   * waiting on added latency fail with 500 and no effect; held lost responses are released; contact
   * events still delayed by a fault are dropped (counted as `discarded`).
   */
  reset(): void;
}

const seedContactSchema = z.strictObject({
  instanceId: z.string().min(1).optional(),
  channel: z.enum(['VOICE', 'CHAT', 'TASK', 'EMAIL']),
  state: z.enum(['ACTIVE', 'ENDED']).optional(),
  name: z.string().optional(),
  description: z.string().optional(),
  attributes: z.record(z.string(), z.string()).optional(),
  initiationMethod: z.string().min(1).optional(),
});

const acceptSchema = z.strictObject({ userId: z.string().min(1).optional() });
const completeSchema = z.strictObject({
  afterContactWorkSeconds: z.number().int().positive().max(86_400).optional(),
});

type AdminRoute = (target: AdminTarget, req: EmulatorRequest) => EmulatorResponse;

/** `POST /_sandbox/contacts/<contactId>/accept|complete`: what an agent does. */
function agentRoute(target: AdminTarget, req: EmulatorRequest, path: string): EmulatorResponse | undefined {
  const match = /^\/_sandbox\/contacts\/([^/]+)\/(accept|complete)$/.exec(path);
  if (!match || req.method !== 'POST') return undefined;
  const [, contactId, action] = match as unknown as [string, string, 'accept' | 'complete'];
  const body = readJsonObject(req.body);
  if (action === 'accept') {
    const { userId } = parse(acceptSchema, body, 'accept');
    return json(200, { contact: target.acceptContact(contactId, userId) });
  }
  const { afterContactWorkSeconds } = parse(completeSchema, body, 'complete');
  return json(200, { contact: target.completeContact(contactId, afterContactWorkSeconds) });
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new ConnectEmulatorConfigError(`invalid ${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const ADMIN_ROUTES: Record<string, AdminRoute> = {
  'GET /_sandbox/contacts': (target, req) => {
    const filter: ContactFilter = {};
    for (const key of ['instanceId', 'channel', 'state', 'name', 'clientToken'] as const) {
      const value = req.query.get(key);
      if (value !== null && value !== '') filter[key] = value;
    }
    return json(200, { contacts: target.contacts(filter) });
  },
  'POST /_sandbox/contacts': (target, req) =>
    json(200, { contact: target.seedContact(parse(seedContactSchema, readJsonObject(req.body), 'contact')) }),
  'GET /_sandbox/calls': (target) => json(200, target.callCounts()),
  'POST /_sandbox/reset': (target) => {
    target.reset();
    return json(200, { reset: true });
  },
  'GET /_sandbox/config': (target) => json(200, target.config()),
  'PUT /_sandbox/config': (target, req) => {
    target.configure(readJsonObject(req.body) as ConnectEmulatorConfigPatch);
    return json(200, target.config());
  },
};
ADMIN_ROUTES['POST /_sandbox/config'] = ADMIN_ROUTES['PUT /_sandbox/config'] as AdminRoute;

function adminError(error: unknown): EmulatorResponse {
  if (error instanceof ConnectApiError) return errorResponse(error);
  if (error instanceof ConnectEmulatorConfigError) {
    return errorResponse(new ConnectApiError('InvalidParameterException', error.message, { cause: error }));
  }
  return errorResponse(
    new ConnectApiError('InternalServiceException', 'the Connect emulator admin API failed', {
      cause: error,
    }),
  );
}

export function createAdminHandler(target: AdminTarget): EmulatorHandler {
  return async (req) => {
    try {
      const path = req.path.replace(/\/+$/, '');
      const route = ADMIN_ROUTES[`${req.method} ${path}`];
      if (route) return route(target, req);
      const agent = agentRoute(target, req, path);
      if (agent) return agent;
      return errorResponse(
        new ConnectApiError(
          'UnknownOperationException',
          `the sandbox has no admin route ${req.method} ${path}`,
        ),
      );
    } catch (error) {
      return adminError(error);
    }
  };
}
