// `estelam inquire <inquiry-type> --batch file.csv`: one inquiry per row of a CSV file, with bounded
// concurrency, a progress bar (cli-progress), a results file written in input order as rows finish, and
// `--resume`, which keeps the rows a previous run finished and asks only the others.

import { setMaxListeners } from "node:events";
import { createWriteStream } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { JsonObject } from "@bufbuild/protobuf";
import { Presets, SingleBar } from "cli-progress";
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

export const BATCH_USAGE = `usage: estelam inquire <inquiry-type> --batch <file.csv> --purpose <code> --end-user <who> [options]

Asks one inquiry per row of a CSV file whose header row names the params (e.g. national_code,birth_date)
and writes one result line per row, in the order of the input. Results hold the row number, the tracking
code and the answer or error reason, never the input values. Empty cells are not sent, so a missing
required param is reported by the gateway. Blank lines are skipped. A bad row is reported (on stderr and
in its result line) and the batch goes on.

      --batch <file.csv>       the CSV file (required for a batch)
      --purpose <code>         purpose code granted to the asking agency (required)
      --end-user <who>         person or system on whose behalf you ask (required)
      --case-reference <ref>   case reference sent with every row
      --concurrency <n>        inquiries in flight at once (default ${DEFAULT_CONCURRENCY}, at most ${MAX_CONCURRENCY})
      --out <file>             write the results to this file instead of stdout
      --resume                 with --out: keep the rows the file already holds a result for (all but
                               NOT_SENT) and ask only the others; the file ends in input order
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

A progress bar goes to stderr when it is a terminal, a summary at the end. Ctrl-C stops sending new rows
and waits for those in flight; a second Ctrl-C cancels them. Run again with --resume to finish.

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

const COLUMNS = ["row", "tracking_code", "answer", "error_code", "error_reason", "error_fields"];

/** The rows a previous run finished (any result but NOT_SENT), by row number, with their result lines. */
async function finishedRows(path: string, header: readonly string[]): Promise<Map<number, string[]>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw error;
  }
  const records = parseCsv(text);
  const found = records[0] ?? [];
  if (found.join(",") !== header.join(","))
    throw new Error(`${path} is not a results file of this batch: its header is '${found.join(",")}', expected '${header.join(",")}'`);
  const done = new Map<number, string[]>();
  // The last line of an interrupted run may be cut short: a line without every column is asked again.
  for (const record of records.slice(1)) {
    const row = Number(record[0]);
    if (record.length !== header.length || !Number.isInteger(row) || row < 1 || record[4] === "NOT_SENT") continue;
    done.set(row, record);
  }
  return done;
}

export async function runInquireBatch(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      batch: { type: "string" },
      purpose: { type: "string" },
      "end-user": { type: "string" },
      "case-reference": { type: "string" },
      concurrency: { type: "string" },
      out: { type: "string" },
      resume: { type: "boolean" },
      "result-fields": { type: "string" },
      address: { type: "string" },
      "api-key": { type: "string" },
      "deadline-ms": { type: "string" },
    },
    BATCH_USAGE,
  );
  if (values.help === true) {
    io.out(BATCH_USAGE);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError("missing <inquiry-type>", BATCH_USAGE);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, BATCH_USAGE);
  const inquiryType = positionals[0] as string;
  const file = required(values.batch, "--batch <file.csv>", BATCH_USAGE);
  const purpose = required(values.purpose, "--purpose", BATCH_USAGE);
  const endUser = required(values["end-user"], "--end-user", BATCH_USAGE);
  const concurrency = wholeNumber(values.concurrency, "--concurrency", 1, MAX_CONCURRENCY, DEFAULT_CONCURRENCY, BATCH_USAGE);
  const deadlineMs = wholeNumber(values["deadline-ms"], "--deadline-ms", 1, 600_000, DEFAULT_DEADLINE_MS, BATCH_USAGE);
  const address = gatewayAddress(values.address, BATCH_USAGE);
  const key = apiKey(values["api-key"], BATCH_USAGE);
  const resultFields = (values["result-fields"] ?? "")
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "");
  if (values.out !== undefined && resolve(values.out) === resolve(file))
    throw new UsageError("--out must not be the input file", BATCH_USAGE);
  if (values.resume === true && values.out === undefined) throw new UsageError("--resume needs --out <file>", BATCH_USAGE);
  const name = "estelam inquire --batch";

  let records: string[][];
  try {
    records = parseCsv(await readFile(file, "utf8"));
  } catch (error) {
    io.err(`${name}: ${file}: ${error instanceof CsvSyntaxError ? error.message : `cannot be read: ${(error as Error).message}`}\n`);
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
    io.err(`${name}: ${file} ${headerProblem}\n`);
    return EXIT_FAILURE;
  }
  const rows: CsvRow[] = nonBlank.slice(1).map((cells, i) => ({ number: i + 1, cells }));
  const resultHeader = [...COLUMNS, ...resultFields];

  // Resuming: the rows finished before are kept (in a rewritten file, so a cut-off last line goes away).
  let before = new Map<number, string[]>();
  if (values.resume === true && values.out !== undefined) {
    try {
      before = await finishedRows(values.out, resultHeader);
    } catch (error) {
      io.err(`${name}: cannot resume: ${(error as Error).message}\n`);
      return EXIT_FAILURE;
    }
    io.err(`resuming: ${before.size} of ${rows.length} rows already done\n`);
  }
  const toAsk = rows.filter((r) => !before.has(r.number));

  let out: NodeJS.WritableStream = process.stdout;
  if (values.out !== undefined) {
    const stream = createWriteStream(values.out);
    const opened = await new Promise<Error | undefined>((done) => {
      stream.once("open", () => done(undefined));
      stream.once("error", done);
    });
    if (opened !== undefined) {
      io.err(`${name}: cannot write ${values.out}: ${opened.message}\n`);
      return EXIT_FAILURE;
    }
    out = stream;
  }
  out.write(csvLine(resultHeader));
  for (const record of [...before.values()].sort((a, b) => Number(a[0]) - Number(b[0]))) out.write(csvLine(record));

  // Results are written in input order; one that finishes early waits here for those before it.
  const outcomes: Array<RowOutcome | undefined> = new Array(toAsk.length);
  let written = 0;
  const flush = (): void => {
    while (written < toAsk.length && outcomes[written] !== undefined) {
      out.write(csvLine((outcomes[written] as RowOutcome).fields));
      written++;
    }
  };

  const client = createInquiryClient(address, { apiKey: key });
  const cancel = new AbortController();
  setMaxListeners(MAX_CONCURRENCY + 16, cancel.signal);
  let stopping = false;
  // A progress bar only where it cannot garble the results: stderr is a terminal and stdout is not.
  const showProgress = process.stderr.isTTY === true && (values.out !== undefined || process.stdout.isTTY !== true);
  const bar = showProgress
    ? new SingleBar(
        { format: "{bar} {percentage}% | {value}/{total} rows | {rate}/s | {failed} failed | ETA {eta_formatted}", hideCursor: true },
        Presets.shades_classic,
      )
    : undefined;
  const say = (text: string): void => {
    if (bar !== undefined) bar.stop();
    io.err(text);
  };
  const onSigint = (): void => {
    if (!stopping) {
      stopping = true;
      say("\nstopping: no new rows are sent; waiting for those in flight (Ctrl-C again cancels them)\n");
    } else {
      cancel.abort();
    }
  };
  process.on("SIGINT", onSigint);

  const blank = resultFields.map(() => "");
  const runRow = async (row: CsvRow): Promise<RowOutcome> => {
    const number = String(row.number);
    if (row.cells.length !== header.length) {
      // Only counts are printed: the cells may hold personal identifiers.
      say(`row ${number}: ${row.cells.length} cells where the header names ${header.length}; not sent\n`);
      return { fields: [number, "", "", "", "CSV_ROW_MALFORMED", "", ...blank], tally: "CSV_ROW_MALFORMED", answered: false };
    }
    const params: JsonObject = {};
    header.forEach((column, i) => {
      const cell = row.cells[i] as string;
      if (cell.trim() !== "") params[column] = cell;
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
  let failedSoFar = 0;
  bar?.start(toAsk.length, 0, { rate: 0, failed: 0 });

  let next = 0;
  const worker = async (): Promise<void> => {
    while (!stopping && next < toAsk.length) {
      const index = next++;
      const outcome = await runRow(toAsk[index] as CsvRow);
      outcomes[index] = outcome;
      done++;
      if (!outcome.answered) failedSoFar++;
      const seconds = (Date.now() - started) / 1000;
      bar?.update(done, { rate: seconds > 0 ? Math.round(done / seconds) : 0, failed: failedSoFar });
      flush();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, toAsk.length) }, worker));
  } finally {
    process.off("SIGINT", onSigint);
    client.close();
    bar?.stop();
  }
  for (let i = 0; i < toAsk.length; i++) {
    outcomes[i] ??= { fields: [String(toAsk[i]?.number), "", "", "", "NOT_SENT", "", ...blank], tally: "NOT_SENT", answered: false };
  }
  flush();
  if (out !== process.stdout) await new Promise<void>((resolveEnd) => (out as NodeJS.WritableStream).end(resolveEnd));
  // A resumed file holds the earlier rows first: put every row back in input order.
  if (values.out !== undefined && before.size > 0) {
    const lines = parseCsv(await readFile(values.out, "utf8")).slice(1);
    lines.sort((a, b) => Number(a[0]) - Number(b[0]));
    const temporary = `${values.out}.sorting`;
    await writeFile(temporary, [resultHeader, ...lines].map(csvLine).join(""));
    await rename(temporary, values.out);
  }

  const tally = (answered: boolean): string => {
    const counts = new Map<string, number>();
    for (const o of outcomes) if (o !== undefined && o.answered === answered) counts.set(o.tally, (counts.get(o.tally) ?? 0) + 1);
    for (const record of before.values()) {
      const ok = record[4] === "" && record[2] !== "";
      const label = ok ? (record[2] as string) : record[4] || (record[3] as string);
      if (ok === answered) counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    return [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([label, n]) => `${label} ${n}`)
      .join(", ");
  };
  const answeredBefore = [...before.values()].filter((r) => r[4] === "" && r[2] !== "").length;
  const answered = outcomes.filter((o) => o?.answered === true).length + answeredBefore;
  const failed = rows.length - answered;
  const seconds = (Date.now() - started) / 1000;
  const rate = seconds > 0 ? Math.round(done / seconds) : done;
  let summary = `${rows.length} row${rows.length === 1 ? "" : "s"} in ${seconds.toFixed(1)} s (${rate}/s): ${answered} answered`;
  if (answered > 0) summary += ` (${tally(true)})`;
  summary += `, ${failed} failed`;
  if (failed > 0) summary += ` (${tally(false)})`;
  if (before.size > 0) summary += `; ${before.size} done by an earlier run`;
  io.err(`${summary}\n`);
  if (values.out !== undefined) io.err(`results: ${values.out}${stopping ? " (run again with --resume to finish)" : ""}\n`);
  if (stopping) return EXIT_INTERRUPTED;
  return failed > 0 ? EXIT_FAILURE : EXIT_OK;
}
