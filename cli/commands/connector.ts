// `estelam connector`: tools for integration engineers and connector authors. `kinds` shows the connector
// kinds and their options' schemas; `test <module>` runs the conformance kit (connectors/conformance.ts)
// against a connector module — an npm package name or a path — and the agency its `conformance.start()` starts.
import { stringify } from "yaml";
import { runConformance } from "../../connectors/conformance.ts";
import { builtInConnectorKinds } from "../../connectors/kinds.ts";
import { loadConnectorModule } from "../../connectors/modules.ts";
import { EXIT_FAILURE, EXIT_OK, io, parse, UsageError } from "../args.ts";

export const CONNECTOR_USAGE = `usage: estelam connector test <module>
       estelam connector kinds [<kind> | <module>]

\`kinds\` lists the built-in connector kinds; given a kind (or a connector module), it prints the JSON
Schemas of its endpoint options and of its operation options, as YAML.

\`test\` runs the connector conformance kit against a connector module: an npm package name (resolved from the
current directory) or a path to the module or its folder (starting with . or /). The module's default
export gives the connector kind; its \`conformance.start()\` starts the agency the connector talks to.

Checks: options are validated and an unknown option is named; warm; a call gives a business answer;
32 concurrent calls; a slow agency ends in DEADLINE_EXCEEDED at the deadline; a cancelled call ends in
CANCELLED at once; a failing agency ends in AGENCY_UNAVAILABLE or AGENCY_BAD_RESPONSE; close.

  -h, --help     show this text

Exit status: 0 every check passed, 1 a check failed or the module cannot be loaded, 2 usage error.
`;

export async function runConnector(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, {}, CONNECTOR_USAGE);
  if (values.help === true) {
    io.out(CONNECTOR_USAGE);
    return EXIT_OK;
  }
  const [sub, module, ...extra] = positionals;
  if (sub === "kinds") {
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`, CONNECTOR_USAGE);
    return kinds(module);
  }
  if (sub !== "test") throw new UsageError(sub === undefined ? "a subcommand is required" : `unknown subcommand '${sub}'`, CONNECTOR_USAGE);
  if (module === undefined) throw new UsageError("the connector module is required", CONNECTOR_USAGE);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`, CONNECTOR_USAGE);

  const loaded = loadConnectorModule(module);
  if (!loaded.ok) {
    io.err(`${loaded.message}\n`);
    return EXIT_FAILURE;
  }
  const fixture = loaded.exports.conformance as { start?: unknown } | undefined;
  if (typeof fixture?.start !== "function") {
    io.err(`connector module '${module}' exports no conformance.start() to start the agency it talks to\n`);
    return EXIT_FAILURE;
  }
  io.out(`connector kind '${loaded.factory.kind}' from ${module}\n`);
  const results = await runConformance(loaded.factory, fixture as Parameters<typeof runConformance>[1], (r) =>
    io.out(`${r.ok ? "ok  " : "FAIL"}  ${r.name} (${Math.round(r.ms)} ms): ${r.detail}\n`),
  );
  const failed = results.filter((r) => !r.ok).length;
  io.out(failed === 0 ? `all ${results.length} checks passed\n` : `${failed} of ${results.length} checks failed\n`);
  return failed === 0 ? EXIT_OK : EXIT_FAILURE;
}

function kinds(name: string | undefined): number {
  const known = builtInConnectorKinds();
  if (name === undefined) {
    io.out(`${known.names().join("\n")}\n`);
    return EXIT_OK;
  }
  let factory = known.get(name);
  if (factory === undefined) {
    // Not a built-in kind: a connector module, by path or by npm package name (with or without a hyphen).
    const loaded = loadConnectorModule(name);
    if (!loaded.ok) {
      io.err(`unknown connector kind '${name}' (known: ${known.names().join(", ")}; or name a connector module): ${loaded.message}\n`);
      return EXIT_FAILURE;
    }
    factory = loaded.factory;
  }
  io.out(`kind: ${factory.kind}\n`);
  io.out(
    stringify({
      endpointOptions: factory.endpointSchema ?? "(not published)",
      operationOptions: factory.operationSchema ?? "(not published)",
    }),
  );
  return EXIT_OK;
}
