/** UpdateTaskTemplate (POST /instance/{InstanceId}/task/template/{TaskTemplateId}): a full update of the template content. */
import type { JsonObject } from '../check-input.ts';
import { type ConnectState, requireFlow, templateKey } from '../state.ts';
import { applyTemplateUpdate, toTemplateResponse } from '../templates.ts';

export function updateTaskTemplate(state: ConnectState, input: JsonObject) {
  const { InstanceId, TaskTemplateId, ...body } = input;
  const { index, template: current } = state.templateAt(InstanceId as string, TaskTemplateId as string);
  const next = applyTemplateUpdate(current, body);
  if (next.ContactFlowId !== undefined) requireFlow(index, next.ContactFlowId);
  const updated = { ...current, ...next, LastModifiedTime: Math.max(state.now(), current.CreatedTime) };
  state.templates.set(templateKey(current.InstanceId, current.Id), updated);
  return toTemplateResponse(updated, false);
}
