// What the `estelam registry` subcommands share: the connection options, reading documents from disk, and
// printing a failed call.
import { toJson } from "@bufbuild/protobuf";
import type { Problem } from "../../../registry/catalogue.ts";
import { readDocuments } from "../../../registry/documents.ts";
import { apiKey, DEFAULT_ADDRESS, gatewayAddress, io, wholeNumber } from "../../args.ts";
import { DEFAULT_DEADLINE_MS } from "../../client.ts";
import { failureJson, formatFailure } from "../../format.ts";
import type { Result } from "../../registry-client.ts";
import { createRegistryClient, type RegistryClient } from "../../registry-client.ts";
import { formatProblem } from "../../registry-format.ts";

export { toJson };

export const CONNECTION = `      --address <host:port>    gateway gRPC address (default: $ESTELAM_GRPC_ADDRESS, else ${DEFAULT_ADDRESS})
      --api-key <key>          an admin API key (default: $ESTELAM_API_KEY)
      --deadline-ms <n>        how long the call may take, in milliseconds (default ${DEFAULT_DEADLINE_MS})`;

export const CONNECTION_FLAGS = {
  address: { type: "string" },
  "api-key": { type: "string" },
  "deadline-ms": { type: "string" },
  json: { type: "boolean" },
} as const;

export interface Connection {
  readonly client: RegistryClient;
  readonly address: string;
  readonly deadlineMs: number;
}

export function connect(
  values: { address?: string | undefined; "api-key"?: string | undefined; "deadline-ms"?: string | undefined },
  usage: string,
): Connection {
  const address = gatewayAddress(values.address, usage);
  const key = apiKey(values["api-key"], usage);
  const deadlineMs = wholeNumber(values["deadline-ms"], "--deadline-ms", 1, 600_000, DEFAULT_DEADLINE_MS, usage);
  return { client: createRegistryClient(address, key), address, deadlineMs };
}

/** Prints a failed call (and its JSON with --json); returns exit status 1. */
export function failed(result: Extract<Result<unknown>, { ok: false }>, address: string, json: boolean | undefined): number {
  if (json === true) io.out(`${JSON.stringify(failureJson(result.status), null, 2)}\n`);
  io.err(formatFailure(result.status, address));
  return 1;
}

/** Reads documents from a file or folder; prints the problems found reading them. */
export async function readSet(path: string): Promise<{ documents: Array<{ source: string; content: Record<string, never> }> } | undefined> {
  const read = await readDocuments(path);
  if (read.problems.length > 0) {
    io.err(`${path}: ${read.problems.length} problem${read.problems.length === 1 ? "" : "s"} reading the documents\n`);
    io.err(read.problems.map((p: Problem) => formatProblem(p)).join(""));
    return undefined;
  }
  return { documents: read.documents.map((d) => ({ source: d.source, content: d.content as Record<string, never> })) };
}
