// `estelam registry validate`: check documents offline, as the gateway checks a registry, without a gateway.
import { builtInConnectorKinds } from "../../../connectors/kinds.ts";
import { buildSnapshot } from "../../../registry/build.ts";
import { readDocuments } from "../../../registry/documents.ts";
import { count, EXIT_FAILURE, EXIT_OK, io, parse, required, UsageError } from "../../args.ts";
import { formatProblem } from "../../registry-format.ts";

export const VALIDATE_USAGE = `usage: estelam registry validate -f FILE|DIR

Checks the documents in FILE (or in every .yaml, .yml and .json file under DIR) as a complete registry,
exactly as the gateway checks one — the same connector kinds, JSON Schema compilation and references
between documents, with \`\${NAME}\` references filled from this environment — without connecting to
anything. Use it in CI, or on seed documents (ESTELAM_REGISTRY_SEED). To check a change against a running
gateway's registry, use \`estelam registry diff\`.

  -f, --filename <path>        file or folder of documents (required)
  -h, --help                   show this text

Exit status: 0 valid, 1 problems found, 2 usage error.
`;

export async function runValidate(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { filename: { type: "string", short: "f" } }, VALIDATE_USAGE);
  if (values.help === true) {
    io.out(VALIDATE_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (documents are given with -f)`, VALIDATE_USAGE);
  const path = required(values.filename, "-f <file or folder>", VALIDATE_USAGE);
  const read = await readDocuments(path);
  const built =
    read.problems.length > 0
      ? undefined
      : buildSnapshot(read.documents, { revision: 1, kinds: builtInConnectorKinds(), vars: process.env });
  const problems = built === undefined ? read.problems : built.ok ? [] : built.problems;
  if (built === undefined || !built.ok) {
    io.out(`${path}: ${count(problems.length, "problem", "problems")}\n${problems.map(formatProblem).join("")}`);
    return EXIT_FAILURE;
  }
  const s = built.snapshot;
  io.out(
    `ok: ${count(read.documents.length, "document", "documents")}: ${count(s.agencies.size, "agency", "agencies")}, ` +
      `${count(s.inquiryTypes.size, "inquiry type", "inquiry types")}, ${count(s.bindings.size, "binding", "bindings")}, ` +
      `${count(s.endpoints.size, "endpoint", "endpoints")}\n`,
  );
  return EXIT_OK;
}
