/**
 * The codec between the transfers table's records and `TransferItem`s, and its opaque page cursors.
 * Stored records are a boundary (written by hand or by an older version): every field is checked.
 */
import { isObject } from '#lib/guards.ts';
import { TransferCursorError, TransferRecordError } from '#lib/transfers/errors.ts';
import { COUNTER_PLAN_ID, TRANSFER_STATUSES, type TransferItem, type TransferStatus } from './port.ts';

type Key = Record<string, unknown>;
/** A page position: which query phase, and the last key DynamoDB evaluated. */
export type Cursor = { phase: 'PENDING' | 'CLAIMED' | 'list'; key?: Key };

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

export function decodeCursor(raw: string | undefined, allowed: Cursor['phase'][]): Cursor | undefined {
  if (raw === undefined || raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch (error) {
    throw new TransferCursorError('cursor is not one this store produced', { cause: error });
  }
  if (
    !isObject(parsed) ||
    !allowed.includes(parsed.phase as Cursor['phase']) ||
    (parsed.key !== undefined && !isObject(parsed.key))
  ) {
    throw new TransferCursorError('cursor is not one this store produced');
  }
  return parsed as Cursor;
}

function str(record: Record<string, unknown>, field: string): string {
  const value = record[field];
  if (typeof value !== 'string' || value === '') {
    throw new TransferRecordError(`transfer record field "${field}" must be a non-empty string`);
  }
  return value;
}

function num(record: Record<string, unknown>, field: string): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TransferRecordError(`transfer record field "${field}" must be a number`);
  }
  return value;
}

function optStr(record: Record<string, unknown>, field: string): string | undefined {
  return record[field] === undefined ? undefined : str(record, field);
}

function optNum(record: Record<string, unknown>, field: string): number | undefined {
  return record[field] === undefined ? undefined : num(record, field);
}

/** Turns a stored record into a `TransferItem`, refusing records that are not one. */
export function toTransferItem(record: Record<string, unknown>): TransferItem {
  const status = str(record, 'status');
  if (!(TRANSFER_STATUSES as readonly string[]).includes(status)) {
    throw new TransferRecordError(`transfer record has unknown status "${status}"`);
  }
  const item: TransferItem = {
    contactId: str(record, 'contactId'),
    planId: str(record, 'planId'),
    instanceId: str(record, 'instanceId'),
    status: status as TransferStatus,
    dueAt: num(record, 'dueAt'),
    contactFlowId: str(record, 'contactFlowId'),
    attempts: num(record, 'attempts'),
    createdAt: num(record, 'createdAt'),
    updatedAt: num(record, 'updatedAt'),
    expiresAt: num(record, 'expiresAt'),
  };
  const queueId = optStr(record, 'queueId');
  const userId = optStr(record, 'userId');
  const leaseOwner = optStr(record, 'leaseOwner');
  const leaseUntil = optNum(record, 'leaseUntil');
  const reason = optStr(record, 'reason');
  if (queueId !== undefined) item.queueId = queueId;
  if (userId !== undefined) item.userId = userId;
  if (leaseOwner !== undefined) item.leaseOwner = leaseOwner;
  if (leaseUntil !== undefined) item.leaseUntil = leaseUntil;
  if (reason !== undefined) item.reason = reason;
  const result = record.result;
  if (result !== undefined) {
    if (!isObject(result)) throw new TransferRecordError('transfer record field "result" must be an object');
    item.result = { ContactId: str(result, 'ContactId'), ContactArn: str(result, 'ContactArn') };
  }
  return item;
}

export const isPlanRecord = (record: Record<string, unknown>) => record.planId !== COUNTER_PLAN_ID;
