/**
 * StartTaskContact, exactly once per ClientToken.
 *
 * Two guards: an idempotency record in DynamoDB (Powertools idempotency, keyed by the ClientToken,
 * holding the ContactId for `expirySeconds`, default 30 days: longer than a message can live in the
 * queue plus the DLQ), and Connect's own ClientToken deduplication. A redelivery, a crash between the
 * Connect call and the SQS delete, or a DLQ replay weeks later finds the record and makes no call; a
 * lost response (task created, caller saw an error) leaves no record, and the retry's identical
 * ClientToken makes Connect return the same ContactId.
 *
 * Calls spend the StartTaskContact budget shared by every instance (lib/budget/budget.ts): every
 * attempt, the SDK's own retries included, waits for a slot of its lane, and a throttled attempt
 * shrinks the budget.
 *
 * A record left IN PROGRESS (another execution is calling Connect right now, or died, or could not
 * delete or complete its record because DynamoDB failed) blocks Powertools until its in-progress expiry,
 * up to a whole function timeout in wall-clock time. Retrying in place meanwhile burns the message's
 * receives, until a valid event parks EXHAUSTED. Connect's ClientToken already
 * makes a repeated call return the same contact, so on `IdempotencyAlreadyInProgressError` the call is
 * made directly with the same token: no wait, no second task (reported as a duplicate: the lock's
 * holder claimed the event first). The record completes the next time the event passes through once
 * the lock has expired.
 *
 * StartTaskContact answers 402 ServiceQuotaExceededException both for the instance's active-task quota
 * (it clears as tasks end: OVER_QUOTA, the redrive replays it) and for a PreviousContactId chain that
 * already holds 12 linked tasks (it never clears). On a 402 for a request with a PreviousContactId the
 * starter asks the ledger how many tasks it counts in that chain (`chainTasks`): when the count has
 * reached the limit, the rule's `onChainLimit` decides: `park` fails PERMANENT with code `ChainLimit`
 * (`ChainLimitError`), `related` retries once with RelatedContactId instead (that retry happens on any
 * such 402, without asking the ledger). An unknown chain, or a lookup that fails, leaves the
 * 402 as it is: OVER_QUOTA.
 */

import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import {
  type ConnectClient,
  ServiceQuotaExceededException,
  StartTaskContactCommand,
  type StartTaskContactCommandInput,
  ThrottlingException,
} from '@aws-sdk/client-connect';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import type { Lane } from '#lib/lanes.ts';
import type { Logger } from '#lib/observability/logger.ts';
import { type Deadline, NO_DEADLINE } from '#lib/retry/deadline.ts';
import { DeadlineError } from '#lib/retry/errors.ts';
import { ChainLimitError, ConnectResponseError } from './errors.ts';
import type { StartTaskCall, StartTaskResult, TaskStarter } from './ports.ts';

/** How many tasks the ledger counts in the chain of `previousContactId`; undefined when it knows none. */
type ChainTasksLookup = (instanceId: string, previousContactId: string) => Promise<number | undefined>;

export interface TaskStarterOptions {
  connect: ConnectClient;
  dynamodb: DynamoDBClient;
  idempotencyTable: string;
  expirySeconds: number;
  /**
   * The StartTaskContact budget (lib/budget/): every attempt waits for a slot of its lane, and none
   * waits past the invocation's deadline (it rejects with `DeadlineError` instead).
   */
  limiter: { acquire(lane?: Lane, deadline?: Deadline): Promise<void>; throttled?(): void };
  /** The ledger's chain count. Without it, every 402 is taken for the active-task quota. */
  chainTasks?: ChainTasksLookup;
  /**
   * Tasks a PreviousContactId chain can hold (`previousContactChainMax`.
   * @default 12)
   */
  chainLimit?: number;
  /** Where a failed chain lookup is reported (identifiers only). */
  log?: Pick<Logger, 'warn'>;
  /**
   * The time in epoch ms, against which a ScheduledTime is judged due.
   * @default Date.now
   */
  now?: () => number;
}

/**
 * A ScheduledTime closer than this when the call goes out is treated as due: the task starts now.
 * Connect refuses a ScheduledTime in the past, and one that was ahead when the event was planned can
 * pass while the call waits for its budget slot or crosses the network.
 */
const SCHEDULE_LEAD_MS = 2_000;

interface StoredResult {
  contactId: string;
  linkedAsRelated: boolean;
}

/**
 * A StartTaskContact command whose every HTTP attempt waits for the limiter. The wait sits inside the
 * SDK's retry loop (finalizeRequest step, low priority): a retry spends the instance's share like any
 * call instead of landing unshaped on a bucket that has just said no, and a ThrottlingException tells
 * the limiter to back off.
 *
 * No slot is waited for past the invocation's deadline: the first attempt's `DeadlineError` leaves the
 * task not attempted; a retry that cannot fit ends the call with the failure of the attempt before it
 * (the call was attempted, and that failure is what counts).
 */
