#!/usr/bin/env node
// The `estelam` command line: a program of its own, apart from the gateway, that talks to a running gateway
// over gRPC (cli/client.ts) and reads the registry documents an integration engineer keeps on disk. Each command
// lives in cli/commands/. Exit status: 0 ok, 1 failure, 2 usage error. docs/cli.md has examples against
// the demo (`npm start`).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ENV_NOTE, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, io, UsageError } from "./args.ts";

const USAGE = `usage: estelam <command> [options]

Commands:
  inquire <inquiry-type>      ask one inquiry through the gateway and print the answer; with
                              --batch <file.csv>, one per CSV row, with a results file
  status                      the scoreboard: which inquiries are online, by inquiry type and agency
  breakers                    the circuit breaker of every agency endpoint on every gateway instance
  inquiry-types [<id>]        list what the asking agency may ask, or describe one inquiry type
  registry <subcommand>       apply, diff, get, list, delete, history, rollback, watch (admin key);
                              validate documents offline
  health                      ask the gateway whether it serves (grpc.health.v1.Health/Check)
  audit tail                  print the latest audit events as JSON, from Kafka or the local audit journal
  audit verify                check the audit trail's hash chain (journal or Kafka topic) and name the first break
  audit show <tracking-code>  find an inquiry's audit record by tracking code (admin key)
  audit report <national-code>  a citizen's data-access report: every inquiry about them (admin key)
  audit index                 index the journal or the Kafka topic into a database
  connector kinds|test        list connector kinds and their options' schemas; run the conformance kit
                              against a connector module

Run \`estelam <command> --help\` for the options of a command. \`estelam --version\` prints the version.

${ENV_NOTE}

Exit status: 0 ok, 1 failure, 2 usage error.
`;

type Command = (args: readonly string[]) => Promise<number>;

// Each command is loaded when it is run, so that one command's libraries (Kafka's, Ajv and YAML for the
// registry's) do not slow down starting another.
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  inquire: async () => (await import("./commands/inquire.ts")).runInquire,
  status: async () => (await import("./commands/status.ts")).runStatus,
  breakers: async () => (await import("./commands/breakers.ts")).runBreakers,
  "inquiry-types": async () => (await import("./commands/inquiry-types.ts")).runInquiryTypes,
  registry: async () => (await import("./commands/registry.ts")).runRegistry,
  health: async () => (await import("./commands/health.ts")).runHealth,
  audit: async () => (await import("./commands/audit.ts")).runAudit,
  connector: async () => (await import("./commands/connector.ts")).runConnector,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, "../package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "unknown";
}

/** Runs the command line `argv` (without node and the script) and returns the exit status. */
async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    const topic = command === "help" ? rest[0] : undefined;
    if (topic !== undefined && COMMANDS[topic] !== undefined) return main([topic, "--help"]);
    (command === undefined ? io.err : io.out)(USAGE);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === "--version" || command === "-V") {
    io.out(`estelam ${version()}\n`);
    return EXIT_OK;
  }
  const load = COMMANDS[command];
  if (load === undefined) {
    io.err(`estelam: unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(", ")})\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    const run = await load();
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      const synopsis = error.usage.split("\n\n")[0] ?? "";
      io.err(`estelam ${command}: ${error.message}\n${synopsis}\n(see \`estelam ${command} --help\`)\n`);
      return EXIT_USAGE;
    }
    io.err(`estelam ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`estelam: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT_FAILURE;
  },
);
