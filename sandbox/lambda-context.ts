import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Context } from 'aws-lambda';
import { SandboxError } from './errors.ts';

export interface LambdaContextOptions {
  functionName: string;
  /** The function timeout; `getRemainingTimeInMillis()` counts down from it. */
  timeoutMs: number;
  /**
   * @default 1024, the framework's default
   */
  memoryMB?: number;
  /**
   * @default `AWS_REGION`, else us-east-1
   */
  region?: string;
  /**
   * @default 000000000000, the sandbox account (events/sandbox-world.json)
   */
  accountId?: string;
  /**
   * @default a random UUID, as Lambda does per invocation
   */
  awsRequestId?: string;
  /** Monotonic clock in ms the countdown reads; default `performance.now`. */
  now?: () => number;
}

/** Thrown by the deprecated callback-style `done`/`succeed`/`fail`: the sandbox runs async handlers only. */
class UnsupportedContextMethodError extends SandboxError {
  constructor(method: string) {
    super(`context.${method}() is not supported in the sandbox: return a promise from the handler instead`);
  }
}

/**
 * Builds the `Context` Lambda passes to a handler for one invocation.
 *
 * Input: function name, timeout, optional memory, region, account and request id.
 * Output: a Context whose `getRemainingTimeInMillis()` counts down from `timeoutMs` in real (monotonic)
 * time, never below 0. Execution time is physical time: it deliberately ignores the movable business
 * clock of `lib/clock.ts`, which the sandbox may jump forward by hours.
 */
export function createLambdaContext(opts: LambdaContextOptions): Context {
  if (!opts.functionName) throw new TypeError('createLambdaContext: functionName is required');
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) {
    throw new TypeError('createLambdaContext: timeoutMs must be a positive number');
  }
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const accountId = opts.accountId ?? '000000000000';
  const monotonicNow = opts.now ?? (() => performance.now());
  const deadline = monotonicNow() + opts.timeoutMs;
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: opts.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${opts.functionName}`,
    memoryLimitInMB: String(opts.memoryMB ?? 1024),
    awsRequestId: opts.awsRequestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${opts.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - monotonicNow())),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}

function unsupported(method: string): () => never {
  return () => {
    throw new UnsupportedContextMethodError(method);
  };
}
