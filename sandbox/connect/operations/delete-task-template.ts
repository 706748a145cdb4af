/** DeleteTaskTemplate (DELETE /instance/{InstanceId}/task/template/{TaskTemplateId}). */
import type { JsonObject } from '../check-input.ts';
import { type ConnectState, templateKey } from '../state.ts';

export function deleteTaskTemplate(state: ConnectState, input: JsonObject): Record<string, never> {
  const { template } = state.templateAt(input.InstanceId as string, input.TaskTemplateId as string);
  state.templates.delete(templateKey(template.InstanceId, template.Id));
  return {};
}
