/** The errors of the contact events feature. */

/** The task's progress changed under every attempt to record a fact (retried with the record). */
export class ProgressConflictError extends Error {
  readonly code = 'ProgressConflict';
  constructor(clientToken: string, attempts: number) {
    super(`the contact progress of ${clientToken} changed under ${attempts} attempts to record a fact`);
    this.name = 'ProgressConflictError';
  }
}

/** A contact event for a task the ledger does not know yet, young enough that its entry may still come. */
export class ContactNotYetKnownError extends Error {
  readonly code = 'ContactNotYetKnown';
  constructor(contactId: string) {
    super(`no ledger entry for contact ${contactId} yet`);
    this.name = 'ContactNotYetKnownError';
  }
}
