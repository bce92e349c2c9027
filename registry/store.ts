// The registry store extension point: where catalogue documents come from. Built in: `file` (a JSON
// catalogue on disk). A store only reads documents; validation into a snapshot is registry/load.ts.
export interface RegistryStore {
  readonly kind: string;
  /** Where the document came from, for messages (a path, a URL). */
  readonly source: string;
  /** Reads the current catalogue document (parsed, not yet validated). Rejects with a clear message. */
  read(): Promise<unknown>;
}
