#!/usr/bin/env node
// The `estelam` command: ask inquiries through a running gateway (one, or one per CSV row), check a
// catalogue file as the gateway would load it, and ask the gateway's health. Exit status: 0 ok,
// 1 failure, 2 usage error. docs/cli.md has examples against the demo (`npm start`).
import { createWriteStream, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { setMaxListeners } from "node:events";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { toJson } from "@bufbuild/protobuf";
import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { Answer, type InquireResponse, InquireResponseSchema } from "../gen/estelam/inquiry/v1/inquiry_pb.js";
import { builtInConnectorKinds } from "../connectors/kinds.ts";
import { createFileRegistryStore } from "../registry/file-store.ts";
import { CatalogueError, createRegistry } from "../registry/registry.ts";
import { checkHealth, createInquiryClient, DEFAULT_DEADLINE_MS, grpcCodeName, type InquireRequestInit } from "./client.ts";
import type { DecodedStatus } from "./grpc/status.ts";

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

const DEFAULT_ADDRESS = "127.0.0.1:50051";
const DEFAULT_CONCURRENCY = 16;
const MAX_CONCURRENCY = 256;
const HEALTH_DEADLINE_MS = 5_000;

const ENV_NOTE = `Environment:
  ESTELAM_ADDRESS   gateway address when --address is not given (default ${DEFAULT_ADDRESS})
  ESTELAM_API_KEY   API key of the asking agency when --api-key is not given

There is no default API key. The demo gateway (\`npm start\`) accepts the demo keys listed under
"Demo credentials" in README.md (the demo bank's is also in gateway/demo-examples.ts); see docs/cli.md.`;

const USAGE = `usage: estelam <command> [options]

Commands:
  inquire <inquiry-type>      ask one inquiry through the gateway and print the answer
  inquire-csv <file.csv>      ask one inquiry per CSV row; write one result line per row
  catalogue check <file>      validate a catalogue file as the gateway does at start-up
  health                      ask the gateway whether it serves (grpc.health.v1.Health/Check)

Run \`estelam <command> --help\` for the options of a command. \`estelam --version\` prints the version.

${ENV_NOTE}

Exit status: 0 ok, 1 failure, 2 usage error.
`;

const CONNECTION_OPTIONS = `      --address <host:port>    gateway gRPC address (default: $ESTELAM_ADDRESS, else ${DEFAULT_ADDRESS})
      --api-key <key>          API key of the asking agency (default: $ESTELAM_API_KEY; one of them is
                               required; the variable keeps the key out of the process list)
      --deadline-ms <n>        how long one inquiry may take, in milliseconds (default ${DEFAULT_DEADLINE_MS})`;

const INQUIRE_USAGE = `usage: estelam inquire <inquiry-type> --param key=value ... --purpose <code> --end-user <who> [options]

Asks one inquiry through the gateway and prints the answer: the answer (FOUND, NOT_FOUND or REJECTED),
the responding agency, the tracking code, the result fields and the timings.

  -p, --param key=value        a parameter of the inquiry type; repeat for each. \`key:=<json>\` sends a
                               JSON value (a number, true, false) instead of text
      --purpose <code>         purpose code granted to the asking agency, e.g. kyc.account-opening (required)
      --end-user <who>         person or system on whose behalf you ask, e.g. branch-1021/teller-7 (required)
      --case-reference <ref>   your own case or file reference
      --client-message-id <id> your own id for this message, kept in the audit trail
${CONNECTION_OPTIONS}
      --json                   print the response, or the error, as JSON on stdout
  -h, --help                   show this text

Errors are printed as \`<gRPC code> <REASON> (origin: ...; agency: ...): <message>\` followed by each field
violation.

${ENV_NOTE}

Exit status: 0 answered (any answer, NOT_FOUND and REJECTED included), 1 error, 2 usage error.
`;

const CSV_USAGE = `usage: estelam inquire-csv <file.csv> --inquiry-type <id> --purpose <code> --end-user <who> [options]

Asks one inquiry per row of a CSV file whose header row names the params (e.g. national_code,birth_date)
and writes one result line per row, in the order of the input. Results hold the row number, the tracking
code and the answer or error reason, never the input values. Empty cells are not sent, so a missing
required param is reported by the gateway. Blank lines are skipped.

      --inquiry-type <id>      inquiry type asked for every row, e.g. nocr.identity-match.v1 (required)
      --purpose <code>         purpose code granted to the asking agency (required)
      --end-user <who>         person or system on whose behalf you ask (required)
      --case-reference <ref>   case reference sent with every row
      --concurrency <n>        inquiries in flight at once (default ${DEFAULT_CONCURRENCY}, at most ${MAX_CONCURRENCY})
      --out <file>             write the results to this file instead of stdout
      --result-fields <a,b>    also write these fields of each answer as columns, e.g. match,alive
                               (answers hold personal data: choose only the fields you need)
${CONNECTION_OPTIONS}
  -h, --help                   show this text

Result columns: row,tracking_code,answer,error_code,error_reason,error_fields[,<result fields>]
  row            1 for the first data line after the header
  answer         FOUND, NOT_FOUND or REJECTED; empty when the inquiry failed
  error_code     gRPC status code name, e.g. INVALID_ARGUMENT; empty when not sent
  error_reason   reason from the error catalogue, e.g. INVALID_PARAMS; or CSV_ROW_MALFORMED (the row has
                 a different number of cells than the header; not sent) or NOT_SENT (interrupted)
  error_fields   the fields named by the error, separated by ';'

Progress goes to stderr when it is a terminal, a summary at the end. Ctrl-C stops sending new rows and
waits for those in flight; a second Ctrl-C cancels them.

${ENV_NOTE}

Exit status: 0 every row answered, 1 some row failed or the file cannot be read, 2 usage error,
130 interrupted.
`;

const CATALOGUE_USAGE = `usage: estelam catalogue check <file>

Validates a catalogue file exactly as the gateway does at start-up: \`\${NAME}\` and \`\${NAME:-default}\`
references are filled from the environment, every entry is checked against the built-in connector kinds,
and every problem is listed with the path of the bad entry. Prints
\`ok: <version>, N agencies, M inquiry types, K bindings, G grants\` when the catalogue is valid.

  -h, --help                   show this text

Exit status: 0 valid, 1 problems found or the file cannot be read, 2 usage error.
`;

const HEALTH_USAGE = `usage: estelam health [--address <host:port>] [--service <name>] [--deadline-ms <n>]

Asks grpc.health.v1.Health/Check and prints SERVING or NOT_SERVING.

      --address <host:port>    gateway gRPC address (default: $ESTELAM_ADDRESS, else ${DEFAULT_ADDRESS})
      --service <name>         service to ask about (default "": the gateway as a whole)
      --deadline-ms <n>        how long to wait for the answer (default ${HEALTH_DEADLINE_MS})
  -h, --help                   show this text

Exit status: 0 SERVING, 1 anything else or no answer, 2 usage error.
`;

/** A mistake in the command line: printed with the command's synopsis, exit status 2. */
class UsageError extends Error {
  override readonly name = "UsageError";
  readonly usage: string;

  constructor(message: string, usage: string) {
    super(message);
    this.usage = usage;
  }
}

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const io: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with strict checking; its errors become UsageErrors carrying the command's usage. */
function parse<O extends Options>(args: readonly string[], options: O, usage: string) {
  try {
    return parseArgs({ args: [...args], options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

function required(value: string | undefined, flag: string, usage: string): string {
  if (value === undefined || value.trim() === "") throw new UsageError(`missing ${flag}`, usage);
  return value;
}

function wholeNumber(value: string | undefined, flag: string, min: number, max: number, fallback: number, usage: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`, usage);
  return n;
}

function gatewayAddress(flag: string | undefined, usage: string): string {
  const address = flag ?? (process.env.ESTELAM_ADDRESS?.trim() || DEFAULT_ADDRESS);
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(address) && !/^(dns|unix|ipv4|ipv6):.+/.test(address)) {
    throw new UsageError(`the gateway address '${address}' is not host:port`, usage);
  }
  return address;
}

function apiKey(flag: string | undefined, usage: string): string {
  const key = flag ?? process.env.ESTELAM_API_KEY?.trim();
  if (key === undefined || key === "") {
    throw new UsageError('no API key: pass --api-key or set ESTELAM_API_KEY (demo keys: README.md, "Demo credentials")', usage);
  }
  return key;
}

/** `key=value` (text) or `key:=<json>` (any JSON value). */
function parseParam(text: string, usage: string): [string, JsonValue] {
  const typed = /^([^=:]+):=(.*)$/s.exec(text);
  if (typed !== null) {
    const key = (typed[1] as string).trim();
    try {
      return [key, JSON.parse(typed[2] as string) as JsonValue];
    } catch {
      throw new UsageError(`--param ${key}:= must be followed by a JSON value`, usage);
    }
  }
  const eq = text.indexOf("=");
  if (eq < 0) throw new UsageError("--param must be key=value (or key:=<json>)", usage);
  const key = text.slice(0, eq).trim();
  if (key === "") throw new UsageError("--param needs a name before '='", usage);
  return [key, text.slice(eq + 1)];
}

// ---------------------------------------------------------------------------------------------------
// Printing answers and errors

function answerName(answer: Answer): string {
  return Answer[answer] ?? `ANSWER_${answer}`;
}

function scalar(value: JsonValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** The response as aligned lines, for people. */
function formatResponse(response: InquireResponse): string {
  const result = Object.entries(response.result ?? {});
  const rows: Array<[string, string]> = [
    ["answer", answerName(response.answer)],
    ["responder", response.responder],
    ["tracking code", response.trackingCode],
    ["inquiry id", response.inquiryId],
  ];
  if (response.message !== "") rows.push(["message", response.message]);
  if (result.length > 0) rows.push(["result", ""], ...result.map(([key, value]): [string, string] => [`  ${key}`, scalar(value)]));
  const timings = response.timings;
  if (timings !== undefined) {
    const parts: string[] = [];
    if (timings.total !== undefined) parts.push(`total ${formatMs(durationMs(timings.total))}`);
    if (timings.upstream !== undefined) parts.push(`upstream ${formatMs(durationMs(timings.upstream))}`);
    if (timings.receivedAt !== undefined) parts.push(`received ${timestampDate(timings.receivedAt).toISOString()}`);
    if (parts.length > 0) rows.push(["timings", parts.join(", ")]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => (value === "" ? `${label}\n` : `${label.padEnd(width)}  ${value}\n`)).join("");
}

/** `<code> <REASON> (origin: ...; agency: ...): message`, then one line per field violation. */
function formatFailure(status: DecodedStatus, address: string): string {
  const code = grpcCodeName(status.code);
  const where = [status.origin === undefined ? "" : `origin: ${status.origin}`, status.agency === undefined ? "" : `agency: ${status.agency}`].filter((s) => s !== "");
  let head = code;
  if (status.reason !== undefined) head += ` ${status.reason}`;
  if (where.length > 0) head += ` (${where.join("; ")})`;
  let message = status.message;
  if (status.reason !== undefined && message.startsWith(`${status.reason}: `)) message = message.slice(status.reason.length + 2);
  const lines = [`${head}: ${message}`];
  for (const v of status.violations) lines.push(`  - ${v.field}: ${v.description}`);
  if (status.retryAfterMs !== undefined) lines.push(`  retry after ${formatMs(status.retryAfterMs)}`);
  if (status.reason === undefined && (code === "UNAVAILABLE" || code === "DEADLINE_EXCEEDED")) {
    lines.push(`  (is the gateway running at ${address}?)`);
  }
  return `${lines.join("\n")}\n`;
}

function failureJson(status: DecodedStatus): JsonObject {
  const error: JsonObject = { code: grpcCodeName(status.code), message: status.message };
  if (status.reason !== undefined) error.reason = status.reason;
  if (status.origin !== undefined) error.origin = status.origin;
  if (status.agency !== undefined) error.agency = status.agency;
  if (status.violations.length > 0) error.violations = status.violations.map((v) => ({ field: v.field, description: v.description }));
  if (status.retryAfterMs !== undefined) error.retryAfterMs = status.retryAfterMs;
  return { error };
}

// ---------------------------------------------------------------------------------------------------
// estelam inquire

async function runInquire(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      param: { type: "string", short: "p", multiple: true },
      purpose: { type: "string" },
      "end-user": { type: "string" },
      "case-reference": { type: "string" },
      "client-message-id": { type: "string" },
      address: { type: "string" },
      "api-key": { type: "string" },
      "deadline-ms": { type: "string" },
      json: { type: "boolean" },
    },
    INQUIRE_USAGE,
  );
  if (values.help === true) {
    io.out(INQUIRE_USAGE);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError("missing <inquiry-type>", INQUIRE_USAGE);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}' (one inquiry type; params go in --param)`, INQUIRE_USAGE);
  const params: JsonObject = {};
  for (const text of values.param ?? []) {
    const [key, value] = parseParam(text, INQUIRE_USAGE);
    if (Object.hasOwn(params, key)) throw new UsageError(`--param ${key} is given twice`, INQUIRE_USAGE);
    params[key] = value;
  }
  const request: InquireRequestInit = {
    inquiryType: positionals[0] as string,
    params,
    purpose: required(values.purpose, "--purpose", INQUIRE_USAGE),
    endUser: required(values["end-user"], "--end-user", INQUIRE_USAGE),
    caseReference: values["case-reference"] ?? "",
    clientMessageId: values["client-message-id"] ?? "",
  };
  const address = gatewayAddress(values.address, INQUIRE_USAGE);
  const key = apiKey(values["api-key"], INQUIRE_USAGE);
  const deadlineMs = wholeNumber(values["deadline-ms"], "--deadline-ms", 1, 600_000, DEFAULT_DEADLINE_MS, INQUIRE_USAGE);

  const client = createInquiryClient(address, { apiKey: key });
  try {
    const result = await client.inquire(request, { deadlineMs });
    if (result.ok) {
      io.out(values.json === true ? `${JSON.stringify(toJson(InquireResponseSchema, result.response), null, 2)}\n` : formatResponse(result.response));
      return EXIT_OK;
    }
    if (values.json === true) io.out(`${JSON.stringify(failureJson(result.status), null, 2)}\n`);
    io.err(formatFailure(result.status, address));
    return EXIT_FAILURE;
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// estelam inquire-csv

class CsvSyntaxError extends Error {
  override readonly name = "CsvSyntaxError";
}

/** RFC 4180 records: `,` separated, `"` quoted (`""` inside quotes is a quote), CRLF or LF line ends. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  let fieldStart = true;
  let line = 1;
  let quoteLine = 0;
  const endField = (): void => {
    record.push(field);
    field = "";
    fieldStart = true;
  };
  const endRecord = (): void => {
    endField();
    records.push(record);
    record = [];
  };
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && fieldStart) {
      quoted = true;
      quoteLine = line;
      fieldStart = false;
    } else if (c === ",") endField();
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
    } else {
      field += c;
      fieldStart = false;
    }
  }
  if (quoted) throw new CsvSyntaxError(`the quote opened on line ${quoteLine} is never closed`);
  if (field !== "" || record.length > 0 || !fieldStart) endRecord();
  return records;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvLine(fields: readonly string[]): string {
  return `${fields.map(csvField).join(",")}\n`;
}

interface CsvRow {
  /** 1 for the first data line after the header. */
  readonly number: number;
  readonly cells: readonly string[];
}

interface RowOutcome {
  readonly fields: readonly string[];
  /** An answer name (FOUND…) or an error reason; counted in the summary. */
  readonly tally: string;
  readonly answered: boolean;
}

async function runInquireCsv(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      "inquiry-type": { type: "string" },
      purpose: { type: "string" },
      "end-user": { type: "string" },
      "case-reference": { type: "string" },
      concurrency: { type: "string" },
      out: { type: "string" },
      "result-fields": { type: "string" },
      address: { type: "string" },
      "api-key": { type: "string" },
      "deadline-ms": { type: "string" },
    },
    CSV_USAGE,
  );
  if (values.help === true) {
    io.out(CSV_USAGE);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError("missing <file.csv>", CSV_USAGE);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, CSV_USAGE);
  const file = positionals[0] as string;
  const inquiryType = required(values["inquiry-type"], "--inquiry-type", CSV_USAGE);
  const purpose = required(values.purpose, "--purpose", CSV_USAGE);
  const endUser = required(values["end-user"], "--end-user", CSV_USAGE);
  const concurrency = wholeNumber(values.concurrency, "--concurrency", 1, MAX_CONCURRENCY, DEFAULT_CONCURRENCY, CSV_USAGE);
  const deadlineMs = wholeNumber(values["deadline-ms"], "--deadline-ms", 1, 600_000, DEFAULT_DEADLINE_MS, CSV_USAGE);
  const address = gatewayAddress(values.address, CSV_USAGE);
  const key = apiKey(values["api-key"], CSV_USAGE);
  const resultFields = (values["result-fields"] ?? "").split(",").map((f) => f.trim()).filter((f) => f !== "");
  if (values.out !== undefined && resolve(values.out) === resolve(file)) throw new UsageError("--out must not be the input file", CSV_USAGE);

  let records: string[][];
  try {
    records = parseCsv(await readFile(file, "utf8"));
  } catch (error) {
    io.err(`estelam inquire-csv: ${file}: ${error instanceof CsvSyntaxError ? error.message : `cannot be read: ${(error as Error).message}`}\n`);
    return EXIT_FAILURE;
  }
  const nonBlank = records.filter((r) => !(r.length === 1 && r[0]?.trim() === ""));
  const header = (nonBlank[0] ?? []).map((h) => h.trim());
  const headerProblem =
    header.length === 0 ? "has no header row naming the params"
    : header.some((h) => h === "") ? "has an empty column name in its header row"
    : new Set(header).size !== header.length ? "names a column twice in its header row"
    : undefined;
  if (headerProblem !== undefined) {
    io.err(`estelam inquire-csv: ${file} ${headerProblem}\n`);
    return EXIT_FAILURE;
  }
  const rows: CsvRow[] = nonBlank.slice(1).map((cells, i) => ({ number: i + 1, cells }));

  let out: NodeJS.WritableStream = process.stdout;
  if (values.out !== undefined) {
    const stream = createWriteStream(values.out);
    const opened = await new Promise<Error | undefined>((done) => {
      stream.once("open", () => done(undefined));
      stream.once("error", done);
    });
    if (opened !== undefined) {
      io.err(`estelam inquire-csv: cannot write ${values.out}: ${opened.message}\n`);
      return EXIT_FAILURE;
    }
    out = stream;
  }
  out.write(csvLine(["row", "tracking_code", "answer", "error_code", "error_reason", "error_fields", ...resultFields]));

  // Results are written in input order; one that finishes early waits here for those before it.
  const outcomes: Array<RowOutcome | undefined> = new Array(rows.length);
  let written = 0;
  const flush = (): void => {
    while (written < rows.length && outcomes[written] !== undefined) {
      out.write(csvLine((outcomes[written] as RowOutcome).fields));
      written++;
    }
  };

  const client = createInquiryClient(address, { apiKey: key });
  const cancel = new AbortController();
  setMaxListeners(MAX_CONCURRENCY + 16, cancel.signal);
  let stopping = false;
  const onSigint = (): void => {
    if (!stopping) {
      stopping = true;
      io.err("\nstopping: no new rows are sent; waiting for those in flight (Ctrl-C again cancels them)\n");
    } else {
      cancel.abort();
    }
  };
  process.on("SIGINT", onSigint);

  const blank = resultFields.map(() => "");
  const runRow = async (row: CsvRow): Promise<RowOutcome> => {
    const number = String(row.number);
    if (row.cells.length !== header.length) {
      return { fields: [number, "", "", "", "CSV_ROW_MALFORMED", "", ...blank], tally: "CSV_ROW_MALFORMED", answered: false };
    }
    const params: JsonObject = {};
    header.forEach((name, i) => {
      const cell = row.cells[i] as string;
      if (cell.trim() !== "") params[name] = cell;
    });
    const request: InquireRequestInit = { inquiryType, params, purpose, endUser, caseReference: values["case-reference"] ?? "" };
    const result = await client.inquire(request, { deadlineMs, signal: cancel.signal });
    if (result.ok) {
      const r = result.response;
      const answer = answerName(r.answer);
      const extra = resultFields.map((f) => {
        const value = r.result?.[f];
        return value === undefined ? "" : scalar(value);
      });
      return { fields: [number, r.trackingCode, answer, "", "", "", ...extra], tally: answer, answered: true };
    }
    const s = result.status;
    const code = grpcCodeName(s.code);
    const reason = s.reason ?? "";
    const fields = [...new Set(s.violations.map((v) => v.field))].join(";");
    return { fields: [number, "", "", code, reason, fields, ...blank], tally: reason === "" ? code : reason, answered: false };
  };

  const started = Date.now();
  let done = 0;
  const progress = (): void => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? Math.round(done / seconds) : 0;
    const percent = rows.length === 0 ? 100 : Math.floor((done * 100) / rows.length);
    io.err(`\r${done}/${rows.length} ${percent}% ${rate}/s\u001b[K`);
  };
  // A progress line only where it cannot garble the results: stderr is a terminal and stdout is not.
  const showProgress = process.stderr.isTTY === true && (values.out !== undefined || process.stdout.isTTY !== true);
  const ticker = showProgress ? setInterval(progress, 200) : undefined;

  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stopping && next < rows.length) {
      const index = next++;
      outcomes[index] = await runRow(rows[index] as CsvRow);
      done++;
      flush();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  } finally {
    process.off("SIGINT", onSigint);
    client.close();
    if (ticker !== undefined) {
      clearInterval(ticker);
      progress();
      io.err("\n");
    }
  }
  for (let i = 0; i < rows.length; i++) {
    outcomes[i] ??= { fields: [String(rows[i]?.number), "", "", "", "NOT_SENT", "", ...blank], tally: "NOT_SENT", answered: false };
  }
  flush();
  if (out !== process.stdout) await new Promise<void>((done) => (out as NodeJS.WritableStream).end(done));

  const tally = (answered: boolean): string => {
    const counts = new Map<string, number>();
    for (const o of outcomes) if (o !== undefined && o.answered === answered) counts.set(o.tally, (counts.get(o.tally) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${n}`).join(", ");
  };
  const answered = outcomes.filter((o) => o?.answered === true).length;
  const failed = rows.length - answered;
  const seconds = (Date.now() - started) / 1000;
  const rate = seconds > 0 ? Math.round(done / seconds) : done;
  let summary = `${rows.length} row${rows.length === 1 ? "" : "s"} in ${seconds.toFixed(1)} s (${rate}/s): ${answered} answered`;
  if (answered > 0) summary += ` (${tally(true)})`;
  summary += `, ${failed} failed`;
  if (failed > 0) summary += ` (${tally(false)})`;
  io.err(`${summary}\n`);
  if (values.out !== undefined) io.err(`results: ${values.out}\n`);
  if (stopping) return EXIT_INTERRUPTED;
  return failed > 0 ? EXIT_FAILURE : EXIT_OK;
}

// ---------------------------------------------------------------------------------------------------
// estelam catalogue check

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

async function runCatalogue(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, {}, CATALOGUE_USAGE);
  if (values.help === true) {
    io.out(CATALOGUE_USAGE);
    return EXIT_OK;
  }
  if (positionals[0] !== "check") {
    throw new UsageError(positionals[0] === undefined ? "missing subcommand (check)" : `unknown subcommand '${positionals[0]}' (known: check)`, CATALOGUE_USAGE);
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
      io.out(`${file}: ${count(error.issues.length, "problem", "problems")}\n${error.issues.map((i) => `  - ${i.path}: ${i.message}\n`).join("")}`);
    } else {
      io.out(`${(error as Error).message}\n`);
    }
    return EXIT_FAILURE;
  }
}

// ---------------------------------------------------------------------------------------------------
// estelam health

async function runHealth(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { address: { type: "string" }, service: { type: "string" }, "deadline-ms": { type: "string" } },
    HEALTH_USAGE,
  );
  if (values.help === true) {
    io.out(HEALTH_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, HEALTH_USAGE);
  const address = gatewayAddress(values.address, HEALTH_USAGE);
  const deadlineMs = wholeNumber(values["deadline-ms"], "--deadline-ms", 1, 600_000, HEALTH_DEADLINE_MS, HEALTH_USAGE);
  const result = await checkHealth(address, { service: values.service ?? "", deadlineMs });
  if (!result.ok) {
    io.err(formatFailure(result.status, address));
    return EXIT_FAILURE;
  }
  io.out(`${result.status}\n`);
  return result.status === "SERVING" ? EXIT_OK : EXIT_FAILURE;
}

// ---------------------------------------------------------------------------------------------------

const COMMANDS: Readonly<Record<string, (args: readonly string[]) => Promise<number>>> = {
  inquire: runInquire,
  "inquire-csv": runInquireCsv,
  catalogue: runCatalogue,
  health: runHealth,
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
  const run = COMMANDS[command];
  if (run === undefined) {
    io.err(`estelam: unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(", ")})\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
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
