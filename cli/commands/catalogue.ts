// `estelam catalogue check`: validate a catalogue file offline, as the gateway does at start-up.
import { resolve } from "node:path";
import { builtInConnectorKinds } from "../../connectors/kinds.ts";
import { createFileRegistryStore } from "../../registry/file-store.ts";
import { CatalogueError, createRegistry } from "../../registry/registry.ts";
import { count, EXIT_FAILURE, EXIT_OK, io, parse, UsageError } from "../args.ts";

export const CATALOGUE_USAGE = `usage: estelam catalogue check <file>

Validates a catalogue file exactly as the gateway does at start-up: \`\${NAME}\` and \`\${NAME:-default}\`
references are filled from the environment, every entry is checked against the built-in connector kinds,
and every problem is listed with the path of the bad entry. Prints
\`ok: <version>, N agencies, M inquiry types, K bindings, G grants\` when the catalogue is valid.

  -h, --help                   show this text

Exit status: 0 valid, 1 problems found or the file cannot be read, 2 usage error.
`;

export async function runCatalogue(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, {}, CATALOGUE_USAGE);
  if (values.help === true) {
    io.out(CATALOGUE_USAGE);
    return EXIT_OK;
  }
  if (positionals[0] !== "check") {
    throw new UsageError(
      positionals[0] === undefined ? "missing subcommand (check)" : `unknown subcommand '${positionals[0]}' (known: check)`,
      CATALOGUE_USAGE,
    );
  }
  if (positionals.length < 2) throw new UsageError("missing <file>", CATALOGUE_USAGE);
  if (positionals.length > 2) throw new UsageError(`unexpected argument '${positionals[2]}'`, CATALOGUE_USAGE);
  const file = positionals[1] as string;

  // The same store, kinds and validation as gateway/app.ts at start-up.
  const store = createFileRegistryStore({ path: resolve(file), vars: process.env });
  try {
    const registry = await createRegistry({ store, kinds: builtInConnectorKinds() });
    const snapshot = registry.current();
    // The snapshot answers grant questions but does not list grants; a valid document has one per entry.
    const document = (await store.read()) as { grants?: unknown };
    const grants = Array.isArray(document.grants) ? document.grants.length : 0;
    io.out(
      `ok: ${snapshot.version}, ${count(snapshot.agencies.size, "agency", "agencies")}, ` +
        `${count(snapshot.inquiryTypes.size, "inquiry type", "inquiry types")}, ${count(snapshot.bindings.size, "binding", "bindings")}, ` +
        `${count(grants, "grant", "grants")}\n`,
    );
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CatalogueError) {
      io.out(
        `${file}: ${count(error.issues.length, "problem", "problems")}\n${error.issues.map((i) => `  - ${i.path}: ${i.message}\n`).join("")}`,
      );
    } else {
      io.out(`${(error as Error).message}\n`);
    }
    return EXIT_FAILURE;
  }
}
