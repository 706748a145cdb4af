/** Fault injection: added latency and held responses (real time), injected errors, lost responses. */
import type { ConnectEmulatorConfig, ConnectOperation } from './config.ts';
import { INJECTABLE_ERRORS } from './config.ts';
import { ConnectApiError } from './errors.ts';

/**
 * Real-time delays that reset() can cut short: `sleep` resolves true when the time has passed, false
 * when it was released early (timers are unref'd, so a held request never keeps the process alive).
 */
export function createDelays() {
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

/** Throws the error `errorRates` draws for this call, if any (the call then has no effect). */
export function injectError(
  config: ConnectEmulatorConfig,
  operation: ConnectOperation,
  random: () => number,
): void {
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

/** True when the operation's `lostResponseRate` draws this call's response as lost. */
export function losesResponse(lostResponseRate: number | undefined, random: () => number): boolean {
  return lostResponseRate !== undefined && lostResponseRate > 0 && random() < lostResponseRate;
}
