/**
 * Faults and quotas of the Connect emulator, set through `GET/PUT /_sandbox/config` or
 * `ConnectEmulator.configure()`. A patch is validated (unknown keys and operation names are refused,
 * so a typo cannot silently do nothing) and merged one level deep: per-operation maps merge by
 * operation; an operation's `errorRates` entry replaces that operation's map as a whole.
 */
import { z } from 'zod';
import { ConnectEmulatorConfigError } from './errors.ts';
import { CONNECT_OPERATIONS, type ConnectOperation, operationMayReturn } from './model.ts';

/** The emulated operations: those of the API model data (`api-model.json`). */
export { CONNECT_OPERATIONS, type ConnectOperation } from './model.ts';

/**
 * Errors that `errorRates` may inject (the request then has no effect); an operation takes only
 * those its API model lists (StartTaskContact has no AccessDeniedException, for one).
 */
export const INJECTABLE_ERRORS = [
  'InternalServiceException',
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'AccessDeniedException',
  'InvalidRequestException',
  'ResourceNotFoundException',
] as const;
type InjectableError = (typeof INJECTABLE_ERRORS)[number];

export interface RateConfig {
  /** Sustained requests per second (token refill rate), > 0. */
  rate: number;
  /** Bucket size: requests allowed back to back, ≥ 1. */
  burst: number;
}

/**
 * Faults of the contact events the emulator publishes (`contact-events.ts`): each emission may be
 * dropped, repeated (the same envelope, id included, as EventBridge may deliver an event twice) and
 * delayed by a real-time delay; with `reorder`, later emissions may overtake earlier ones.
 */
export interface ContactEventsFaults {
  /** Chance (0..1) that an emission is delivered twice. */
  repeatRate: number;
  /** Chance (0..1) that an emission is never delivered. */
  dropRate: number;
  /** Each delivery waits a uniform real delay in [min, max] ms; null: delivered at once, in order. */
  delayMs: { min: number; max: number } | null;
  /** With a delay: each delivery keeps its own delay (later ones may overtake); without: in order. */
  reorder: boolean;
  /** Draw these faults from a generator seeded with this number instead of the emulator's randomness. */
  seed?: number;
}

export interface ConnectEmulatorConfig {
  /** Token bucket per operation; every operation has one. Time is the emulator's clock. */
  rates: Record<ConnectOperation, RateConfig>;
  /** Concurrent active TASK contacts per instance (Connect's default 2,500) → 402 beyond. */
  activeTaskQuota: number;
  /** Added latency per operation, in real milliseconds. */
  latencyMs: Partial<Record<ConnectOperation, number>>;
  /** Per operation: probability of each injected error (sum ≤ 1). Injected errors have no effect. */
  errorRates: Partial<Record<ConnectOperation, Partial<Record<InjectableError, number>>>>;
  /** Per operation: probability that a call that took effect loses its response. */
  lostResponseRate: Partial<Record<ConnectOperation, number>>;
  /** 'error': the caller sees 500 InternalServiceException; 'timeout': the response is held lostResponseDelayMs. */
  lostResponseMode: 'error' | 'timeout';
  /** Real milliseconds a lost response is held in 'timeout' mode (set it above the caller's timeout). */
  lostResponseDelayMs: number;
  /** Active tasks end this long after creation (emulator clock); null = never. */
  autoCompleteAfterSeconds: number | null;
  /** How long a StartTaskContact/TransferContact/CreateTaskTemplate ClientToken is remembered. */
  clientTokenTtlSeconds: number;
  contactEvents: ContactEventsFaults;
}

/** Generous defaults: tests and the local pipeline are not throttled unless they ask to be. */
const DEFAULT_RATE: Readonly<RateConfig> = Object.freeze({ rate: 1000, burst: 1000 });

export function defaultConfig(): ConnectEmulatorConfig {
  return {
    rates: Object.fromEntries(CONNECT_OPERATIONS.map((op) => [op, { ...DEFAULT_RATE }])) as Record<
      ConnectOperation,
      RateConfig
    >,
    activeTaskQuota: 2500,
    latencyMs: {},
    errorRates: {},
    lostResponseRate: {},
    lostResponseMode: 'error',
    lostResponseDelayMs: 30_000,
    autoCompleteAfterSeconds: null,
    // The StartTaskContact API reference leaves the token window undocumented; other Connect start APIs keep 7 days.
    clientTokenTtlSeconds: 7 * 24 * 60 * 60,
    contactEvents: { repeatRate: 0, dropRate: 0, delayMs: null, reorder: false },
  };
}

