/**
 * The Amazon Connect API model as the emulator reads it: `api-model.json`, generated from the
 * botocore model by `scripts/connect-model.mjs` (its `source` names the model version and sha256).
 * Request constraints, HTTP bindings and each operation's error list come from here, not from the
 * product's limits table, so the emulator is an independent check of the product's validator.
 */
import { readFileSync } from 'node:fs';

/** The operations the emulator serves (the generator writes exactly these into the data file). */
export type ConnectOperation =
  | 'StartTaskContact'
  | 'TransferContact'
  | 'UpdateContact'
  | 'DescribeContact'
  | 'ListContactReferences'
  | 'StopContact'
  | 'CreateTaskTemplate'
  | 'GetTaskTemplate'
  | 'ListTaskTemplates'
  | 'UpdateTaskTemplate'
  | 'DeleteTaskTemplate';

/** One input member or shape, resolved through the model's shapes. */
export interface ModelNode {
  shape: string;
  type: string;
  min?: number;
  max?: number;
  enum?: string[];
  /** The model's (Java) pattern and its JavaScript form (`u` flag); null when not convertible. */
  pattern?: string;
  patternJs?: string | null;
  required?: string[];
  members?: Record<string, ModelNode>;
  member?: ModelNode;
  key?: ModelNode;
  value?: ModelNode;
  /** Set on a shape that contains itself: named again without its constraints, not descended into. */
  ref?: string;
  location?: 'uri' | 'querystring' | 'header';
  locationName?: string;
}

export interface OperationModel {
  http: { method: string; requestUri: string };
  errors: string[];
  input: ModelNode;
}

export interface ApiModel {
  source: {
    service: string;
    apiVersion: string;
    botocoreVersion: string | null;
    sha256: string;
  };
  errors: Record<string, { httpStatus: number | null }>;
  operations: Record<ConnectOperation, OperationModel>;
}

export const API_MODEL: ApiModel = JSON.parse(
  readFileSync(new URL('./api-model.json', import.meta.url), 'utf8'),
) as ApiModel;

export const CONNECT_OPERATIONS = Object.freeze(Object.keys(API_MODEL.operations)) as unknown as readonly [
  ConnectOperation,
  ...ConnectOperation[],
];

export function operationModel(operation: ConnectOperation): OperationModel {
  return API_MODEL.operations[operation];
}

/** True when the model lists `errorType` among the errors `operation` may return. */
export function operationMayReturn(operation: ConnectOperation, errorType: string): boolean {
  return API_MODEL.operations[operation].errors.includes(errorType);
}

/**
 * The error an operation answers a malformed request with: InvalidParameterException where its
 * model lists it, else InvalidRequestException (TransferContact lists no InvalidParameterException).
 */
export function validationErrorOf(
  operation: ConnectOperation,
): 'InvalidParameterException' | 'InvalidRequestException' {
  return operationMayReturn(operation, 'InvalidParameterException')
    ? 'InvalidParameterException'
    : 'InvalidRequestException';
}
