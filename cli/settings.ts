/**
 * The global options (`--endpoint`, `--region`, `--stage`) resolved against the environment, and
 * the naming of the stage's resources (serverless.yml: `connect-task-ingest-<stage>-<suffix>`).
 */
import { CliUsageError } from '#cli/errors.ts';
import type { Lane } from '#lib/lanes.ts';

const SERVICE_NAME = 'connect-task-ingest';
export const DEFAULT_REGION = 'us-east-1';
/** The stage the sandbox deploys serverless.yml with. */
export const SANDBOX_STAGE = 'local';

export type Env = Readonly<Record<string, string | undefined>>;

/** The program's global options as commander parsed them. */
export interface GlobalOptions {
  endpoint?: string;
  region?: string;
  stage?: string;
}

export interface ResolvedSettings {
  endpoint?: string;
  region: string;
  stage?: string;
  /** Fake credentials for a loopback endpoint when the environment has none. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function isLoopback(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

/** Global options over environment over defaults. */
export function resolveSettings(options: GlobalOptions, env: Env): ResolvedSettings {
  const endpoint = nonEmpty(options.endpoint) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  if (endpoint !== undefined) {
    try {
      new URL(endpoint);
    } catch (error) {
      throw new CliUsageError(`--endpoint "${endpoint}" is not a URL`, { cause: error });
    }
  }
  const loopback = isLoopback(endpoint);
  const stage =
    nonEmpty(options.stage) ?? nonEmpty(env.TASK_INGEST_STAGE) ?? (loopback ? SANDBOX_STAGE : undefined);
  const hasCredentials =
    nonEmpty(env.AWS_ACCESS_KEY_ID) !== undefined || nonEmpty(env.AWS_PROFILE) !== undefined;
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    region: nonEmpty(options.region) ?? nonEmpty(env.AWS_REGION) ?? DEFAULT_REGION,
    ...(stage === undefined ? {} : { stage }),
    ...(loopback && !hasCredentials ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
  };
}

/** `connect-task-ingest-<stage>-<suffix>`, the naming of serverless.yml's resources. */
export function resourceName(stage: string, suffix: string): string {
  return `${SERVICE_NAME}-${stage}-${suffix}`;
}

/** Each lane's queue: the variable that overrides its URL and its name suffix (serverless.yml). */
export const LANE_QUEUES: Readonly<Record<Lane, { variable: string; suffix: string }>> = {
  urgent: { variable: 'INGEST_URGENT_QUEUE_URL', suffix: 'ingest-urgent' },
  normal: { variable: 'INGEST_QUEUE_URL', suffix: 'ingest' },
  bulk: { variable: 'INGEST_BULK_QUEUE_URL', suffix: 'ingest-bulk' },
};

/** The value, or undefined when it is absent or blank. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
