/**
 * The contract of `SqsPort` (lib/redrive/sqs-port.ts): the same cases run against every
 * implementation (the SDK adapter on the sandbox's SQS emulator, the in-memory test double), so the
 * double cannot drift from the adapter. test/integration/sqs-port-contract.test.ts runs it.
 *
 * Each implementation comes with the clock it reads (sandbox/clock.ts): a case moves it to let
 * visibility run out.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { beforeEach, describe, expect, it } from 'vitest';
import type { SqsPort } from '#lib/redrive/sqs-port.ts';
import type { MovableClock } from '#sandbox/clock.ts';

export interface SqsPortUnderTest {
  port: SqsPort;
  /** An empty queue of its own. */
  queueUrl: string;
  /** The clock the port's queues keep time on. */
  clock: MovableClock;
}

const attributes: Record<string, MessageAttributeValue> = {
  source: { DataType: 'String', StringValue: 'crm' },
  priority: { DataType: 'Number', StringValue: '3' },
};

function message(body: string, extra: Record<string, MessageAttributeValue> = {}) {
  return { MessageBody: body, MessageAttributes: { ...attributes, ...extra } };
}

/** Defines the contract's cases for the port and queue `fresh()` makes (an empty queue per case). */
export function sqsPortContract(name: string, fresh: () => Promise<SqsPortUnderTest>): void {
  describe(`SqsPort contract: ${name}`, () => {
    let port: SqsPort;
    let url: string;
    let clock: MovableClock;
    const hold = { maxMessages: 10, visibilityTimeoutSeconds: 30 };

    beforeEach(async () => {
      ({ port, queueUrl: url, clock } = await fresh());
    });

    it('returns nothing from an empty queue', async () => {
      // Act
      const received = await port.receive(url, hold);
      // Assess
      expect(received).toEqual([]);
    });

    it('delivers a sent message with its body, attributes, receive count and send time', async () => {
      // Prepare
      const before = clock.now();
      const sent = await port.send(url, message('{"id":"evt-1"}'));
      // Act
      const [received, ...rest] = await port.receive(url, hold);
      // Assess
      expect(rest).toEqual([]);
      expect(received?.messageId).toBe(sent.messageId);
      expect(received?.body).toBe('{"id":"evt-1"}');
      expect(received?.attributes).toEqual(attributes);
      expect(received?.receiveCount).toBe(1);
      expect(received?.receiptHandle).toEqual(expect.any(String));
      expect(received?.sentAt).toBeGreaterThanOrEqual(before - 1_000);
      expect(received?.sentAt).toBeLessThanOrEqual(clock.now() + 1_000);
      expect(received?.sourceQueueArn).toBeUndefined();
    });

    it('gives every sent message its own id', async () => {
      // Act
      const ids = [
        (await port.send(url, message('a'))).messageId,
        (await port.send(url, message('b'))).messageId,
      ];
      // Assess
      expect(new Set(ids).size).toBe(2);
    });

    it('receives at most maxMessages at once', async () => {
      // Prepare
      for (const body of ['a', 'b', 'c']) await port.send(url, message(body));
      // Act
      const first = await port.receive(url, { ...hold, maxMessages: 2 });
      const second = await port.receive(url, hold);
      // Assess
      expect(first).toHaveLength(2);
      expect(second).toHaveLength(1);
      expect([...first, ...second].map((m) => m.body).sort()).toEqual(['a', 'b', 'c']);
    });

    it('hides a received message for its visibility timeout, then delivers it again with a new handle', async () => {
      // Prepare
      await port.send(url, message('x'));
      const [first] = await port.receive(url, hold);
      // Act
      const hidden = await port.receive(url, hold);
      clock.advance(31_000);
      const [again] = await port.receive(url, hold);
      // Assess
      expect(hidden).toEqual([]);
      expect(again?.messageId).toBe(first?.messageId);
      expect(again?.receiveCount).toBe(2);
      expect(again?.receiptHandle).not.toBe(first?.receiptHandle);
    });

    it('deletes a received message for good', async () => {
      // Prepare
      await port.send(url, message('x'));
      const [received] = await port.receive(url, hold);
      // Act
      await port.delete(url, received?.receiptHandle as string);
      clock.advance(31_000);
      // Assess
      expect(await port.receive(url, hold)).toEqual([]);
    });

    it('makes a held message visible at once with visibility 0', async () => {
      // Prepare
      await port.send(url, message('x'));
      const [received] = await port.receive(url, hold);
      // Act
      await port.changeVisibility(url, received?.receiptHandle as string, 0);
      const [again] = await port.receive(url, hold);
      // Assess
      expect(again?.messageId).toBe(received?.messageId);
    });

    it('hides a held message for the new visibility, counted from the change', async () => {
      // Prepare
      await port.send(url, message('x'));
      const [received] = await port.receive(url, hold);
      // Act
      await port.changeVisibility(url, received?.receiptHandle as string, 120);
      clock.advance(60_000);
      const stillHidden = await port.receive(url, hold);
      clock.advance(61_000);
      const back = await port.receive(url, hold);
      // Assess
      expect(stillHidden).toEqual([]);
      expect(back.map((m) => m.messageId)).toEqual([received?.messageId]);
    });

    it('refuses to change the visibility of a message that is no longer in flight', async () => {
      // Prepare
      await port.send(url, message('x'));
      const [received] = await port.receive(url, hold);
      clock.advance(31_000);
      // Act
      const change = port.changeVisibility(url, received?.receiptHandle as string, 60);
      // Assess
      await expect(change).rejects.toThrow();
    });

    it('refuses a message with more than ten attributes', async () => {
      // Prepare
      const extra: Record<string, MessageAttributeValue> = {};
      for (let i = 0; i < 9; i += 1) extra[`a${i}`] = { DataType: 'String', StringValue: String(i) };
      // Act
      const send = port.send(url, message('x', extra));
      // Assess
      await expect(send).rejects.toThrow();
      expect(await port.receive(url, hold)).toEqual([]);
    });

    it('counts the visible messages', async () => {
      // Prepare
      for (const body of ['a', 'b', 'c']) await port.send(url, message(body));
      await port.receive(url, { ...hold, maxMessages: 1 });
      // Act
      const count = await port.approximateCount?.(url);
      // Assess
      expect(count).toBe(2);
    });
  });
}
