/**
 * The sandbox's Amazon Connect task-API emulator, speaking REST-JSON as `@aws-sdk/client-connect`
 * does: StartTaskContact, TransferContact, StopContact, DescribeContact, UpdateContact,
 * ListContactReferences and the task-template APIs (Create/Get/List/Update/Delete).
 *
 *   const connect = createConnectEmulator({ world: loadWorld() });
 *   // edge: if (connect.isConnectRequest(req)) return connect.handle(req);
 *   //       /_sandbox/contacts|calls|reset|config → connect.admin(req)
 *
 * Every request goes through, in order: added latency → token bucket (429 ThrottlingException) →
 * injected error (no effect) → the operation (`service.ts`) → lost response (the effect stays; the
 * caller sees 500 InternalServiceException, or with lostResponseMode 'timeout' a response held for
 * lostResponseDelayMs). Errors carry `x-amzn-errortype: <Name>` and `{"Message"}` with the model's
 * status, so the SDK raises its own exception classes.
 *
 * Decisions:
 * - Throttling comes first, so an idempotent replay (a known ClientToken) costs a token like any
 *   request, as at the service's front door; the replay itself creates nothing and skips the quotas.
 * - Time (token buckets, ScheduledTime window, auto-complete, ClientToken window) is the emulator's
 *   `now`, by default the sandbox's movable clock; only latency and held responses use real time.
 * - `callCounts()` counts outcomes per operation: "200", an exception name, or "LostResponse".
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { now as clockNow } from '#lib/clock.ts';
import { type TaskLimits, taskLimitsFromEnv } from '#lib/connect/constraints.ts';
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from '../http-types.ts';
import {
  type ConnectEmulatorConfig,
  type ConnectEmulatorConfigPatch,
  type ConnectOperation,
  defaultConfig,
  INJECTABLE_ERRORS,
  mergeConfig,
} from './config.ts';
import { ConnectApiError, ConnectEmulatorConfigError } from './errors.ts';
import {
  type ContactFilter,
  type ContactView,
  createConnectService,
  type SeedContactInput,
} from './service.ts';
import { readJsonObject } from './validate.ts';
import type { World } from './world.ts';

export type { ConnectEmulatorConfig, ConnectEmulatorConfigPatch, ConnectOperation } from './config.ts';
export { CONNECT_OPERATIONS } from './config.ts';
export { ConnectApiError, ConnectEmulatorConfigError, ConnectEmulatorError } from './errors.ts';
export type {
  ContactChannel,
  ContactFilter,
  ContactState,
  ContactView,
  SeedContactInput,
} from './service.ts';
export { DEFAULT_WORLD_PATH, loadWorld, parseWorld, type World } from './world.ts';

export interface ConnectEmulatorOptions {
  world: World;
  /** Default: `taskLimitsFromEnv()` (the documented limits, overridable by CONNECT_LIMITS). */
  limits?: TaskLimits;
  /** Epoch milliseconds. Default: the sandbox's movable clock (`#lib/clock.ts`). */
  now?: () => number;
  /** Source of randomness for injected faults, in [0, 1). Default Math.random. */
  random?: () => number;
  /** Configuration applied on creation and restored by reset(). */
  config?: ConnectEmulatorConfigPatch;
}

export interface ConnectEmulator {
  /** Serves the Connect REST paths; never throws. */
  handle: EmulatorHandler;
  /** True for any path this emulator serves (any method), or any request SigV4-signed for `connect`. */
  isConnectRequest(req: EmulatorRequest): boolean;
  /** The admin routes (paths include the /_sandbox prefix): contacts, calls, reset, config. */
  admin: EmulatorHandler;
  contacts(filter?: ContactFilter): ContactView[];
  /** Adds a contact that did not come from StartTaskContact (e.g. a VOICE contact). */
  seedContact(input: SeedContactInput): ContactView;
  callCounts(): Record<string, Record<string, number>>;
  config(): ConnectEmulatorConfig;
  /** Validates and merges a patch; throws ConnectEmulatorConfigError. Token buckets start full again. */
  configure(patch: ConnectEmulatorConfigPatch): void;
  /**
   * Clears contacts, runtime templates, tokens, counters and faults (not the world). Requests still
   * waiting on added latency fail with 500 and no effect; held lost responses are released.
   */
  reset(): void;
}

interface Route {
  operation: ConnectOperation;
  method: string;
  pattern: RegExp;
}

const INSTANCE_CONTACT = /^\/contacts\/([^/]+)\/([^/]+)$/;
const TEMPLATES = /^\/instance\/([^/]+)\/task\/template$/;
const TEMPLATE = /^\/instance\/([^/]+)\/task\/template\/([^/]+)$/;

