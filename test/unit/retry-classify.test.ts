import {
  AccessDeniedException,
  IdempotencyException,
  InternalServiceException,
  InvalidParameterException,
  InvalidRequestException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ThrottlingException,
} from '@aws-sdk/client-connect';
import { describe, expect, it } from 'vitest';
import { ActiveTasksAtQuotaError } from '#lib/capacity/errors.ts';
import { EnvelopeError } from '#lib/envelope/errors.ts';
import { IngestRefusalError, IngestRetryError } from '#lib/ingest/errors.ts';
import { LedgerStoreError } from '#lib/ledger/errors.ts';
import { classifyError, MAX_FAILURE_MESSAGE_LENGTH } from '#lib/retry/classify.ts';

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

function networkError(code: string, message = `connect ${code} 127.0.0.1:443`): Error {
  return Object.assign(new Error(message), { code });
}

describe('classifyError', () => {
  it.each([
    [
      'ThrottlingException 429',
      new ThrottlingException({ message: 'Rate exceeded', ...meta(429) }),
      'TRANSIENT',
      'ThrottlingException',
    ],
    [
      'InternalServiceException 500',
      new InternalServiceException({ message: 'boom', ...meta(500) }),
      'TRANSIENT',
      'InternalServiceException',
    ],
    [
      'ServiceQuotaExceededException 402',
      new ServiceQuotaExceededException({ message: 'quota', ...meta(402) }),
      'OVER_QUOTA',
      'ServiceQuotaExceededException',
    ],
    [
      'InvalidParameterException 400',
      new InvalidParameterException({ message: 'bad', ...meta(400) }),
      'PERMANENT',
      'InvalidParameterException',
    ],
    [
      'InvalidRequestException 400',
      new InvalidRequestException({ message: 'bad', ...meta(400) }),
      'PERMANENT',
      'InvalidRequestException',
    ],
    [
      'ResourceNotFoundException 404',
      new ResourceNotFoundException({ message: 'none', ...meta(404) }),
      'PERMANENT',
      'ResourceNotFoundException',
    ],
    [
      'AccessDeniedException 403',
      new AccessDeniedException({ message: 'denied', ...meta(403) }),
      'PERMANENT',
      'AccessDeniedException',
    ],
    [
      'IdempotencyException 409',
      new IdempotencyException({ message: 'token reused', ...meta(409) }),
      'PERMANENT',
      'IdempotencyException',
    ],
  ])('classifies a Connect %s', (_label, error, expectedClass, expectedCode) => {
    // Prepare: the real SDK exception classes. Act
    const result = classifyError(error);
    // Assess
    expect(result).toMatchObject({ class: expectedClass, code: expectedCode });
  });

  it.each([
    [502, 'TRANSIENT'],
    [503, 'TRANSIENT'],
    [504, 'TRANSIENT'],
    [429, 'TRANSIENT'],
    [402, 'OVER_QUOTA'],
    [400, 'PERMANENT'],
    [404, 'PERMANENT'],
  ])('classifies an unnamed service error by its HTTP status %i', (status, expectedClass) => {
    const error = Object.assign(new Error('unknown service error'), {
      name: 'SomeNewException',
      ...meta(status),
    });

    expect(classifyError(error).class).toBe(expectedClass);
  });

  it.each([
    ['ECONNRESET', networkError('ECONNRESET')],
    ['ECONNREFUSED', networkError('ECONNREFUSED')],
    ['socket hang up', new Error('socket hang up')],
    ['AbortError', Object.assign(new Error('The operation was aborted'), { name: 'AbortError' })],
    [
      'TimeoutError',
      Object.assign(new Error('Connection timed out after 2000 ms'), { name: 'TimeoutError' }),
    ],
    ['RequestTimeout', Object.assign(new Error('request timed out'), { name: 'RequestTimeout' })],
  ])('treats a network failure (%s) as TRANSIENT', (_label, error) => {
    expect(classifyError(error).class).toBe('TRANSIENT');
  });

  it('treats an SDK error marked $retryable as TRANSIENT', () => {
    const error = Object.assign(new Error('retry me'), { name: 'OddException', $retryable: {} });

    expect(classifyError(error)).toMatchObject({ class: 'TRANSIENT', code: 'OddException' });
  });

  it('routes our own permanent errors to PERMANENT with their code', () => {
    const error = new IngestRefusalError('NoMatchingRule', 'no enabled rule matches source crm');

    expect(classifyError(error)).toEqual({
      class: 'PERMANENT',
      code: 'NoMatchingRule',
      message: 'no enabled rule matches source crm',
    });
    expect(classifyError(new EnvelopeError('MalformedJson', 'not JSON'))).toMatchObject({
      class: 'PERMANENT',
      code: 'MalformedJson',
    });
  });

  it('classifies our own errors by class: a full active-task count OVER_QUOTA, a retry condition TRANSIENT', () => {
    expect(classifyError(new ActiveTasksAtQuotaError('inst', 4, 4))).toMatchObject({
      class: 'OVER_QUOTA',
      code: 'ActiveTasksAtQuota',
    });
    expect(classifyError(new IngestRetryError('TaskNotFound', 'no task yet'))).toMatchObject({
      class: 'TRANSIENT',
      code: 'TaskNotFound',
    });
  });

  it('lets the cause of our own wrapper decide, and names the wrapper when the cause says nothing', () => {
    const throttled = new ThrottlingException({ message: 'slow down', ...meta(429) });

    expect(classifyError(new LedgerStoreError('write failed', { cause: throttled }))).toMatchObject({
      class: 'TRANSIENT',
      code: 'ThrottlingException',
    });
    expect(classifyError(new LedgerStoreError('write failed'))).toMatchObject({
      class: 'TRANSIENT',
      code: 'LedgerStoreError',
    });
  });

  it('looks through a wrapper at the SDK error kept as cause', () => {
    const sdk = new ServiceQuotaExceededException({ message: 'quota', ...meta(402) });
    const wrapper = new Error('StartTaskContact failed', { cause: sdk });

    expect(classifyError(wrapper)).toEqual({
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
      message: 'StartTaskContact failed',
    });
  });

  it('treats unknown errors as TRANSIENT so the queue redrive policy is the backstop', () => {
    expect(classifyError(new TypeError('x is undefined'))).toMatchObject({
      class: 'TRANSIENT',
      code: 'TypeError',
    });
    expect(classifyError(new Error('plain'))).toMatchObject({ class: 'TRANSIENT', code: 'UnknownError' });
    expect(classifyError(42)).toMatchObject({
      class: 'TRANSIENT',
      message: 'non-Error value thrown (number)',
    });
  });

  it('cuts the message to 1,000 characters without splitting a surrogate pair', () => {
    const long = `${'a'.repeat(MAX_FAILURE_MESSAGE_LENGTH - 1)}😀 and more`;

    const { message } = classifyError(new Error(long));

    expect(message.length).toBe(MAX_FAILURE_MESSAGE_LENGTH - 1);
    expect(message.endsWith('a')).toBe(true);
  });

  it('does not take an error that only says it is permanent for one of ours', () => {
    const lookalike = Object.assign(new Error('says permanent'), { permanent: true, code: 'NoMatchingRule' });

    expect(classifyError(lookalike)).toMatchObject({ class: 'TRANSIENT', code: 'NoMatchingRule' });
  });
});
