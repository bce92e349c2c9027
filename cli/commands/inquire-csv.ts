// `estelam inquire-csv`: one inquiry per row of a CSV file, with bounded concurrency.

import { setMaxListeners } from "node:events";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { JsonObject } from "@bufbuild/protobuf";
import {
  apiKey,
  CONNECTION_OPTIONS,
  ENV_NOTE,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  gatewayAddress,
  io,
  parse,
  required,
  UsageError,
  wholeNumber,
} from "../args.ts";
import { createInquiryClient, DEFAULT_DEADLINE_MS, grpcCodeName, type InquireRequestInit } from "../client.ts";
import { answerName, scalar } from "../format.ts";

const DEFAULT_CONCURRENCY = 16;
const MAX_CONCURRENCY = 256;

export const CSV_USAGE = `usage: estelam inquire-csv <file.csv> --inquiry-type <id> --purpose <code> --end-user <who> [options]

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

export async function runInquireCsv(args: readonly string[]): Promise<number> {
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
  const resultFields = (values["result-fields"] ?? "")
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "");
  if (values.out !== undefined && resolve(values.out) === resolve(file))
    throw new UsageError("--out must not be the input file", CSV_USAGE);

  let records: string[][];
  try {
    records = parseCsv(await readFile(file, "utf8"));
  } catch (error) {
    io.err(
      `estelam inquire-csv: ${file}: ${error instanceof CsvSyntaxError ? error.message : `cannot be read: ${(error as Error).message}`}\n`,
    );
    return EXIT_FAILURE;
  }
  const nonBlank = records.filter((r) => !(r.length === 1 && r[0]?.trim() === ""));
  const header = (nonBlank[0] ?? []).map((h) => h.trim());
  const headerProblem =
    header.length === 0
      ? "has no header row naming the params"
      : header.some((h) => h === "")
        ? "has an empty column name in its header row"
        : new Set(header).size !== header.length
          ? "names a column twice in its header row"
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
    return [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `${name} ${n}`)
      .join(", ");
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
