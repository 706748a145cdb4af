/**
 * StopContact (POST /contact/stop): ends an active contact, freeing its place in the active-task
 * quota: DISCONNECTED (reason the DisconnectReason code, else API), then COMPLETED at once. A contact that already ended, or that does not exist in the instance, is
 * ContactNotFoundException (410): "The contact with the specified ID is not active or does not exist".
 */
import type { JsonObject } from '../check-input.ts';
import { ConnectApiError } from '../errors.ts';
import { disconnectContact } from '../lifecycle.ts';
import type { ConnectState } from '../state.ts';

export function stopContact(state: ConnectState, input: JsonObject): Record<string, never> {
  const instanceId = input.InstanceId as string;
  const contactId = input.ContactId as string;
  state.instanceOf(instanceId);
  const contact = state.contacts.get(contactId);
  if (!contact || contact.instanceId !== instanceId) {
    throw new ConnectApiError('ContactNotFoundException', `contact ${contactId} does not exist`);
  }
  if (contact.state !== 'ACTIVE') {
    throw new ConnectApiError('ContactNotFoundException', `contact ${contactId} is not active`);
  }
  const reason = input.DisconnectReason as { Code?: string } | undefined;
  disconnectContact(state, contact, state.now(), reason?.Code ?? 'API');
  return {};
}