function shapedStartTask(
  input: StartTaskContactCommandInput,
  limiter: TaskStarterOptions['limiter'],
  { lane, now, deadline }: { lane: Lane; now: () => number; deadline: Deadline },
): StartTaskContactCommand {
  const command = new StartTaskContactCommand(input);
  let firstAttemptAcquired = false;
  let lastAttemptError: unknown;
  // The first slot is taken before the request is serialized, so a ScheduledTime that came due
  // while waiting for it can still be dropped (the task then starts at once, as it was due to).
  command.middlewareStack.add(
    (next) => async (args) => {
      await limiter.acquire(lane, deadline);
      firstAttemptAcquired = true;
      return next({ ...args, input: dueNow(args.input as StartTaskContactCommandInput, now()) });
    },
    { step: 'initialize', priority: 'low', name: 'shapeStartTaskContactFirstAttempt' },
  );
  // Every SDK retry waits for a slot of its own.
  command.middlewareStack.add(
    (next) => async (args) => {
      if (firstAttemptAcquired) firstAttemptAcquired = false;
      else {
        try {
          await limiter.acquire(lane, deadline);
        } catch (error) {
          if (error instanceof DeadlineError && lastAttemptError !== undefined) throw lastAttemptError;
          throw error;
        }
      }
      try {
        return await next(args);
      } catch (error) {
        lastAttemptError = error;
        if (error instanceof ThrottlingException) limiter.throttled?.();
        throw error;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'shapeStartTaskContactAttempt' },
  );
  return command;
}

/** The request without its ScheduledTime when that time is less than SCHEDULE_LEAD_MS away. */
export function dueNow(input: StartTaskContactCommandInput, nowMs: number): StartTaskContactCommandInput {
  const at = input.ScheduledTime;
  if (at === undefined || at.getTime() >= nowMs + SCHEDULE_LEAD_MS) return input;
  const { ScheduledTime: _due, ...rest } = input;
  return rest;
}

function isQuotaExceeded(error: unknown): boolean {
  return (
    error instanceof ServiceQuotaExceededException ||
    (error as { name?: unknown } | null)?.name === 'ServiceQuotaExceededException'
  );
}

/** The names along an error's cause chain (never its message: no task contents in logs). */
function errorNames(error: unknown): string {
  const names: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 3 && typeof current === 'object' && current !== null; depth += 1) {
    const name = (current as { name?: unknown }).name;
    names.push(typeof name === 'string' && name !== '' ? name : 'Error');
    current = (current as { cause?: unknown }).cause;
  }
  return names.length ? names.join(' <- ') : typeof error;
}

export function createTaskStarter(options: TaskStarterOptions): {
  startTask: TaskStarter;
  /** Call once per invocation so an in-progress record expires with the invocation, not in 30 days. */
  registerLambdaContext(context: Context): void;
} {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'clientToken',
    expiresAfterSeconds: options.expirySeconds,
    throwOnNoIdempotencyKey: true,
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.idempotencyTable,
    awsSdkV3Client: options.dynamodb,
  });

  const now = options.now ?? Date.now;
  const call = async (
    input: StartTaskContactCommandInput,
    { lane, deadline = NO_DEADLINE }: Pick<StartTaskCall, 'lane' | 'deadline'>,
  ): Promise<string> => {
    const out = await options.connect.send(shapedStartTask(input, options.limiter, { lane, now, deadline }));
    if (!out.ContactId) throw new ConnectResponseError('StartTaskContact returned no ContactId');
    return out.ContactId;
  };

  const chainLimit = options.chainLimit ?? DEFAULT_TASK_LIMITS.previousContactChainMax;

  /** The ledger's count of the chain; undefined when unknown or unreadable (the 402 stays OVER_QUOTA). */
  const countedInChain = async (
    instanceId: string | undefined,
    previousContactId: string,
    clientToken: string,
  ): Promise<number | undefined> => {
    if (!options.chainTasks || !instanceId) return undefined;
    try {
      return await options.chainTasks(instanceId, previousContactId);
    } catch (lookupError) {
      options.log?.warn('could not read the PreviousContactId chain count; the 402 stays OVER_QUOTA', {
        clientToken,
        code: 'ChainLookupFailed',
        reason: errorNames(lookupError),
      });
      return undefined;
    }
  };

  const start = async (startCall: StartTaskCall): Promise<StoredResult> => {
    const { clientToken, request, onChainLimit } = startCall;
    try {
      return { contactId: await call(request, startCall), linkedAsRelated: false };
    } catch (error) {
      const previousContactId = request.PreviousContactId;
      if (!isQuotaExceeded(error) || previousContactId === undefined) throw error;
      // 402 with a PreviousContactId may be the 12-task chain limit: link by RelatedContactId
      // instead when the rule says so. If that 402s too, it is the active-task quota: park.
      if (onChainLimit === 'related') {
        const { PreviousContactId, ...rest } = request;
        const related = { ...rest, RelatedContactId: rest.RelatedContactId ?? PreviousContactId };
        return { contactId: await call(related, startCall), linkedAsRelated: true };
      }
      // `park`: a chain the ledger counts as full never takes this task; anything else is the quota.
      const counted = await countedInChain(request.InstanceId, previousContactId, clientToken);
      if (counted !== undefined && counted >= chainLimit) {
        throw new ChainLimitError(previousContactId, counted, chainLimit, { cause: error });
      }
      throw error;
    }
  };

  const createOnce = makeIdempotent(
    async (payload: {
      clientToken: string;
      call: StartTaskCall;
      probe: { executed: boolean };
    }): Promise<StoredResult> => {
      payload.probe.executed = true;
      return start(payload.call);
    },
    { persistenceStore, config },
  );

  return {
    async startTask(callInput: StartTaskCall): Promise<StartTaskResult> {
      const probe = { executed: false };
      let stored: StoredResult;
      try {
        stored = await createOnce({ clientToken: callInput.clientToken, call: callInput, probe });
      } catch (error) {
        if (!(error instanceof IdempotencyAlreadyInProgressError)) throw error;
        // Locked by another execution, live or dead: the same ClientToken yields the same contact.
        // Reported as a duplicate: the execution holding the lock claimed this event first.
        return { ...(await start(callInput)), duplicate: true };
      }
      return {
        contactId: stored.contactId,
        linkedAsRelated: stored.linkedAsRelated,
        duplicate: !probe.executed,
      };
    },
    registerLambdaContext(context: Context) {
      config.registerLambdaContext(context);
    },
  };
}