const ROUTES: readonly Route[] = [
  { operation: 'StartTaskContact', method: 'PUT', pattern: /^\/contact\/task$/ },
  { operation: 'TransferContact', method: 'POST', pattern: /^\/contact\/transfer$/ },
  { operation: 'StopContact', method: 'POST', pattern: /^\/contact\/stop$/ },
  { operation: 'ListContactReferences', method: 'GET', pattern: /^\/contact\/references\/([^/]+)\/([^/]+)$/ },
  { operation: 'DescribeContact', method: 'GET', pattern: INSTANCE_CONTACT },
  { operation: 'UpdateContact', method: 'POST', pattern: INSTANCE_CONTACT },
  { operation: 'CreateTaskTemplate', method: 'PUT', pattern: TEMPLATES },
  { operation: 'ListTaskTemplates', method: 'GET', pattern: TEMPLATES },
  { operation: 'GetTaskTemplate', method: 'GET', pattern: TEMPLATE },
  { operation: 'UpdateTaskTemplate', method: 'POST', pattern: TEMPLATE },
  { operation: 'DeleteTaskTemplate', method: 'DELETE', pattern: TEMPLATE },
];

const SIGV4_CONNECT_SCOPE = /Credential=[^,]*\/connect\/aws4_request/;

function json(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers },
    body: JSON.stringify(body),
  };
}

