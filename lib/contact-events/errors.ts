/** The errors of the contact events feature. */
import { serviceError } from '#lib/errors.ts';

/** The task's progress changed under every attempt to record a fact (retried with the record). */
export class ProgressConflictError extends serviceError('ProgressConflict', false, 'ProgressConflictError') {
  constructor(clientToken: string, attempts: number) {
    super(`the contact progress of ${clientToken} changed under ${attempts} attempts to record a fact`);
  }
}

/** A contact event for a task the ledger does not know yet, young enough that its entry may still come. */
export class ContactNotYetKnownError extends serviceError(
  'ContactNotYetKnown',
  false,
  'ContactNotYetKnownError',
) {
  constructor(contactId: string) {
    super(`no ledger entry for contact ${contactId} yet`);
  }
}
