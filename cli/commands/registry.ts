// `estelam registry`: read and change the registry of a running gateway (RegistryService, with an admin
// key), or check documents offline. Each subcommand lives in cli/commands/registry/.
import { EXIT_OK, io, UsageError } from "../args.ts";
import { runApply, runDiff } from "./registry/apply.ts";
import { runDelete } from "./registry/delete.ts";
import { runGet } from "./registry/get.ts";
import { runHistory } from "./registry/history.ts";
import { runList } from "./registry/list.ts";
import { runRollback } from "./registry/rollback.ts";
import { runValidate } from "./registry/validate.ts";
import { runWatch } from "./registry/watch.ts";

export const REGISTRY_USAGE = `usage: estelam registry <subcommand> [options]

Subcommands (all but validate talk to the gateway's RegistryService and need an admin key):
  apply -f FILE|DIR [--dry-run] [--prune]   create or replace documents; a new revision
  diff -f FILE|DIR [--prune]                show what apply would change, as unified diffs
  get KIND NAME [--revision N]              print one document as YAML (or --json)
  list [KIND] [--revision N]                list the documents of a revision
  delete KIND NAME... | -f FILE|DIR         delete documents; a new revision
  history [--limit N]                       list revisions: who, when, what changed
  rollback REVISION                         make a new revision with an earlier one's documents
  watch                                     print every revision the gateway starts serving
  validate -f FILE|DIR                      check documents as a complete registry, offline

Run \`estelam registry <subcommand> --help\` for its options. Documents are YAML or JSON, kubectl style:
apiVersion: estelam.ir/v1, kind, metadata.name, spec (docs/registry.md).
`;

const SUBCOMMANDS: Readonly<Record<string, (args: readonly string[]) => Promise<number>>> = {
  apply: runApply,
  diff: runDiff,
  get: runGet,
  list: runList,
  delete: runDelete,
  history: runHistory,
  rollback: runRollback,
  watch: runWatch,
  validate: runValidate,
};

export async function runRegistry(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) throw new UsageError("missing subcommand", REGISTRY_USAGE);
  if (sub === "--help" || sub === "-h" || sub === "help") {
    io.out(REGISTRY_USAGE);
    return EXIT_OK;
  }
  const run = SUBCOMMANDS[sub];
  if (run === undefined)
    throw new UsageError(`unknown subcommand '${sub}' (known: ${Object.keys(SUBCOMMANDS).join(", ")})`, REGISTRY_USAGE);
  return run(rest);
}
