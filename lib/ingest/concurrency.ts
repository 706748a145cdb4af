/**
 * Runs at most `limit` tasks at once; the rest wait in arrival order. A finishing task hands its
 * slot straight to the next waiter, so a newcomer can never slip in between and exceed the limit.
 */
export function createLimit(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiters: Array<() => void> = [];
  const release = () => {
    const next = waiters.shift();
    if (next) next();
    else active -= 1;
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiters.push(resolve));
    else active += 1;
    try {
      return await task();
    } finally {
      release();
    }
  };
}
