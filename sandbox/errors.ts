/**
 * Base of the sandbox's own errors. `name` is the concrete class's name, so a subclass needs no
 * constructor just to set it (the sandbox runs from source, never minified).
 */
export class SandboxError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
