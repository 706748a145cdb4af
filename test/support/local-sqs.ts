/**
 * The sandbox's SQS emulator served on 127.0.0.1, with an SDK client pointed at it: for integration
 * tests of code that talks to SQS through the SDK.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { createMovableClock, type MovableClock } from '#sandbox/clock.ts';
import { serveHandler } from '#sandbox/serve.ts';
import { createSqsEmulator, type SqsEmulator } from '#sandbox/sqs/emulator.ts';
import { loopbackClientConfig } from '#test/support/loopback.ts';

export interface LocalSqs {
  emulator: SqsEmulator;
  sqs: SQSClient;
  /** The emulator's clock: a test moves it to let visibility timeouts and delays run out. */
  clock: MovableClock;
  /** Creates a queue and returns its URL. */
  createQueue(name: string): string;
  stop(): Promise<void>;
}

export async function startLocalSqs(): Promise<LocalSqs> {
  const clock = createMovableClock();
  const emulator = createSqsEmulator({ now: clock.now });
  const server = await serveHandler(emulator.handle);
  const sqs = new SQSClient(loopbackClientConfig(server.endpoint));
  return {
    emulator,
    sqs,
    clock,
    createQueue: (name) => emulator.createQueue(name).url(server.endpoint),
    async stop() {
      sqs.destroy();
      await server.close();
    },
  };
}
