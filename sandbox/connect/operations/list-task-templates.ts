/**
 * ListTaskTemplates (GET /instance/{InstanceId}/task/template): creation order; Status and Name
 * (exact) filters; MaxResults within the model's bounds, 100 when absent; NextToken an offset.
 */
import type { JsonObject } from '../check-input.ts';
import { invalidParameter } from '../errors.ts';
import type { ConnectState } from '../state.ts';
import { toTemplateSummary } from '../templates.ts';

export function listTaskTemplates(state: ConnectState, input: JsonObject) {
  const { InstanceId, Status, Name, MaxResults, NextToken } = input as {
    InstanceId: string;
    Status?: string;
    Name?: string;
    MaxResults?: number;
    NextToken?: string;
  };
  state.instanceOf(InstanceId);
  const max = MaxResults ?? 100;
  const offset = NextToken === undefined ? 0 : Number(NextToken);
  if (!Number.isInteger(offset) || offset < 0) throw invalidParameter('NextToken is not valid');
  const all = [...state.templates.values()].filter(
    (t) =>
      t.InstanceId === InstanceId &&
      (Status === undefined || t.Status === Status) &&
      (Name === undefined || t.Name === Name),
  );
  return {
    TaskTemplates: all.slice(offset, offset + max).map(toTemplateSummary),
    ...(offset + max < all.length && { NextToken: String(offset + max) }),
  };
}
