/**
 * Task templates, read through a cache.
 *
 * Tasks created with a `TaskTemplateId` are validated against their template before the call
 * (status, required fields, defaults: `lib/connect/validate-task.ts`). GetTaskTemplate (seed 004)
 * is an API call with its own rate quota, so templates are cached per (instance, template) for
 * `maxAgeMs`, and concurrent misses for the same template share one call.
 *
 * Errors: ResourceNotFoundException becomes `TemplateNotFoundError` (permanent, code
 * `TemplateNotFound`: the message cannot succeed until someone fixes the rule). Every other error
 * (throttling, 5xx, network) is rethrown unchanged so the failure classifier sees the SDK's own
 * exception name and status, and is not cached.
 */

import type { GetTaskTemplateCommandOutput } from '@aws-sdk/client-connect';
import {
  type ConnectClient,
  GetTaskTemplateCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-connect';
import { now as clockNow } from '#lib/clock.ts';
import type { TaskTemplateView } from '#lib/connect/validate-task.ts';
import { createReplayRefresher } from '#lib/rules/provider.ts';

export type { TaskTemplateView } from '#lib/connect/validate-task.ts';

/** The template does not exist in the instance. Permanent: retrying cannot help. */
export class TemplateNotFoundError extends Error {
  readonly permanent = true as const;
  readonly code = 'TemplateNotFound' as const;
  readonly instanceId: string;
  readonly templateId: string;
  constructor(instanceId: string, templateId: string, options?: { cause?: unknown }) {
    super(`task template ${templateId} does not exist in instance ${instanceId}`, options);
    this.name = 'TemplateNotFoundError';
    this.instanceId = instanceId;
    this.templateId = templateId;
  }
}

export interface TemplateProviderOptions {
  connect: Pick<ConnectClient, 'send'>;
  /** How long a template is served from the cache, in ms (0: call on every get, concurrent gets still share). */
  maxAgeMs: number;
  /** Epoch ms; defaults to the service clock. */
  now?: () => number;
}

export interface TemplateProvider {
  /**
   * The template's view used by validation; throws `TemplateNotFoundError` when it does not exist.
   * With `hint.replayId` (an ops replay), the first call for that (template, replay id) fetches afresh.
   */
  get(instanceId: string, templateId: string, hint?: { replayId?: string }): Promise<TaskTemplateView>;
  /** Forgets every cached template. */
  invalidate(): void;
}

interface Entry {
  fetchedAt: number;
  view?: TaskTemplateView;
  pending?: Promise<TaskTemplateView>;
}

/** Keeps only what validation needs from a GetTaskTemplate response (no tags, no metadata). */
export function toTemplateView(output: GetTaskTemplateCommandOutput): TaskTemplateView {
  return {
    Id: output.Id,
    Status: output.Status,
    ContactFlowId: output.ContactFlowId,
    Fields: output.Fields,
    Constraints: output.Constraints,
    Defaults: output.Defaults,
  };
}

/**
 * Builds the template provider.
 * Input: a Connect client, the cache max age, optionally a clock.
 * Output: `get(instanceId, templateId)` and `invalidate()`.
 * Primary course of `get`: a fresh cached view → it; a call in flight → share it; otherwise
 * GetTaskTemplate, keep the view, cache it.
 */
export function createTemplateProvider(options: TemplateProviderOptions): TemplateProvider {
  if (options?.connect === undefined || typeof options.connect.send !== 'function') {
    throw new TypeError('createTemplateProvider: connect client is required');
  }
  if (typeof options.maxAgeMs !== 'number' || !Number.isFinite(options.maxAgeMs) || options.maxAgeMs < 0) {
    throw new TypeError('createTemplateProvider: maxAgeMs must be a finite, non-negative number');
  }
  const { connect, maxAgeMs } = options;
  const now = options.now ?? clockNow;
  const entries = new Map<string, Entry>();
  const replays = createReplayRefresher();

  function fetch(cacheKey: string, instanceId: string, templateId: string): Promise<TaskTemplateView> {
    const entry: Entry = { fetchedAt: now() };
    entries.set(cacheKey, entry);
    const load = async (): Promise<TaskTemplateView> => {
      let output: GetTaskTemplateCommandOutput;
      try {
        output = await connect.send(
          new GetTaskTemplateCommand({ InstanceId: instanceId, TaskTemplateId: templateId }),
        );
      } catch (error) {
        if (entries.get(cacheKey) === entry) entries.delete(cacheKey);
        if (isResourceNotFound(error))
          throw new TemplateNotFoundError(instanceId, templateId, { cause: error });
        throw error;
      }
      const view = toTemplateView(output);
      // Cache only if nobody invalidated (or replaced) this entry meanwhile.
      if (entries.get(cacheKey) === entry) {
        entry.view = view;
        entry.pending = undefined;
      }
      return view;
    };
    const pending = load();
    if (entries.get(cacheKey) === entry && entry.view === undefined) entry.pending = pending;
    return pending;
  }

  return {
    get(instanceId: string, templateId: string, hint?: { replayId?: string }): Promise<TaskTemplateView> {
      const cacheKey = JSON.stringify([instanceId, templateId]);
      if (hint?.replayId !== undefined) {
        const fresh = replays.first(JSON.stringify([cacheKey, hint.replayId]), () =>
          fetch(cacheKey, instanceId, templateId),
        );
        if (fresh !== undefined) return fresh;
      }
      const entry = entries.get(cacheKey);
      if (entry !== undefined) {
        if (entry.pending !== undefined) return entry.pending;
        if (entry.view !== undefined && now() - entry.fetchedAt < maxAgeMs)
          return Promise.resolve(entry.view);
      }
      return fetch(cacheKey, instanceId, templateId);
    },
    invalidate(): void {
      entries.clear();
    },
  };
}

function isResourceNotFound(error: unknown): boolean {
  return (
    error instanceof ResourceNotFoundException ||
    (error instanceof Error && error.name === 'ResourceNotFoundException')
  );
}
