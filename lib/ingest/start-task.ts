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
 * Calls are shaped by a token bucket to this instance's share of the account quota: every attempt,
 * the SDK's own retries included, and a throttled attempt slows the bucket down (see rate-limiter.ts).
 *
 * A record left IN PROGRESS (another execution is calling Connect right now, or died, or could not
 * delete or complete its record because DynamoDB failed) blocks Powertools until its in-progress expiry,
 * up to a whole function timeout in wall-clock time. Retrying in place meanwhile burns the message's
 * receives (the chaos suite saw valid events parked EXHAUSTED that way). Connect's ClientToken already
 * makes a repeated call return the same contact, so on `IdempotencyAlreadyInProgressError` the call is
 * made directly with the same token: no wait, no second task (reported as a duplicate: the lock's
 * holder claimed the event first). The record completes the next time the event passes through once
 * the lock has expired.
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
import type { RateLimiter } from '#lib/connect/rate-limiter.ts';
import type { StartTaskCall, StartTaskResult, TaskStarter } from './ports.ts';

export interface TaskStarterOptions {
  connect: ConnectClient;
  dynamodb: DynamoDBClient;
  idempotencyTable: string;
  expirySeconds: number;
  limiter: RateLimiter;
}

interface StoredResult {
  contactId: string;
  linkedAsRelated: boolean;
}

export class ConnectResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectResponseError';
  }
}

/**
 * A StartTaskContact command whose every HTTP attempt waits for the limiter. The wait sits inside the
 * SDK's retry loop (finalizeRequest step, low priority): a retry spends the instance's share like any
 * call instead of landing unshaped on a bucket that has just said no, and a ThrottlingException tells
 * the limiter to back off.
 */
function shapedStartTask(input: StartTaskContactCommandInput, limiter: RateLimiter): StartTaskContactCommand {
  const command = new StartTaskContactCommand(input);
  command.middlewareStack.add(
    (next) => async (args) => {
      await limiter.acquire();
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof ThrottlingException) limiter.throttled?.();
        throw error;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'shapeStartTaskContactAttempt' },
  );
  return command;
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

  const call = async (input: StartTaskContactCommandInput): Promise<string> => {
    const out = await options.connect.send(shapedStartTask(input, options.limiter));
    if (!out.ContactId) throw new ConnectResponseError('StartTaskContact returned no ContactId');
    return out.ContactId;
  };

  const start = async ({ request, onChainLimit }: StartTaskCall): Promise<StoredResult> => {
    try {
      return { contactId: await call(request), linkedAsRelated: false };
    } catch (error) {
      // 402 with a PreviousContactId may be the 12-task chain limit: link by RelatedContactId
      // instead when the rule says so. If that 402s too, it is the active-task quota: park.
      if (
        error instanceof ServiceQuotaExceededException &&
        onChainLimit === 'related' &&
        request.PreviousContactId !== undefined
      ) {
        const { PreviousContactId, ...rest } = request;
        const related = { ...rest, RelatedContactId: rest.RelatedContactId ?? PreviousContactId };
        return { contactId: await call(related), linkedAsRelated: true };
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
