/** ListContactReferences (GET /contact/references/{InstanceId}/{ContactId}?referenceTypes=...). */
import type { JsonObject } from '../check-input.ts';
import type { ConnectState } from '../state.ts';

/** ReferenceSummary member of each type a task stores; the model's other types match nothing here. */
const SUMMARY_KEY: Record<string, string> = {
  URL: 'Url',
  ATTACHMENT: 'Attachment',
  STRING: 'String',
  NUMBER: 'Number',
  DATE: 'Date',
  EMAIL: 'Email',
};

export function listContactReferences(state: ConnectState, input: JsonObject) {
  const contact = state.contactAt(input.InstanceId as string, input.ContactId as string);
  const wanted = new Set(input.ReferenceTypes as string[]);
  const ReferenceSummaryList = Object.entries(contact.references)
    .filter(([, ref]) => wanted.has(ref.Type))
    .map(([name, ref]) => ({
      [SUMMARY_KEY[ref.Type] as string]: {
        Name: name,
        Value: ref.Value,
        ...(ref.Type === 'ATTACHMENT' && { Status: 'APPROVED' }),
      },
    }));
  return { ReferenceSummaryList };
}
