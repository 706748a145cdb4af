/**
 * The Connect side of scheduled transfers: DescribeContact (is the task still there and active?)
 * and TransferContact. Port + adapter over the SDK v3 ConnectClient, and the classification of
 * their errors into what the sweep does next.
 */
import { type ConnectClient, DescribeContactCommand, TransferContactCommand } from '@aws-sdk/client-connect';
import { classifyError } from '#lib/retry/classify.ts';
import { TransferGatewayError } from './errors.ts';

/** What the sweep needs to know about a contact before transferring it. */
export interface ContactSnapshot {
  contactId: string;
  /** `TASK`, `VOICE`, `CHAT`, `EMAIL`; absent if Connect did not say. */
  channel?: string;
  /** Epoch ms; set once the contact has ended. */
  disconnectedAt?: number;
}

export interface TransferCall {
  instanceId: string;
  contactId: string;
  queueId?: string;
  userId?: string;
  contactFlowId: string;
  /** `transferClientToken(contactId, planId)`. */
  clientToken: string;
}

export interface TransferCallResult {
  ContactId: string;
  ContactArn: string;
}

export interface TransferGateway {
  describeContact(instanceId: string, contactId: string): Promise<ContactSnapshot>;
  transferContact(call: TransferCall): Promise<TransferCallResult>;
}

/**
 * What to do after a failed Connect call:
 * - `retry` — 429, 5xx, timeouts, network: back to PENDING with backoff;
 * - `fail` — ResourceNotFound, InvalidRequest, InvalidParameter, AccessDenied, ServiceQuotaExceeded
 *   (for TransferContact: the contact's transfer quota), other 4xx: FAILED with the reason;
 * - `conflict` — 409 IdempotencyException: the token was used with other parameters: FAILED.
 */
type CallFailureAction = 'retry' | 'fail' | 'conflict';

export interface CallFailure {
  action: CallFailureAction;
  code: string;
  message: string;
}

/** Classifies an error from DescribeContact / TransferContact (built on lib/retry/classify.ts). */
export function classifyTransferError(error: unknown): CallFailure {
  const c = classifyError(error);
  if (c.code === 'IdempotencyException') return { action: 'conflict', code: c.code, message: c.message };
  return { action: c.class === 'TRANSIENT' ? 'retry' : 'fail', code: c.code, message: c.message };
}

/** The `TransferGateway` adapter over an SDK v3 ConnectClient (injected, traced in Lambda). */
export class ConnectTransferGateway implements TransferGateway {
  readonly #client: ConnectClient;

  constructor(client: ConnectClient) {
    this.#client = client;
  }

  async describeContact(instanceId: string, contactId: string): Promise<ContactSnapshot> {
    const out = await this.#client.send(
      new DescribeContactCommand({ InstanceId: instanceId, ContactId: contactId }),
    );
    const contact = out.Contact;
    if (!contact) throw new TransferGatewayError('DescribeContact returned no Contact');
    const snapshot: ContactSnapshot = { contactId: contact.Id ?? contactId };
    if (contact.Channel !== undefined) snapshot.channel = contact.Channel;
    if (contact.DisconnectTimestamp !== undefined)
      snapshot.disconnectedAt = contact.DisconnectTimestamp.getTime();
    return snapshot;
  }

  async transferContact(call: TransferCall): Promise<TransferCallResult> {
    const out = await this.#client.send(
      new TransferContactCommand({
        InstanceId: call.instanceId,
        ContactId: call.contactId,
        ContactFlowId: call.contactFlowId,
        ClientToken: call.clientToken,
        ...(call.queueId !== undefined ? { QueueId: call.queueId } : {}),
        ...(call.userId !== undefined ? { UserId: call.userId } : {}),
      }),
    );
    if (!out.ContactId || !out.ContactArn) {
      throw new TransferGatewayError('TransferContact returned no ContactId/ContactArn');
    }
    return { ContactId: out.ContactId, ContactArn: out.ContactArn };
  }
}
