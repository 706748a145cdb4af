/**
 * Task templates, read through a cache.
 *
 * Tasks created with a `TaskTemplateId` are validated against their template before the call
 * (status, required fields, defaults: `lib/connect/validate-task.ts`). GetTaskTemplate (GetTaskTemplate API reference)
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
import { createTtlCache } from '#lib/cache/ttl-cache.ts';
import type { TaskTemplateView } from '#lib/connect/validate-task.ts';
import { TemplateNotFoundError } from './errors.ts';

export type { TaskTemplateView } from '#lib/connect/validate-task.ts';

export interface TemplateProviderOptions {
  connect: Pick<ConnectClient, 'send'>;
  /** How long a template is served from the cache, in ms (0: call on every get, concurrent gets still share). */
  maxAgeMs: number;
  /**
   * The time in epoch ms, against which cached templates age.
   * @default Date.now
   */
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
  const { connect } = options;
  const cache = createTtlCache<TaskTemplateView>({
    maxAgeMs: options.maxAgeMs,
    ...(options.now ? { now: options.now } : {}),
  });
  const load = (instanceId: string, templateId: string) => async (): Promise<TaskTemplateView> => {
    try {
      return toTemplateView(
        await connect.send(
          new GetTaskTemplateCommand({ InstanceId: instanceId, TaskTemplateId: templateId }),
        ),
      );
    } catch (error) {
      if (isResourceNotFound(error))
        throw new TemplateNotFoundError(instanceId, templateId, { cause: error });
      throw error;
    }
  };
  return {
    get: (instanceId, templateId, hint) =>
      cache.get(JSON.stringify([instanceId, templateId]), load(instanceId, templateId), hint),
    invalidate: () => cache.invalidate(),
  };
}

function isResourceNotFound(error: unknown): boolean {
  return (
    error instanceof ResourceNotFoundException ||
    (error instanceof Error && error.name === 'ResourceNotFoundException')
  );
}
