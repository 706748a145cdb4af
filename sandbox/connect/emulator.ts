/**
 * The sandbox's Amazon Connect task-API emulator, speaking REST-JSON as `@aws-sdk/client-connect`
 * does: StartTaskContact, TransferContact, StopContact, DescribeContact, UpdateContact,
 * ListContactReferences and the task-template APIs (Create/Get/List/Update/Delete).
 *
 *   const connect = createConnectEmulator({ world: loadWorld() });
 *   // edge: if (connect.isConnectRequest(req)) return connect.handle(req);
 *   //       /_sandbox/contacts|calls|reset|config → connect.admin(req)
 *
 * Every request goes through, in order: route (from the API model's HTTP bindings, `routes.ts`) →
 * added latency → token bucket (429 ThrottlingException, `rate.ts`) → injected error (no effect,
 * `faults.ts`) → the API model's input checks (`check-input.ts`) → the operation (`operations/`,
 * dispatched by name) → lost response (the effect stays; the caller sees 500
 * InternalServiceException, or with lostResponseMode 'timeout' a response held for
 * lostResponseDelayMs). Errors carry `x-amzn-errortype: <Name>` and `{"Message"}` with the model's
 * status, so the SDK raises its own exception classes. An operation answers only error types its
 * model lists, except SerializationException for a body that is not JSON (the protocol's, before
 * any operation) and UnknownOperationException for a path no operation has.
 *
 * Decisions:
 * - Throttling comes first, so an idempotent replay (a known ClientToken) costs a token like any
 *   request, as at the service's front door; the replay itself creates nothing and skips the quotas.
 * - Time (token buckets, ScheduledTime window, auto-complete, ClientToken window) is the emulator's
 *   `now`, by default the sandbox's movable clock; only latency and held responses use real time.
 * - `callCounts()` counts outcomes per operation: "200", an exception name, or "LostResponse".
 * - Contact events (`contact-event-detail.ts`, published through `contactEvents` with the faults of
 *   `contact-events.ts`): a task is INITIATED, QUEUED, CONNECTED_TO_AGENT (an agent accepts it, admin
 *   route, or a transfer to a user), DISCONNECTED and COMPLETED (`lifecycle.ts`); UpdateContact
 *   publishes CONTACT_DATA_UPDATED. What comes due on the clock (a scheduled task's QUEUED,
 *   auto-complete, the end of after-contact work) happens on the next request or `sweep()`, and,
 *   with `autoSweepMs`, on a timer and whenever the movable clock is advanced.
 * - The active-task quota counts a task until it is COMPLETED: an agent's after-contact work keeps
 *   the slot (the emulator's choice; Connect documents the quota as concurrent active tasks).
 */
import { now as clockNow, onClockAdvance } from '#lib/clock.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from '../http-types.ts';
import { type AdminTarget, createAdminHandler } from './admin.ts';
import { checkInput } from './check-input.ts';
import {
  type ConnectEmulatorConfig,
  type ConnectEmulatorConfigPatch,
  defaultConfig,
  mergeConfig,
} from './config.ts';
import { type ContactEventStats, createContactEventEmitter } from './contact-events.ts';
import { ConnectApiError } from './errors.ts';
import { createDelays, injectError, losesResponse } from './faults.ts';
import { errorResponse, json } from './http.ts';
import { type ConnectLimitOverrides, type EmulatorLimits, limitsFromEnv, resolveLimits } from './limits.ts';
import { createRateBuckets } from './rate.ts';
import { isConnectRequest, matchRoute, type RouteMatch, readInput } from './routes.ts';
import { createConnectService } from './service.ts';
import type { World } from './world.ts';

export type {
  ConnectEmulatorConfig,
  ConnectEmulatorConfigPatch,
  ConnectOperation,
  ContactEventsFaults,
} from './config.ts';
export { CONNECT_OPERATIONS } from './config.ts';
export { API_MODEL } from './model.ts';
export type { ContactView } from './service.ts';
export { loadWorld, parseWorld } from './world.ts';

export interface ConnectEmulatorOptions {
  world: World;
  /**
   * Overrides layered on the API model's bounds and the documented limits (`limits.ts`), in the
   * product's limits vocabulary, e.g. `{ nameMaxLength: 600 }`. Default: `CONNECT_LIMITS`, if set.
   */
  limits?: ConnectLimitOverrides;
  /** Epoch milliseconds. Default: the sandbox's movable clock (`#lib/clock.ts`). */
  now?: () => number;
  /**
   * Source of randomness for injected faults, in [0, 1).
   * @default Math.random
   */
  random?: () => number;
  /** Configuration applied on creation and restored by reset(). */
  config?: ConnectEmulatorConfigPatch;
  /**
   * Where contact events go (the sandbox: its EventBridge's default bus).
   * @default nowhere
   */
  contactEvents?: (event: EventEnvelope) => void;
  /**
   * Run what comes due on the emulator clock every this many real milliseconds and whenever the
   * movable clock is advanced, until close(); default: only on requests and `sweep()`.
   */
  autoSweepMs?: number;
}

export interface ConnectEmulator extends AdminTarget {
  /** Serves the Connect REST paths; never throws. */
  handle: EmulatorHandler;
  /** True for any path this emulator serves (any method), or any request SigV4-signed for `connect`. */
  isConnectRequest(req: EmulatorRequest): boolean;
  /** The admin routes (paths include the /_sandbox prefix): contacts, calls, reset, config. */
  admin: EmulatorHandler;
  /** Runs what has come due on the emulator clock (scheduled queueing, auto-complete, after-contact work). */
  sweep(): void;
  contactEvents: {
    /** Resolves once every delayed contact event has been delivered. */
    flush(): Promise<void>;
    stats(): ContactEventStats;
  };
  /** Stops the auto-sweep and delivers the delayed contact events still waiting (none is lost). */
  close(): void;
}

