/** REST-JSON responses of the emulator: a JSON body, a request id, and `x-amzn-errortype` on errors. */
import { randomUUID } from 'node:crypto';
import type { EmulatorResponse } from '../http-types.ts';
import type { ConnectApiError } from './errors.ts';

export function json(status: number, body: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers },
    body: JSON.stringify(body),
  };
}

export function errorResponse(error: ConnectApiError): EmulatorResponse {
  return json(error.status, { Message: error.message }, { 'x-amzn-errortype': error.type });
}
