/**
 * UpdateContact (POST /contacts/{InstanceId}/{ContactId}): Name, Description, References (added or
 * replaced by key, the 4,096-byte budget applying to the result). Ongoing and completed contacts.
 * Publishes CONTACT_DATA_UPDATED.
 */
import type { JsonObject } from '../check-input.ts';
import { invalidParameter } from '../errors.ts';
import type { ConnectState } from '../state.ts';
import { checkReferencesBudget, readReferences } from '../validate.ts';

export function updateContact(state: ConnectState, input: JsonObject): Record<string, never> {
  const contact = state.contactAt(input.InstanceId as string, input.ContactId as string);
  const name = input.Name as string | undefined;
  const description = input.Description as string | undefined;
  const references =
    input.References === undefined
      ? undefined
      : readReferences(input.References, state.limits.references.typesAtUpdate);
  if (name === undefined && description === undefined && references === undefined) {
    throw invalidParameter('UpdateContact needs at least one of Name, Description or References');
  }
  const merged = { ...contact.references, ...references };
  checkReferencesBudget(merged, state.limits);
  if (name !== undefined) contact.name = name;
  if (description !== undefined) contact.description = description;
  contact.references = merged;
  contact.lastUpdateTimestamp = Math.max(contact.lastUpdateTimestamp, state.now());
  state.emit('CONTACT_DATA_UPDATED', contact);
  return {};
}