/** Per operation: "200", an exception name, or "LostResponse" → count. */
function createCallCounts() {
  let counts: Record<string, Record<string, number>> = {};
  /** Bumped by reset(): a request that began before a reset is not counted after it. */
  let generation = 0;
  return {
    generation: () => generation,
    count(operation: string, outcome: string, since: number) {
      if (since !== generation) return;
      const forOperation = counts[operation] ?? {};
      forOperation[outcome] = (forOperation[outcome] ?? 0) + 1;
      counts[operation] = forOperation;
    },
    snapshot: () => structuredClone(counts),
    reset() {
      counts = {};
      generation += 1;
    },
  };
}

const asApiError = (error: unknown) =>
  error instanceof ConnectApiError
    ? error
    : new ConnectApiError('InternalServiceException', 'the Connect emulator failed to process the request', {
        cause: error,
      });

/**
 * Creates the emulator.
 *
 * Input: the world (resources that exist), optional limit overrides, clock, randomness and initial
 * config. Output: a ConnectEmulator. Fails with ConnectEmulatorConfigError when the world's templates,
 * the limits or the initial config are invalid.
 */
export function createConnectEmulator(options: ConnectEmulatorOptions): ConnectEmulator {
  const limits: EmulatorLimits = options.limits ? resolveLimits(options.limits) : limitsFromEnv();
  const now = options.now ?? clockNow;
  const random = options.random ?? Math.random;
  const baseConfig = mergeConfig(defaultConfig(), options.config ?? {});
  let config = structuredClone(baseConfig);
  const { emitter, service } = createServiceWithEvents(options, {
    limits,
    now,
    random,
    config: () => config,
  });
  const stopSweeping = startAutoSweep(options.autoSweepMs, () => service.sweep());
  const delays = createDelays();
  const calls = createCallCounts();
  const buckets = createRateBuckets(now);

  /** Latency, throttling, injected error, model checks, the operation, lost response. */
  async function serve(found: RouteMatch, req: EmulatorRequest, started: number) {
    const op = found.route.operation;
    const latency = config.latencyMs[op];
    if (latency && !(await delays.sleep(latency))) {
      // Reset while waiting: the request must not run against the new state.
      throw new ConnectApiError(
        'InternalServiceException',
        'the sandbox was reset while this request waited',
      );
    }
    buckets.take(op, config.rates[op]);
    injectError(config, op, random);
    service.sweep();
    const input = readInput(found.route, req, found.params);
    checkInput(op, input, limits);
    const result = service.call(op, input);
    if (losesResponse(config.lostResponseRate[op], random)) {
      calls.count(op, 'LostResponse', started);
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
    calls.count(op, '200', started);
    return json(200, result);
  }

  const handle: EmulatorHandler = async (req): Promise<EmulatorResponse> => {
    const started = calls.generation();
    const found = matchRoute(req);
    const operation = found?.route.operation ?? 'UnknownOperation';
    try {
      if (!found) {
        throw new ConnectApiError(
          'UnknownOperationException',
          `the Connect emulator has no operation ${req.method} ${req.path}`,
        );
      }
      return await serve(found, req, started);
    } catch (error) {
      const apiError = asApiError(error);
      calls.count(operation, apiError.type, started);
      return errorResponse(apiError);
    }
  };

  const emulator: ConnectEmulator = {
    handle,
    isConnectRequest,
    admin: async (req) => createAdminHandler(emulator)(req),
    contacts: (filter) => service.listContacts(filter),
    seedContact: (input) => service.seedContact(input),
    acceptContact: (contactId, userId) => service.acceptContact(contactId, userId),
    completeContact: (contactId, seconds) => service.completeContact(contactId, seconds),
    sweep: () => service.sweep(),
    contactEvents: { flush: () => emitter.flush(), stats: () => emitter.stats() },
    close() {
      stopSweeping();
      emitter.drain();
    },
    callCounts: () => calls.snapshot(),
    config: () => structuredClone(config),
    configure(patch) {
      config = mergeConfig(config, patch);
      if (patch.contactEvents?.seed !== undefined) emitter.reseed(config.contactEvents.seed);
      buckets.refill();
    },
    reset() {
      service.reset();
      config = structuredClone(baseConfig);
      emitter.discard();
      emitter.reseed(config.contactEvents.seed);
      buckets.refill();
      calls.reset();
      delays.releaseAll();
    },
  };
  return emulator;
}

/** The contact event emitter (its faults read from the live config) and the service publishing through it. */
function createServiceWithEvents(
  options: ConnectEmulatorOptions,
  core: {
    limits: EmulatorLimits;
    now: () => number;
    random: () => number;
    config: () => ConnectEmulatorConfig;
  },
) {
  const emitter = createContactEventEmitter({
    ...(options.contactEvents && { sink: options.contactEvents }),
    faults: () => core.config().contactEvents,
    random: core.random,
  });
  emitter.reseed(core.config().contactEvents.seed);
  const service = createConnectService({
    world: options.world,
    limits: core.limits,
    now: core.now,
    config: core.config,
    publish: (event) => emitter.emit(event),
  });
  return { emitter, service };
}

/** Calls `sweep` every `everyMs` real ms and on every clock advance; returns the function that stops it. */
function startAutoSweep(everyMs: number | undefined, sweep: () => void): () => void {
  if (everyMs === undefined) return () => {};
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  const unsubscribe = onClockAdvance(() => sweep());
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}
