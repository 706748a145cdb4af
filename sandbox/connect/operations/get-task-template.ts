/** GetTaskTemplate (GET /instance/{InstanceId}/task/template/{TaskTemplateId}). */
import type { JsonObject } from '../check-input.ts';
import type { ConnectState } from '../state.ts';
import { toTemplateResponse } from '../templates.ts';

export function getTaskTemplate(state: ConnectState, input: JsonObject) {
  const { template } = state.templateAt(input.InstanceId as string, input.TaskTemplateId as string);
  return toTemplateResponse(template, true);
}
