/**
 * The AWS SDK clients of a CLI run, each built on first use: the SDK package of a client is
 * imported only then, so a command loads only the clients it calls (and `--help` none).
 */
import type { ConnectClient } from '@aws-sdk/client-connect';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ResolvedSettings } from '#cli/settings.ts';

type Maybe<T> = T | Promise<T>;

/** Builds the SDK clients; tests inject their own. */
export interface ClientFactories {
  dynamo(settings: ResolvedSettings): Maybe<DynamoDBClient>;
  sqs(settings: ResolvedSettings): Maybe<SQSClient>;
  connect(settings: ResolvedSettings): Maybe<ConnectClient>;
}

function clientConfig(settings: ResolvedSettings) {
  return {
    region: settings.region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
  };
}

const defaultClientFactories: ClientFactories = {
  dynamo: async (settings) =>
    new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient(clientConfig(settings)),
  sqs: async (settings) => new (await import('@aws-sdk/client-sqs')).SQSClient(clientConfig(settings)),
  connect: async (settings) =>
    new (await import('@aws-sdk/client-connect')).ConnectClient(clientConfig(settings)),
};

export interface AwsClients {
  dynamo(): Promise<DynamoDBClient>;
  sqs(): Promise<SQSClient>;
  connect(): Promise<ConnectClient>;
  /** Closes the clients that were built. */
  destroy(): void;
}

/** One client of each kind per run, built on first use with the run's settings. */
export function createAwsClients(
  settings: () => ResolvedSettings,
  injected: Partial<ClientFactories> = {},
): AwsClients {
  const factories: ClientFactories = { ...defaultClientFactories, ...injected };
  const built = new Map<keyof ClientFactories, Promise<{ destroy(): void }>>();
  function client<K extends keyof ClientFactories>(
    kind: K,
  ): Promise<Awaited<ReturnType<ClientFactories[K]>>> {
    let pending = built.get(kind);
    if (pending === undefined) {
      pending = Promise.resolve().then(() => factories[kind](settings()));
      built.set(kind, pending);
    }
    return pending as Promise<Awaited<ReturnType<ClientFactories[K]>>>;
  }
  return {
    dynamo: () => client('dynamo'),
    sqs: () => client('sqs'),
    connect: () => client('connect'),
    destroy() {
      for (const pending of built.values()) void pending.then((c) => c.destroy()).catch(() => undefined);
      built.clear();
    },
  };
}