function errorResponse(error: ConnectApiError): EmulatorResponse {
  return json(error.status, { Message: error.message }, { 'x-amzn-errortype': error.type });
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

/**
 * Real-time delays that reset() can cut short: `sleep` resolves true when the time has passed, false
 * when it was released early (timers are unref'd, so a held request never keeps the process alive).
 */
function createDelays() {
  const pending = new Set<() => void>();
  return {
    sleep(ms: number): Promise<boolean> {
      return new Promise((resolve) => {
        const finish = (elapsed: boolean) => {
          clearTimeout(timer);
          pending.delete(release);
          resolve(elapsed);
        };
        const release = () => finish(false);
        const timer = setTimeout(() => finish(true), ms);
        timer.unref();
        pending.add(release);
      });
    },
    releaseAll(): void {
      for (const release of [...pending]) release();
    },
  };
}

/**
 * Creates the emulator.
 *
 * Input: the world (resources that exist), optional limits, clock, randomness and initial config.
 * Output: a ConnectEmulator. Fails with ConnectEmulatorConfigError when the world's templates or the
 * initial config are invalid.
 */
export function createConnectEmulator(options: ConnectEmulatorOptions): ConnectEmulator {
  const limits = options.limits ?? taskLimitsFromEnv();
  const now = options.now ?? clockNow;
  const random = options.random ?? Math.random;
  const baseConfig = mergeConfig(defaultConfig(), options.config ?? {});
  let config = structuredClone(baseConfig);
  const service = createConnectService({ world: options.world, limits, now, config: () => config });
  const delays = createDelays();
  let counts: Record<string, Record<string, number>> = {};
  /** Bumped by reset(): a request that began before a reset is not counted after it. */
  let generation = 0;
  let buckets = new Map<ConnectOperation, { tokens: number; last: number }>();

  const count = (operation: string, outcome: string, since: number) => {
    if (since !== generation) return;
    const forOperation = counts[operation] ?? {};
    forOperation[outcome] = (forOperation[outcome] ?? 0) + 1;
    counts[operation] = forOperation;
  };

  function takeToken(operation: ConnectOperation): void {
    const { rate, burst } = config.rates[operation];
    const t = now();
    const bucket = buckets.get(operation) ?? { tokens: burst, last: t };
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, t - bucket.last) / 1000) * rate);
    bucket.last = t;
    buckets.set(operation, bucket);
    if (bucket.tokens < 1) {
      throw new ConnectApiError(
        'ThrottlingException',
        `${operation} rate exceeded (${rate}/s, burst ${burst})`,
      );
    }
    bucket.tokens -= 1;
  }

  function injectError(operation: ConnectOperation): void {
    const rates = config.errorRates[operation];
    if (!rates) return;
    const draw = random();
    let cumulative = 0;
    for (const type of INJECTABLE_ERRORS) {
      cumulative += rates[type] ?? 0;
      if (draw < cumulative) {
        throw new ConnectApiError(type, `injected by the sandbox (errorRates.${operation}.${type})`);
      }
    }
  }

  function run(operation: ConnectOperation, req: EmulatorRequest, params: string[]): unknown {
    const [first = '', second = ''] = params;
    const body = () => readJsonObject(req.body);
    switch (operation) {
      case 'StartTaskContact':
        return service.startTaskContact(body());
      case 'TransferContact':
        return service.transferContact(body());
      case 'StopContact':
        return service.stopContact(body());
      case 'DescribeContact':
        return service.describeContact(first, second);
      case 'UpdateContact':
        return service.updateContact(first, second, body());
      case 'ListContactReferences':
        return service.listContactReferences(first, second, req.query);
      case 'CreateTaskTemplate':
        return service.createTaskTemplate(first, body());
      case 'ListTaskTemplates':
        return service.listTaskTemplates(first, req.query);
      case 'GetTaskTemplate':
        return service.getTaskTemplate(first, second);
      case 'UpdateTaskTemplate':
        return service.updateTaskTemplate(first, second, body());
      case 'DeleteTaskTemplate':
        return service.deleteTaskTemplate(first, second);
    }
  }

  function match(req: EmulatorRequest): { route: Route; params: string[] } | undefined {
    for (const route of ROUTES) {
      if (route.method !== req.method) continue;
      const m = route.pattern.exec(req.path);
      if (m) return { route, params: m.slice(1) };
    }
    return undefined;
  }

  const handle: EmulatorHandler = async (req) => {
    let operation: string = 'UnknownOperation';
    const started = generation;
    try {
      const found = match(req);
      if (!found) {
        const error = new ConnectApiError(
          'UnknownOperationException',
          `the Connect emulator has no operation ${req.method} ${req.path}`,
        );
        count(operation, error.type, started);
        return errorResponse(error);
      }
      const op = found.route.operation;
      operation = op;
      const latency = config.latencyMs[op];
      if (latency && !(await delays.sleep(latency))) {
        // Reset while waiting: the request must not run against the new state.
        throw new ConnectApiError(
          'InternalServiceException',
          'the sandbox was reset while this request waited',
        );
      }
      takeToken(op);
      injectError(op);
      service.sweep();
      const result = run(op, req, found.params);
      const lost = config.lostResponseRate[op];
      if (lost && random() < lost) {
        count(op, 'LostResponse', started);
        if (config.lostResponseMode === 'timeout') {
          await delays.sleep(config.lostResponseDelayMs);
          return json(200, result);
        }
        return errorResponse(
          new ConnectApiError(
            'InternalServiceException',
            `the sandbox lost the response (lostResponseRate.${op}); the request took effect`,
          ),
        );
      }
      count(op, '200', started);
      return json(200, result);
    } catch (error) {
      const apiError =
        error instanceof ConnectApiError
          ? error
          : new ConnectApiError(
              'InternalServiceException',
              'the Connect emulator failed to process the request',
              {
                cause: error,
              },
            );
      count(operation, apiError.type, started);
      return errorResponse(apiError);
    }
  };

  const isConnectRequest = (req: EmulatorRequest): boolean => {
    if (req.path.startsWith('/_sandbox')) return false;
    if (ROUTES.some((route) => route.pattern.test(req.path))) return true;
    return SIGV4_CONNECT_SCOPE.test(String(req.headers.authorization ?? ''));
  };

  const emulator: ConnectEmulator = {
    handle,
    isConnectRequest,
    admin: async (req) => {
      try {
        const path = req.path.replace(/\/+$/, '');
        const method = req.method;
        if (path === '/_sandbox/contacts' && method === 'GET') {
          const filter: ContactFilter = {};
          for (const key of ['instanceId', 'channel', 'state', 'name', 'clientToken'] as const) {
            const value = req.query.get(key);
            if (value !== null && value !== '') filter[key] = value;
          }
          return json(200, { contacts: emulator.contacts(filter) });
        }
        if (path === '/_sandbox/contacts' && method === 'POST') {
          const parsed = seedContactSchema.safeParse(readJsonObject(req.body));
          if (!parsed.success) {
            throw new ConnectEmulatorConfigError(`invalid contact: ${z.prettifyError(parsed.error)}`);
          }
          return json(200, { contact: emulator.seedContact(parsed.data) });
        }
        if (path === '/_sandbox/calls' && method === 'GET') return json(200, emulator.callCounts());
        if (path === '/_sandbox/reset' && method === 'POST') {
          emulator.reset();
          return json(200, { reset: true });
        }
        if (path === '/_sandbox/config' && method === 'GET') return json(200, emulator.config());
        if (path === '/_sandbox/config' && (method === 'PUT' || method === 'POST')) {
          emulator.configure(readJsonObject(req.body) as ConnectEmulatorConfigPatch);
          return json(200, emulator.config());
        }
        return errorResponse(
          new ConnectApiError(
            'UnknownOperationException',
            `the sandbox has no admin route ${method} ${path}`,
          ),
        );
      } catch (error) {
        if (error instanceof ConnectApiError) return errorResponse(error);
        if (error instanceof ConnectEmulatorConfigError) {
          return errorResponse(
            new ConnectApiError('InvalidParameterException', error.message, { cause: error }),
          );
        }
        return errorResponse(
          new ConnectApiError('InternalServiceException', 'the Connect emulator admin API failed', {
            cause: error,
          }),
        );
      }
    },
    contacts: (filter) => service.listContacts(filter),
    seedContact: (input) => service.seedContact(input),
    callCounts: () => structuredClone(counts),
    config: () => structuredClone(config),
    configure(patch) {
      config = mergeConfig(config, patch);
      buckets = new Map();
    },
    reset() {
      service.reset();
      config = structuredClone(baseConfig);
      buckets = new Map();
      counts = {};
      generation += 1;
      delays.releaseAll();
    },
  };
  return emulator;
}
