/** DescribeContact (GET /contacts/{InstanceId}/{ContactId}): timestamps in epoch seconds, as REST-JSON sends them. */
import type { JsonObject } from '../check-input.ts';
import { type ConnectState, templateKey } from '../state.ts';

export function describeContact(state: ConnectState, input: JsonObject) {
  const contact = state.contactAt(input.InstanceId as string, input.ContactId as string);
  const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
  const template = contact.taskTemplateId
    ? state.templates.get(templateKey(contact.instanceId, contact.taskTemplateId))
    : undefined;
  return {
    Contact: {
      Arn: contact.arn,
      Id: contact.contactId,
      PreviousContactId: contact.previousContactId,
      RelatedContactId: contact.relatedContactId,
      InitiationMethod: contact.initiationMethod,
      Name: contact.name,
      Description: contact.description,
      Channel: contact.channel,
      QueueInfo: contact.queueId ? { Id: contact.queueId } : undefined,
      AgentInfo: contact.userId ? { Id: contact.userId } : undefined,
      InitiationTimestamp: seconds(contact.initiationTimestamp),
      DisconnectTimestamp: seconds(contact.disconnectTimestamp),
      LastUpdateTimestamp: seconds(contact.lastUpdateTimestamp),
      ScheduledTimestamp: seconds(contact.scheduledTimestamp),
      DisconnectReason: contact.disconnectReason,
      Attributes: contact.attributes,
      SegmentAttributes: contact.segmentAttributes,
      TaskTemplateInfo: template ? { Arn: template.Arn, Name: template.Name } : undefined,
    },
  };
}
