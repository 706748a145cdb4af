/**
 * The chaos run's faults: Connect's storm (errors, lost responses, slow windows, the active-task
 * quota), SQS duplicate deliveries, DynamoDB errors, the Connect emulator's contact event fault mode
 * (repeats, drops, delays that reorder), and PutEvents "crashes" of the functions that publish
 * outcomes. All on for the faulty rounds, all off for the clean drain.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { ConnectEmulatorConfigPatch } from '#sandbox/connect/emulator.ts';
import type { Sandbox } from '#sandbox/index.ts';

export interface ChaosFaults {
  /** Per StartTaskContact call: injected 500 InternalServiceException. */
  internalErrorRate: number;
  /** Per StartTaskContact call: injected 429 ThrottlingException. */
  throttlingRate: number;
  /** Per StartTaskContact call: injected 402 ServiceQuotaExceededException. */
  serviceQuotaRate: number;
  /** Per StartTaskContact call that took effect: the caller never sees the response. */
  lostResponseRate: number;
  /** Concurrent active tasks before Connect answers 402 (the real quota, small here). */
  activeTaskQuota: number;
  /** Active tasks end this long after creation (emulator clock), freeing quota. */
  autoCompleteAfterSeconds: number;
  /** The ingest's Connect client request timeout (ms). */
  clientTimeoutMs: number;
  /** Real milliseconds between "slow" windows, and how long each lasts. */
  slowEveryMs: number;
  slowForMs: number;
  /** Chance the poller skips an invocation's deletes after the handler returned (a crash). */
  killAfterRate: number;
  /** Chance SQS hands out an extra copy of a received message. */
  sqsDuplicateDeliveryRate: number;
  /** Chance a DynamoDB call fails with a 500. */
  dynamodbErrorRate: number;
  /** Chance a contact event is delivered twice (the same envelope, as EventBridge may). */
  contactEventRepeatRate: number;
  /** Chance a contact event is never delivered. */
  contactEventDropRate: number;
  /** Each contact event delivery waits a real delay drawn within these bounds (ms); later ones overtake. */
  contactEventDelayMs: { min: number; max: number };
  /**
   * Per PutEvents call of the ingest and contactEvents functions: the function "crashes", half the
   * time before the call reaches the bus (nothing published), half after (published, the caller
   * never knows). The effect stays in the outbox either way.
   */
  putEventsCrashRate: number;
}

export const DEFAULT_CHAOS_FAULTS: Readonly<ChaosFaults> = Object.freeze({
  internalErrorRate: 0.08,
  throttlingRate: 0.08,
  serviceQuotaRate: 0.03,
  lostResponseRate: 0.08,
  activeTaskQuota: 60,
  autoCompleteAfterSeconds: 300,
  clientTimeoutMs: 700,
  slowEveryMs: 2_500,
  slowForMs: 400,
  killAfterRate: 0.1,
  sqsDuplicateDeliveryRate: 0.05,
  dynamodbErrorRate: 0.01,
  contactEventRepeatRate: 0.1,
  contactEventDropRate: 0.1,
  contactEventDelayMs: Object.freeze({ min: 0, max: 400 }),
  putEventsCrashRate: 0.15,
});

function stormConfig(f: ChaosFaults): ConnectEmulatorConfigPatch {
  return {
    activeTaskQuota: f.activeTaskQuota,
    autoCompleteAfterSeconds: f.autoCompleteAfterSeconds,
    errorRates: {
      StartTaskContact: {
        InternalServiceException: f.internalErrorRate,
        ThrottlingException: f.throttlingRate,
        ServiceQuotaExceededException: f.serviceQuotaRate,
      },
    },
    lostResponseRate: { StartTaskContact: f.lostResponseRate },
    lostResponseMode: 'error',
    latencyMs: { StartTaskContact: 0 },
  };
}

/** A slow window: every call waits beyond the client timeout, and lost responses are held, not failed. */
function slowConfig(f: ChaosFaults): ConnectEmulatorConfigPatch {
  return {
    latencyMs: { StartTaskContact: f.clientTimeoutMs + 300 },
    lostResponseMode: 'timeout',
    lostResponseDelayMs: f.clientTimeoutMs + 500,
  };
}

const CLEAN_CONNECT: ConnectEmulatorConfigPatch = {
  errorRates: { StartTaskContact: {} },
  lostResponseRate: { StartTaskContact: 0 },
  lostResponseMode: 'error',
  latencyMs: { StartTaskContact: 0 },
  contactEvents: { repeatRate: 0, dropRate: 0, delayMs: null, reorder: false },
};

/** The PutEvents crash switch and what it did; `rate` is 0 once the faults are off. */
export interface PutEventsCrashes {
  rate: number;
  calls: number;
  crashedBefore: number;
  crashedAfter: number;
}

/** The error a "crashed" PutEvents throws: the function died before or after the call reached the bus. */
export class PutEventsCrashError extends Error {
  constructor(readonly when: 'before' | 'after') {
    super(`chaos: the function crashed ${when} its PutEvents call reached the bus`);
    this.name = 'PutEventsCrashError';
  }
}

/**
 * Makes `client`'s PutEvents calls crash with `crashes.rate` (draws from `random`): half of the
 * crashes throw before the request is sent, half after the bus answered. Other commands pass.
 */
export function crashPutEvents(
  client: EventBridgeClient,
  crashes: PutEventsCrashes,
  random: () => number,
): EventBridgeClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutEventsCommand') return next(args);
      crashes.calls += 1;
      const draw = crashes.rate > 0 ? random() : 1;
      if (draw < crashes.rate / 2) {
        crashes.crashedBefore += 1;
        throw new PutEventsCrashError('before');
      }
      const out = await next(args);
      if (draw < crashes.rate) {
        crashes.crashedAfter += 1;
        throw new PutEventsCrashError('after');
      }
      return out;
    },
    { step: 'initialize', name: 'chaosPutEventsCrash' },
  );
  return client;
}

/**
 * Turns every fault on (Connect's storm with its slow windows, the contact event fault mode seeded
 * with `contactEventSeed`, SQS duplicates, DynamoDB errors, PutEvents crashes). `stop()` turns them
 * all off and waits for the contact events still delayed; calling it again does nothing.
 */
export function startFaults(
  sandbox: Sandbox,
  faults: ChaosFaults,
  options: { crashes: PutEventsCrashes; contactEventSeed: number },
): { stop(): Promise<void> } {
  sandbox.connect.configure({
    ...stormConfig(faults),
    contactEvents: {
      repeatRate: faults.contactEventRepeatRate,
      dropRate: faults.contactEventDropRate,
      delayMs: { ...faults.contactEventDelayMs },
      reorder: true,
      seed: options.contactEventSeed,
    },
  });
  sandbox.sqs.setFaults({ duplicateDeliveryRate: faults.sqsDuplicateDeliveryRate });
  sandbox.setDynamoDbErrorRate(faults.dynamodbErrorRate);
  options.crashes.rate = faults.putEventsCrashRate;
  let slow = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const toggleSlow = () => {
    slow = !slow;
    sandbox.connect.configure(slow ? slowConfig(faults) : stormConfig(faults));
    timer = setTimeout(toggleSlow, slow ? faults.slowForMs : faults.slowEveryMs);
  };
  timer = setTimeout(toggleSlow, faults.slowEveryMs);
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      sandbox.connect.configure(CLEAN_CONNECT);
      sandbox.sqs.setFaults({ duplicateDeliveryRate: 0 });
      sandbox.setDynamoDbErrorRate(0);
      options.crashes.rate = 0;
      await sandbox.connect.contactEvents.flush();
    },
  };
}
