import { randomBytes } from 'node:crypto';
import type { StoredAttributeValue } from './md5.ts';
import { DEFAULT_QUEUE_ATTRIBUTES, parseRedrivePolicy, type RedrivePolicy } from './queue-attributes.ts';

/**
 * One standard queue's state. Times are epoch milliseconds of the emulator's (movable) clock; every
 * state question takes the current time `t`, so moving the clock moves messages between states.
 */

export type MessageState = 'delayed' | 'inflight' | 'visible';

export interface StoredMessage {
  readonly id: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly attributes: Readonly<Record<string, StoredAttributeValue>>;
  readonly systemAttributes: Readonly<Record<string, StoredAttributeValue>>;
  readonly senderId: string;
  /** When the message was first sent; kept when it moves to a dead-letter queue (retention counts from it). */
  readonly sentTimestamp: number;
  /** End of the message's delay (DelaySeconds); the message is "delayed" until then. */
  readonly availableAt: number;
  /** ARN of the queue it came from, when the redrive policy moved it here. */
  readonly deadLetterQueueSourceArn?: string;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  /** When the latest receive happened; the 12-hour visibility ceiling counts from it. */
  lastReceivedAt?: number;
  /** In flight (not visible) until then. */
  inflightUntil?: number;
  /** The receipt handle of the latest receive; older handles are stale. */
  receiptHandle?: string;
}

export interface QueueCounts {
  visible: number;
  notVisible: number;
  delayed: number;
}

export class Queue {
  readonly name: string;
  readonly arn: string;
  readonly createdAt: number;
  lastModifiedAt: number;
  /** Settable attributes (normalised), defaults included. */
  readonly attributes: Record<string, string>;
  readonly tags: Record<string, string>;
  /** Messages in send order (a standard queue does not promise order; the emulator serves oldest first). */
  readonly messages = new Map<string, StoredMessage>();
  /** Message ids to deliver once more on the next receive (the duplicate-delivery fault). */
  readonly pendingDuplicates: string[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(init: { name: string; arn: string; createdAt: number; attributes: Record<string, string> }) {
    this.name = init.name;
    this.arn = init.arn;
    this.createdAt = init.createdAt;
    this.lastModifiedAt = init.createdAt;
    this.attributes = { ...DEFAULT_QUEUE_ATTRIBUTES };
    this.tags = {};
    this.applyAttributes(init.attributes);
  }

  /** Applies normalised attributes; '' removes RedrivePolicy / RedriveAllowPolicy. */
  applyAttributes(attributes: Readonly<Record<string, string>>): void {
    for (const [name, value] of Object.entries(attributes)) {
      if (value === '' && (name === 'RedrivePolicy' || name === 'RedriveAllowPolicy' || name === 'Policy'))
        delete this.attributes[name];
      else this.attributes[name] = value;
    }
  }

  /** The current value of an attribute that always has one (defaults included). */
  seconds(
    name: 'DelaySeconds' | 'VisibilityTimeout' | 'MessageRetentionPeriod' | 'ReceiveMessageWaitTimeSeconds',
  ): number {
    return Number(this.attributes[name] ?? DEFAULT_QUEUE_ATTRIBUTES[name]);
  }

  get maximumMessageSize(): number {
    return Number(this.attributes.MaximumMessageSize ?? DEFAULT_QUEUE_ATTRIBUTES.MaximumMessageSize);
  }

  get redrivePolicy(): RedrivePolicy | undefined {
    const raw = this.attributes.RedrivePolicy;
    return raw ? parseRedrivePolicy(raw) : undefined;
  }

  stateOf(message: StoredMessage, t: number): MessageState {
    if (message.inflightUntil !== undefined && message.inflightUntil > t) return 'inflight';
    if (message.availableAt > t) return 'delayed';
    return 'visible';
  }

  /** Drops messages older than MessageRetentionPeriod (counted from the original send). */
  expire(t: number): void {
    const retentionMs = this.seconds('MessageRetentionPeriod') * 1000;
    for (const [id, message] of this.messages) {
      if (message.sentTimestamp + retentionMs <= t) this.messages.delete(id);
    }
  }

  counts(t: number): QueueCounts {
    this.expire(t);
    const counts: QueueCounts = { visible: 0, notVisible: 0, delayed: 0 };
    for (const message of this.messages.values()) {
      const state = this.stateOf(message, t);
      if (state === 'visible') counts.visible += 1;
      else if (state === 'inflight') counts.notVisible += 1;
      else counts.delayed += 1;
    }
    return counts;
  }

  /** Milliseconds (clock time) until the next delayed or in-flight message becomes visible; undefined if none. */
  nextVisibleIn(t: number): number | undefined {
    let next: number | undefined;
    for (const message of this.messages.values()) {
      const at = Math.max(message.availableAt, message.inflightUntil ?? 0);
      if (at > t && (next === undefined || at < next)) next = at;
    }
    return next === undefined ? undefined : next - t;
  }

  add(message: StoredMessage): void {
    this.messages.set(message.id, message);
    this.wake();
  }

  purge(): void {
    this.messages.clear();
    this.pendingDuplicates.length = 0;
  }

  /**
   * Marks a message received: receive count + 1, a new receipt handle (older ones become stale), in flight
   * for `visibilityTimeoutSeconds`. Returns the new receipt handle.
   */
  markReceived(message: StoredMessage, visibilityTimeoutSeconds: number, t: number): string {
    message.receiveCount += 1;
    message.firstReceiveTimestamp ??= t;
    message.lastReceivedAt = t;
    message.inflightUntil = t + visibilityTimeoutSeconds * 1000;
    message.receiptHandle = encodeReceiptHandle(this.name, message.id);
    return message.receiptHandle;
  }

  /** Resolves when a message may have become available (send, visibility change to 0) or after `ms`. */
  waitForMessages(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      timer.unref();
      this.waiters.add(done);
    });
  }

  /** Wakes every long poll waiting on this queue. */
  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/**
 * Receipt handles are opaque to clients: base64url of queue name, message id and a random nonce. A handle
 * that does not decode, or names another queue, is `ReceiptHandleIsInvalid`.
 */
function encodeReceiptHandle(queueName: string, messageId: string): string {
  const nonce = randomBytes(12).toString('hex');
  return Buffer.from(`v1\n${queueName}\n${messageId}\n${nonce}`, 'utf8').toString('base64url');
}

export function decodeReceiptHandle(handle: string): { queueName: string; messageId: string } | undefined {
  if (handle.length === 0 || handle.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(handle)) return undefined;
  const parts = Buffer.from(handle, 'base64url').toString('utf8').split('\n');
  if (parts.length !== 4 || parts[0] !== 'v1') return undefined;
  const [, queueName, messageId] = parts;
  if (!queueName || !messageId) return undefined;
  return { queueName, messageId };
}
