/** The emulated operations, keyed by name: each takes the shared state and its model-checked input. */
import type { JsonObject } from '../check-input.ts';
import type { ConnectOperation } from '../config.ts';
import type { ConnectState } from '../state.ts';
import { createTaskTemplate } from './create-task-template.ts';
import { deleteTaskTemplate } from './delete-task-template.ts';
import { describeContact } from './describe-contact.ts';
import { getTaskTemplate } from './get-task-template.ts';
import { listContactReferences } from './list-contact-references.ts';
import { listTaskTemplates } from './list-task-templates.ts';
import { startTaskContact } from './start-task-contact.ts';
import { stopContact } from './stop-contact.ts';
import { transferContact } from './transfer-contact.ts';
import { updateContact } from './update-contact.ts';
import { updateTaskTemplate } from './update-task-template.ts';

export type OperationHandler = (state: ConnectState, input: JsonObject) => unknown;

export const OPERATION_HANDLERS: Record<ConnectOperation, OperationHandler> = {
  StartTaskContact: startTaskContact,
  TransferContact: transferContact,
  StopContact: stopContact,
  DescribeContact: describeContact,
  UpdateContact: updateContact,
  ListContactReferences: listContactReferences,
  CreateTaskTemplate: createTaskTemplate,
  GetTaskTemplate: getTaskTemplate,
  ListTaskTemplates: listTaskTemplates,
  UpdateTaskTemplate: updateTaskTemplate,
  DeleteTaskTemplate: deleteTaskTemplate,
};
