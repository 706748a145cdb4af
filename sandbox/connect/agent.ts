/**
 * What an agent does with a contact, for the admin routes `POST /_sandbox/contacts/<id>/accept` and
 * `/complete` (Connect has no API for it: an agent acts in the Contact Control Panel).
 *
 * - accept: a queued, active contact not connected to an agent yet is connected to `userId` (the ID
 *   or ARN of a user of its instance; default the instance's first user): CONNECTED_TO_AGENT.
 * - complete: a contact connected to an agent ends (DISCONNECTED, reason AGENT_DISCONNECT); without
 *   after-contact work it COMPLETES at once, with `afterContactWorkSeconds` when they have passed.
 *
 * Anything else is refused: InvalidRequestException for a contact in the wrong state,
 * ResourceNotFoundException for an unknown contact or user.
 */

import type { ContactRecord } from './contact-record.ts';
import { invalidRequest, notFound } from './errors.ts';
import { connectToAgent, disconnectContact } from './lifecycle.ts';
import { type ConnectState, userIn } from './state.ts';

function activeContact(state: ConnectState, contactId: string, doing: string): ContactRecord {
  const contact = state.contacts.get(contactId);
  if (!contact) throw notFound(`contact ${contactId} does not exist`);
  if (contact.state !== 'ACTIVE') {
    throw invalidRequest(
      `contact ${contactId} has ended (${contact.disconnectReason}); it cannot be ${doing}`,
    );
  }
  return contact;
}

export function acceptContact(state: ConnectState, contactId: string, userId?: string): void {
  const contact = activeContact(state, contactId, 'accepted');
  if (contact.connectedToAgentTimestamp !== undefined) {
    throw invalidRequest(`contact ${contactId} is already connected to agent ${contact.userId}`);
  }
  if (contact.enqueueTimestamp === undefined) {
    const due = contact.queueDueTimestamp;
    throw invalidRequest(
      `contact ${contactId} is not in a queue${due === undefined ? '' : ` until ${new Date(due).toISOString()}`}; it cannot be accepted`,
    );
  }
  const index = state.instanceOf(contact.instanceId);
  const user = userId ?? index.instance.users[0]?.id;
  if (user === undefined)
    throw invalidRequest(`instance ${contact.instanceId} has no users to accept the contact`);
  connectToAgent(state, contact, userIn(state, index, user, 'userId'), state.now());
}

export function completeContactAsAgent(
  state: ConnectState,
  contactId: string,
  afterContactWorkSeconds?: number,
): void {
  const contact = activeContact(state, contactId, 'completed');
  if (contact.connectedToAgentTimestamp === undefined) {
    throw invalidRequest(`contact ${contactId} is not connected to an agent; accept it first`);
  }
  disconnectContact(state, contact, state.now(), 'AGENT_DISCONNECT', afterContactWorkSeconds);
}
