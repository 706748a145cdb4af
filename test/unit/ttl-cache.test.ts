import { describe, expect, it } from 'vitest';
import { createReplayRefresher, createTtlCache, REPLAY_IDS_REMEMBERED } from '#lib/cache/ttl-cache.ts';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('createTtlCache', () => {
  it('serves a value fresh for maxAgeMs after its fetch started, then fetches again', async () => {
    let t = 1_000;
    let calls = 0;
    const cache = createTtlCache<number>({ maxAgeMs: 100, now: () => t });
    const load = async () => ++calls;
    expect(await cache.get('k', load)).toBe(1);
    t += 99;
    expect(await cache.get('k', load)).toBe(1);
    t += 1;
    expect(await cache.get('k', load)).toBe(2);
  });

  it('shares one fetch between concurrent misses', async () => {
    const gate = deferred<string>();
    let calls = 0;
    const cache = createTtlCache<string>({ maxAgeMs: 0, now: () => 0 });
    const load = () => {
      calls++;
      return gate.promise;
    };
    const a = cache.get('k', load);
    const b = cache.get('k', load);
    gate.resolve('v');
    expect(await Promise.all([a, b])).toEqual(['v', 'v']);
    expect(calls).toBe(1);
  });

  it('does not cache a failed fetch and rejects every caller that shared it', async () => {
    const gate = deferred<string>();
    const cache = createTtlCache<string>({ maxAgeMs: 60_000, now: () => 0 });
    const a = cache.get('k', () => gate.promise);
    const b = cache.get('k', () => Promise.resolve('other'));
    gate.reject(new Error('throttled'));
    await expect(a).rejects.toThrow('throttled');
    await expect(b).rejects.toThrow('throttled');
    expect(await cache.get('k', async () => 'ok')).toBe('ok');
  });

  it('invalidate stops an in-flight fetch from repopulating the cache', async () => {
    const gate = deferred<string>();
    let calls = 0;
    const cache = createTtlCache<string>({ maxAgeMs: 60_000, now: () => 0 });
    const first = cache.get('k', () => gate.promise);
    cache.invalidate();
    gate.resolve('stale');
    expect(await first).toBe('stale');
    expect(
      await cache.get('k', async () => {
        calls++;
        return 'fresh';
      }),
    ).toBe('fresh');
    expect(calls).toBe(1);
  });

  it('invalidates one key and keeps the others', async () => {
    let calls = 0;
    const cache = createTtlCache<number>({ maxAgeMs: 60_000, now: () => 0 });
    const load = async () => ++calls;
    await cache.get('a', load);
    await cache.get('b', load);
    cache.invalidate('a');
    expect(await cache.get('a', load)).toBe(3);
    expect(await cache.get('b', load)).toBe(2);
  });

  it('fetches afresh the first time it sees a replay id, and only then', async () => {
    let calls = 0;
    const cache = createTtlCache<number>({ maxAgeMs: 60_000, now: () => 0 });
    const load = async () => ++calls;
    expect(await cache.get('k', load)).toBe(1);
    expect(await cache.get('k', load, { replayId: 'r1' })).toBe(2);
    expect(await cache.get('k', load, { replayId: 'r1' })).toBe(2);
    expect(await cache.get('k', load)).toBe(2);
  });
});

describe('createReplayRefresher', () => {
  it('remembers a bounded number of keys and forgets a failed fetch', async () => {
    const refresher = createReplayRefresher(2);
    expect(refresher.first('a', async () => 1)).toBeDefined();
    expect(refresher.first('a', async () => 1)).toBeUndefined();
    refresher.first('b', async () => 1);
    refresher.first('c', async () => 1);
    expect(refresher.first('a', async () => 1)).toBeDefined();
    const failed = refresher.first('d', () => Promise.reject(new Error('no')));
    await expect(failed).rejects.toThrow('no');
    expect(refresher.first('d', async () => 1)).toBeDefined();
    expect(REPLAY_IDS_REMEMBERED).toBe(512);
  });
});
