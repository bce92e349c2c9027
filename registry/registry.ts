// The live registry: holds the current immutable snapshot and swaps in a new one atomically. Readers take
// `current()` once per inquiry, so an inquiry sees one consistent catalogue from start to end.
import type { CatalogueIssue, EndpointKinds, RegistrySnapshot } from "./catalogue.ts";
import { buildSnapshot } from "./load.ts";
import type { RegistryStore } from "./store.ts";

export class CatalogueError extends Error {
  override readonly name = "CatalogueError";
  readonly issues: readonly CatalogueIssue[];

  constructor(source: string, issues: readonly CatalogueIssue[]) {
    super(`catalogue ${source} has ${issues.length} problem(s):\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n")}`);
    this.issues = issues;
  }
}

export interface Registry {
  current(): RegistrySnapshot;
  /** Reads and validates the store's document whole; on success swaps it in, else throws CatalogueError. */
  reload(): Promise<RegistrySnapshot>;
  /** Called after every swap, with the new and the previous snapshot. */
  onSwap(listener: (next: RegistrySnapshot, previous: RegistrySnapshot | undefined) => void): void;
}

export interface RegistryOptions {
  readonly store: RegistryStore;
  readonly kinds: EndpointKinds;
}

/** Loads the first snapshot (throwing CatalogueError naming every bad entry) and returns the live registry. */
export async function createRegistry(options: RegistryOptions): Promise<Registry> {
  const listeners: Array<(next: RegistrySnapshot, previous: RegistrySnapshot | undefined) => void> = [];
  let snapshot: RegistrySnapshot | undefined;

  const reload = async (): Promise<RegistrySnapshot> => {
    const built = buildSnapshot(await options.store.read(), options.kinds);
    if (!built.ok) throw new CatalogueError(options.store.source, built.issues);
    const previous = snapshot;
    snapshot = built.snapshot;
    for (const listener of listeners) listener(built.snapshot, previous);
    return built.snapshot;
  };
  const first = await reload();
  snapshot = first;

  return {
    current: () => snapshot ?? first,
    reload,
    onSwap: (listener) => {
      listeners.push(listener);
    },
  };
}
