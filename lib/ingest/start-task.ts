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
 * Calls are shaped by a token bucket to this instance's share of the account quota.
 */

import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import {
  type ConnectClient,
  ServiceQuotaExceededException,
  StartTaskContactCommand,
  type StartTaskContactCommandInput,
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
    await options.limiter.acquire();
    const out = await options.connect.send(new StartTaskContactCommand(input));
    if (!out.ContactId) throw new ConnectResponseError('StartTaskContact returned no ContactId');
    return out.ContactId;
  };

  const createOnce = makeIdempotent(
    async (payload: {
      clientToken: string;
      call: StartTaskCall;
      probe: { executed: boolean };
    }): Promise<StoredResult> => {
      payload.probe.executed = true;
      const { request, onChainLimit } = payload.call;
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
    },
    { persistenceStore, config },
  );

  return {
    async startTask(callInput: StartTaskCall): Promise<StartTaskResult> {
      const probe = { executed: false };
      const stored = await createOnce({ clientToken: callInput.clientToken, call: callInput, probe });
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
