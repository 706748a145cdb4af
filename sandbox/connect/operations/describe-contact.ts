/**
 * DescribeContact (GET /contacts/{InstanceId}/{ContactId}): timestamps in epoch seconds, as REST-JSON
 * sends them. Only members of the model's Contact output shape: QueueInfo {Id, EnqueueTimestamp} once
 * queued, AgentInfo {Id, ConnectedToAgentTimestamp, AfterContactWork*} once an agent accepted it.
 */
import type { JsonObject } from '../check-input.ts';
import type { ContactRecord } from '../contact-record.ts';
import { type ConnectState, templateKey } from '../state.ts';

type Seconds = (ms: number | undefined) => number | undefined;

function queueInfo(contact: ContactRecord, seconds: Seconds) {
  if (contact.queueId === undefined || contact.enqueueTimestamp === undefined) return undefined;
  return { Id: contact.queueId, EnqueueTimestamp: seconds(contact.enqueueTimestamp) };
}

function agentInfo(contact: ContactRecord, seconds: Seconds) {
  if (contact.userId === undefined) return undefined;
  return {
    Id: contact.userId,
    ConnectedToAgentTimestamp: seconds(contact.connectedToAgentTimestamp),
    AfterContactWorkStartTimestamp: seconds(contact.afterContactWorkStartTimestamp),
    AfterContactWorkEndTimestamp: seconds(contact.afterContactWorkEndTimestamp),
    AfterContactWorkDuration: contact.afterContactWorkDuration,
  };
}

export function describeContact(state: ConnectState, input: JsonObject) {
  const contact = state.contactAt(input.InstanceId as string, input.ContactId as string);
  const seconds: Seconds = (ms) => (ms === undefined ? undefined : ms / 1000);
  const template = contact.taskTemplateId
    ? state.templates.get(templateKey(contact.instanceId, contact.taskTemplateId))
    : undefined;
  return {
    Contact: {
      Arn: contact.arn,
      Id: contact.contactId,
      InitialContactId: contact.previousContactId === undefined ? undefined : contact.chainRootId,
      PreviousContactId: contact.previousContactId,
      RelatedContactId: contact.relatedContactId,
      InitiationMethod: contact.initiationMethod,
      Name: contact.name,
      Description: contact.description,
      Channel: contact.channel,
      QueueInfo: queueInfo(contact, seconds),
      AgentInfo: agentInfo(contact, seconds),
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
