/** The chaos run's errors: each says what stopped the run, in words a person can act on. */

/** The run itself could not go on (the sandbox refused a send, a pass stopped progressing...). */
export class ChaosRunError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ChaosRunError';
  }
}
