/** CreateTaskTemplate (PUT /instance/{InstanceId}/task/template) → {Id, Arn}; idempotent by ClientToken. */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../check-input.ts';
import { type ConnectState, requireFlow, templateKey, tokenKey } from '../state.ts';
import { parseCreateTemplate } from '../templates.ts';

export function createTaskTemplate(state: ConnectState, input: JsonObject) {
  const { InstanceId, ClientToken, ...body } = input as JsonObject & {
    InstanceId: string;
    ClientToken?: string;
  };
  const index = state.instanceOf(InstanceId);
  const definition = parseCreateTemplate(body);
  if (ClientToken !== undefined) {
    const prior = state.recall(state.templateTokens, tokenKey(InstanceId, ClientToken));
    const existing = prior ? state.templates.get(templateKey(InstanceId, prior)) : undefined;
    if (existing) return { Id: existing.Id, Arn: existing.Arn };
  }
  if (definition.ContactFlowId !== undefined) requireFlow(index, definition.ContactFlowId);
  const template = state.storedTemplate(InstanceId, randomUUID(), definition);
  state.templates.set(templateKey(InstanceId, template.Id), template);
  if (ClientToken !== undefined) {
    state.templateTokens.set(tokenKey(InstanceId, ClientToken), {
      at: template.CreatedTime,
      value: template.Id,
    });
  }
  return { Id: template.Id, Arn: template.Arn };
}
