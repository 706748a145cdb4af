/**
 * One TTL cache with in-flight de-duplication, for values fetched from a service (rules, templates).
 *
 * - an entry is fresh for `maxAgeMs` after its fetch started (0: fetch on every call, still shared);
 * - concurrent calls for a key that is missing or stale share one fetch;
 * - a failed fetch is not cached and rejects every caller that shared it;
 * - `invalidate()` drops entries; a fetch already in flight then answers its callers but does not
 *   repopulate the cache;
 * - a call with a replay id (an ops `dlq replay`) fetches afresh the first time this cache sees that
 *   (key, replay id); a bounded set of recent replay ids is kept, and a failed fetch does not count as seen.
 */
/** Recent (key, replay id) pairs remembered per cache: far more than replays run at once. */
export const REPLAY_IDS_REMEMBERED = 512;

/**
 * Remembers the first fetch made for each key, at most REPLAY_IDS_REMEMBERED keys, the oldest
 * forgotten first. `first(key, fetch)` runs `fetch` only for a key it has not seen (or whose fetch
 * failed) and answers undefined otherwise.
 */
export function createReplayRefresher(limit = REPLAY_IDS_REMEMBERED) {
  const seen = new Map<string, Promise<unknown>>();
  return {
    first<T>(key: string, fetch: () => Promise<T>): Promise<T> | undefined {
      if (seen.has(key)) return undefined;
      const pending = fetch();
      seen.set(key, pending);
      if (seen.size > limit) {
        const oldest = seen.keys().next().value;
        if (oldest !== undefined) seen.delete(oldest);
      }
      pending.catch(() => {
        if (seen.get(key) === pending) seen.delete(key);
      });
      return pending;
    },
  };
}

export interface TtlCacheOptions {
  /** How long a value is served from the cache, in ms; a finite, non-negative number. */
  maxAgeMs: number;
  /**
   * The time in epoch ms, against which entries age.
   * @default Date.now
   */
  now?: () => number;
}

export interface TtlCache<V> {
  /** The key's value: fresh from the cache, shared with a fetch in flight, or from `load()`. */
  get(key: string, load: () => Promise<V>, hint?: { replayId?: string | undefined }): Promise<V>;
  /** Forgets every key (or one), so the next call fetches. */
  invalidate(key?: string): void;
}

interface Entry<V> {
  fetchedAt: number;
  value?: V;
  has: boolean;
  pending?: Promise<V> | undefined;
}

export function createTtlCache<V>(options: TtlCacheOptions): TtlCache<V> {
  const { maxAgeMs } = options;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry<V>>();
  const replays = createReplayRefresher();

  function refresh(key: string, load: () => Promise<V>): Promise<V> {
    const entry: Entry<V> = { fetchedAt: now(), has: false };
    entries.set(key, entry);
    const current = () => entries.get(key) === entry;
    const pending = (async () => {
      let value: V;
      try {
        value = await load();
      } catch (error) {
        if (current()) entries.delete(key);
        throw error;
      }
      // Cache only if nobody invalidated (or replaced) this entry meanwhile.
      if (current()) Object.assign(entry, { value, has: true, pending: undefined });
      return value;
    })();
    if (current() && !entry.has) entry.pending = pending;
    return pending;
  }

  return {
    get(key, load, hint) {
      if (hint?.replayId !== undefined) {
        const fresh = replays.first(JSON.stringify([key, hint.replayId]), () => refresh(key, load));
        if (fresh !== undefined) return fresh;
      }
      const entry = entries.get(key);
      if (entry?.pending !== undefined) return entry.pending;
      if (entry?.has && now() - entry.fetchedAt < maxAgeMs) return Promise.resolve(entry.value as V);
      return refresh(key, load);
    },
    invalidate(key) {
      if (key === undefined) entries.clear();
      else entries.delete(key);
    },
  };
}
