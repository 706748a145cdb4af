/**
 * The one logger port of every feature (ingest, transfers, redrive, budget): Powertools'
 * `GenericLogger` shape: a message, then objects of fields (in practice one). A Powertools `Logger` is one as it is;
 * tests pass a recorder. Fields carry identifiers, classes and counts only, never task contents
 * (attribute values, descriptions, emails are customer data). Pass an error as the `error` field.
 */
type LogValue = string | number | boolean | readonly string[] | Error | undefined | null;
export type LogFields = Readonly<Record<string, LogValue>>;

export interface Logger {
  debug(message: string, ...fields: LogFields[]): void;
  info(message: string, ...fields: LogFields[]): void;
  warn(message: string, ...fields: LogFields[]): void;
  error(message: string, ...fields: LogFields[]): void;
}

/** A logger that drops everything (CLI and tools that must print only their own output). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
