/**
 * TransferContact (POST /contact/transfer). Output: `{ContactId, ContactArn}`.
 * Contact events: to a queue (QueueId, else the flow's `queueId` in the world), QUEUED in it; to a
 * user, CONNECTED_TO_AGENT with that user; to a flow that names no queue, none.
 *
 * Primary course: never both QueueId and UserId; the contact exists; a known ClientToken with the
 * same parameters returns the first response (counted once), with other parameters 409
 * IdempotencyException; the contact is an ACTIVE TASK; flow, queue and user exist; fewer than 11
 * transfers so far; record the transfer. The model lists no InvalidParameterException for this
 * operation, so every refusal of the request is InvalidRequestException; beyond 11 transfers too
 * (no backoff can cure it, so callers must classify it as permanent).
 */
import type { JsonObject } from '../check-input.ts';
import { ConnectApiError, invalidRequest, notFound } from '../errors.ts';
import { connectToAgent, queueContact } from '../lifecycle.ts';
import {
  type ConnectState,
  type InstanceIndex,
  requireFlow,
  type TransferResponse,
  tokenKey,
  userIn,
} from '../state.ts';

/** TransferContact flow types (TransferContact API reference: inbound, transfer-to-agent, transfer-to-queue). */
const TRANSFER_FLOW_TYPES = new Set(['CONTACT_FLOW', 'AGENT_TRANSFER', 'QUEUE_TRANSFER']);

interface TransferInput {
  InstanceId: string;
  ContactId: string;
  ContactFlowId: string;
  QueueId?: string;
  UserId?: string;
  ClientToken?: string;
}

/** Checks flow, queue, user and transfer count, in that order; returns the user's id. */
function checkTransferable(
  state: ConnectState,
  index: InstanceIndex,
  input: TransferInput,
  transfers: number,
): string | undefined {
  const flow = requireFlow(index, input.ContactFlowId);
  if (!TRANSFER_FLOW_TYPES.has(flow.type)) {
    throw invalidRequest(
      `contact flow ${flow.id} is of type ${flow.type}; TransferContact supports inbound, transfer-to-agent and transfer-to-queue flows`,
    );
  }
  if (input.QueueId !== undefined && !index.queues.has(input.QueueId)) {
    throw notFound(`QueueId: queue ${input.QueueId} does not exist`);
  }
  const userId = input.UserId === undefined ? undefined : userIn(state, index, input.UserId);
  const max = state.limits.tasks.transfersMax;
  if (transfers >= max) throw invalidRequest(`a contact cannot be transferred more than ${max} times`);
  return userId;
}

export function transferContact(state: ConnectState, body: JsonObject): TransferResponse {
  const input = body as unknown as TransferInput;
  const { InstanceId: instanceId, ContactId: contactId, QueueId: queueId, ClientToken: clientToken } = input;
  const index = state.instanceOf(instanceId);
  if (queueId !== undefined && input.UserId !== undefined) {
    throw invalidRequest('do not use both QueueId and UserId in the same TransferContact call');
  }
  const contact = state.contactIn(instanceId, contactId);
  const fingerprint = JSON.stringify([contactId, input.ContactFlowId, queueId ?? null, input.UserId ?? null]);
  if (clientToken !== undefined) {
    const prior = state.recall(state.transferTokens, tokenKey(instanceId, clientToken));
    if (prior) {
      if (prior.fingerprint === fingerprint) return prior.response;
      throw new ConnectApiError(
        'IdempotencyException',
        'this ClientToken was already used for a TransferContact call with other parameters',
      );
    }
  }
  if (contact.channel !== 'TASK') {
    throw invalidRequest(
      `TransferContact supports only TASK contacts; contact ${contactId} is ${contact.channel}`,
    );
  }
  if (contact.state !== 'ACTIVE') {
    throw invalidRequest(
      `TransferContact can be called only on active contacts; contact ${contactId} has ended`,
    );
  }
  const userId = checkTransferable(state, index, input, contact.transfers);

  const t = state.now();
  contact.transfers += 1;
  contact.contactFlowId = input.ContactFlowId;
  contact.lastUpdateTimestamp = t;
  const queue = queueId ?? (userId === undefined ? index.flows.get(input.ContactFlowId)?.queueId : undefined);
  if (queue !== undefined) queueContact(state, contact, queue, t);
  if (userId !== undefined) connectToAgent(state, contact, userId, t, false);
  const response = { ContactId: contact.contactId, ContactArn: contact.arn };
  if (clientToken !== undefined) {
    state.transferTokens.set(tokenKey(instanceId, clientToken), { at: t, value: { fingerprint, response } });
  }
  return response;
}
