/**
 * Token buckets, one per operation, on the emulator's clock. Only operations whose model lists
 * ThrottlingException are throttled (StopContact's does not).
 */
import type { ConnectOperation, RateConfig } from './config.ts';
import { ConnectApiError } from './errors.ts';
import { operationMayReturn } from './model.ts';

export interface RateBuckets {
  /** Takes a token or throws ThrottlingException. */
  take(operation: ConnectOperation, rate: RateConfig): void;
  /** Every bucket starts full again. */
  refill(): void;
}

export function createRateBuckets(now: () => number): RateBuckets {
  let buckets = new Map<ConnectOperation, { tokens: number; last: number }>();
  return {
    take(operation, { rate, burst }) {
      if (!operationMayReturn(operation, 'ThrottlingException')) return;
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
    },
    refill() {
      buckets = new Map();
    },
  };
}
