/**
 * One contract, two implementations: the SDK adapter (`createSqsPort`) on the sandbox's SQS emulator
 * on 127.0.0.1, and the in-memory test double the unit tests use.
 */
import { afterAll, beforeAll } from 'vitest';
import { createSqsPort } from '#lib/redrive/sqs-port.ts';
import { createMovableClock } from '#sandbox/clock.ts';
import { type LocalSqs, startLocalSqs } from '#test/support/local-sqs.ts';
import { createInMemorySqsPort } from '#test/support/memory-sqs-port.ts';
import { sqsPortContract } from '#test/support/sqs-port-contract.ts';

let local: LocalSqs;
let seq = 0;

beforeAll(async () => {
  local = await startLocalSqs();
});

afterAll(async () => {
  await local?.stop();
});

sqsPortContract('createSqsPort on the sandbox SQS emulator', async () => {
  seq += 1;
  return {
    port: createSqsPort(local.sqs),
    queueUrl: local.createQueue(`port-contract-${seq}`),
    clock: local.clock,
  };
});

sqsPortContract('in-memory double', async () => {
  seq += 1;
  const clock = createMovableClock();
  return {
    port: createInMemorySqsPort(clock.now),
    queueUrl: `https://sqs.local/000000000000/port-contract-${seq}`,
    clock,
  };
});