const operation = z.enum(CONNECT_OPERATIONS);
const probability = z.number().min(0).max(1);

const patchSchema = z.strictObject({
  rates: z
    .partialRecord(
      operation,
      z.strictObject({
        rate: z.number().positive().optional(),
        burst: z.number().int().min(1).optional(),
      }),
    )
    .optional(),
  activeTaskQuota: z.number().int().min(0).optional(),
  latencyMs: z.partialRecord(operation, z.number().min(0).max(600_000)).optional(),
  errorRates: z
    .partialRecord(
      operation,
      z
        .partialRecord(z.enum(INJECTABLE_ERRORS), probability)
        .refine((rates) => Object.values(rates).reduce<number>((sum, p) => sum + (p ?? 0), 0) <= 1, {
          message: 'the error probabilities of one operation must add up to at most 1',
        }),
    )
    .optional(),
  lostResponseRate: z.partialRecord(operation, probability).optional(),
  lostResponseMode: z.enum(['error', 'timeout']).optional(),
  lostResponseDelayMs: z.number().min(0).max(600_000).optional(),
  autoCompleteAfterSeconds: z.number().positive().nullable().optional(),
  clientTokenTtlSeconds: z.number().positive().optional(),
  contactEvents: z
    .strictObject({
      repeatRate: probability.optional(),
      dropRate: probability.optional(),
      delayMs: z
        .strictObject({ min: z.number().min(0).max(600_000), max: z.number().min(0).max(600_000) })
        .refine((d) => d.min <= d.max, { message: 'delayMs.min must be at most delayMs.max' })
        .nullable()
        .optional(),
      reorder: z.boolean().optional(),
      seed: z.number().int().optional(),
    })
    .optional(),
});

export type ConnectEmulatorConfigPatch = z.input<typeof patchSchema>;

/** Validates a patch and returns the merged configuration (the input is not modified). */
export function mergeConfig(current: ConnectEmulatorConfig, patch: unknown): ConnectEmulatorConfig {
  const parsed = patchSchema.safeParse(patch);
  if (!parsed.success) {
    throw new ConnectEmulatorConfigError(
      `invalid Connect emulator config: ${z.prettifyError(parsed.error)}`,
      {
        cause: parsed.error,
      },
    );
  }
  const p = parsed.data;
  for (const [op, rates] of Object.entries(p.errorRates ?? {}) as [ConnectOperation, object][]) {
    for (const type of Object.keys(rates)) {
      if (!operationMayReturn(op, type)) {
        throw new ConnectEmulatorConfigError(
          `invalid Connect emulator config: the API model lists no ${type} for ${op} (errorRates.${op})`,
        );
      }
    }
  }
  const next: ConnectEmulatorConfig = structuredClone(current);
  for (const [op, rate] of Object.entries(p.rates ?? {}) as [ConnectOperation, Partial<RateConfig>][]) {
    next.rates[op] = { ...next.rates[op], ...rate };
  }
  if (p.activeTaskQuota !== undefined) next.activeTaskQuota = p.activeTaskQuota;
  Object.assign(next.latencyMs, p.latencyMs);
  Object.assign(next.errorRates, p.errorRates);
  Object.assign(next.lostResponseRate, p.lostResponseRate);
  if (p.lostResponseMode !== undefined) next.lostResponseMode = p.lostResponseMode;
  if (p.lostResponseDelayMs !== undefined) next.lostResponseDelayMs = p.lostResponseDelayMs;
  if (p.autoCompleteAfterSeconds !== undefined) next.autoCompleteAfterSeconds = p.autoCompleteAfterSeconds;
  if (p.clientTokenTtlSeconds !== undefined) next.clientTokenTtlSeconds = p.clientTokenTtlSeconds;
  if (p.contactEvents !== undefined)
    next.contactEvents = mergeContactEvents(next.contactEvents, p.contactEvents);
  return next;
}

function mergeContactEvents(
  current: ContactEventsFaults,
  patch: Partial<ContactEventsFaults>,
): ContactEventsFaults {
  const next = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) Object.assign(next, { [key]: value });
  }
  if (next.reorder && next.delayMs === null) {
    throw new ConnectEmulatorConfigError(
      'invalid Connect emulator config: contactEvents.reorder needs contactEvents.delayMs (reordering comes from the delays)',
    );
  }
  return next;
}
