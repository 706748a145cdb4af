/**
 * DescribeContact as facts: what Connect says of a task now, for tasks whose contact events did not
 * all arrive (reconcile.ts). Calls spend the DescribeContact budget (`limiter`).
 */
import {
  type ConnectClient,
  type Contact,
  DescribeContactCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-connect';
import type { ContactFact } from './progress.ts';

/** The reference of every fact read with DescribeContact: one reading per type, however often it is read. */
export const DESCRIBE_REF = 'describe';

type DescribedContact = { found: false } | { found: true; facts: ContactFact[] };

export type ContactDescriber = (instanceId: string, contactId: string) => Promise<DescribedContact>;

const ms = (date: Date | undefined) => date?.getTime();

/** The facts a DescribeContact answer holds: one per type whose timestamp it carries. */
export function factsOfContact(contact: Contact): ContactFact[] {
  const agent = contact.AgentInfo;
  const snapshot = {
    ...(agent?.Id ? { agentId: agent.Id } : {}),
    ...(contact.QueueInfo?.Id ? { queueId: contact.QueueInfo.Id } : {}),
    initiatedAt: ms(contact.InitiationTimestamp),
    enqueuedAt: ms(contact.QueueInfo?.EnqueueTimestamp),
    connectedAt: ms(agent?.ConnectedToAgentTimestamp),
    disconnectedAt: ms(contact.DisconnectTimestamp),
    acwStartAt: ms(agent?.AfterContactWorkStartTimestamp),
    acwEndAt: ms(agent?.AfterContactWorkEndTimestamp),
    ...(contact.DisconnectReason ? { disconnectReason: contact.DisconnectReason } : {}),
  };
  const defined = Object.fromEntries(Object.entries(snapshot).filter(([, v]) => v !== undefined));
  const fact = (type: ContactFact['type'], at: number | undefined): ContactFact[] =>
    at === undefined ? [] : [{ type, at, ref: DESCRIBE_REF, via: 'reconcile', ...defined } as ContactFact];
  // Ended, and not in after-contact work: the contact has fully ended.
  const inAfterWork = snapshot.acwStartAt !== undefined && snapshot.acwEndAt === undefined;
  return [
    ...fact('INITIATED', snapshot.initiatedAt),
    ...fact('QUEUED', snapshot.enqueuedAt),
    ...fact('CONNECTED_TO_AGENT', snapshot.connectedAt),
    ...fact('DISCONNECTED', snapshot.disconnectedAt),
    ...(inAfterWork ? [] : fact('COMPLETED', snapshot.acwEndAt ?? snapshot.disconnectedAt)),
  ];
}

/** A describer over the Connect client; every call waits for a slot of `limiter`. */
export function connectDescriber(
  connect: ConnectClient,
  limiter: { acquire(): Promise<void>; throttled?(): void },
): ContactDescriber {
  return async (instanceId, contactId) => {
    await limiter.acquire();
    try {
      const out = await connect.send(
        new DescribeContactCommand({ InstanceId: instanceId, ContactId: contactId }),
      );
      return out.Contact ? { found: true, facts: factsOfContact(out.Contact) } : { found: false };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return { found: false };
      if ((error as { name?: unknown })?.name === 'ThrottlingException') limiter.throttled?.();
      throw error;
    }
  };
}
