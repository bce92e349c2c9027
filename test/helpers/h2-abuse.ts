// A hostile HTTP/2 client for edge tests, written with node:http2 so it can do what no gRPC library would:
// open streams and never send their message, send half a message, never read answers, or reset streams as
// fast as it opens them. Every loop is bounded by a number of streams and a duration.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from "node:http2";
import { fileURLToPath } from "node:url";

export type AbuseKind =
  /** Headers with a credential, then nothing: no message, no end. */
  | "idle"
  /** Headers without a credential, then nothing. */
  | "anonymous"
  /** Headers with a credential, then a message prefix announcing 1000 bytes and only 100 of them. */
  | "partial"
  /** A whole request whose answer the client never reads (its flow-control window is 0). */
  | "non-reading"
  /** Headers, then an immediate RST_STREAM, over and over. */
  | "rapid-reset";

export interface AbuseOptions {
  /** `host:port` of the gRPC server. */
  readonly address: string;
  readonly kind: AbuseKind;
  readonly connections: number;
  /** Streams each connection keeps open at once. */
  readonly streamsPerConnection: number;
  /** Streams opened in all, at most. */
  readonly totalStreams: number;
  /** Stops opening new streams after this long. */
  readonly durationMs: number;
  readonly apiKey?: string;
  /** The gRPC method path; default InquiryService/Inquire. */
  readonly path?: string;
}

export interface AbuseReport {
  /** Streams opened. */
  readonly opened: number;
  /** Streams the server answered with a gRPC status, by status code. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Streams the server reset or closed without a status. */
  readonly reset: number;
  /** Connections the server closed or refused. */
  readonly connectionsLost: number;
}

const INQUIRE_PATH = "/estelam.inquiry.v1.InquiryService/Inquire";

/** A gRPC length-prefixed message frame. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** Runs one abuse until its stream budget or its time is spent, then closes every connection. */
export async function abuse(options: AbuseOptions): Promise<AbuseReport> {
  const path = options.path ?? INQUIRE_PATH;
  let opened = 0;
  let reset = 0;
  let connectionsLost = 0;
  const statuses: Record<string, number> = {};
  const stopAt = Date.now() + options.durationMs;
  const open = (): boolean => opened < options.totalStreams && Date.now() < stopAt;
  const sessions: ClientHttp2Session[] = [];

  const headers = {
    [constants.HTTP2_HEADER_METHOD]: "POST",
    [constants.HTTP2_HEADER_PATH]: path,
    "content-type": "application/grpc",
    te: "trailers",
    ...(options.kind === "anonymous" || options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
  };

  // An attacker whose connection is closed connects again, until its budget or its time is spent.
  const runConnection = async (): Promise<void> => {
    while (open()) await runSession();
  };
  const runSession = (): Promise<void> =>
    new Promise((done) => {
      const session = connect(`http://${options.address}`, {
        // A client that never reads: the server may not send it a single byte of DATA.
        settings: options.kind === "non-reading" ? { initialWindowSize: 0 } : {},
      });
      sessions.push(session);
      let active = 0;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        done();
      };
      session.on("error", () => undefined);
      session.on("close", () => {
        if (open()) connectionsLost += 1;
        finish();
      });
      const next = (): void => {
        while (!session.closed && !session.destroyed && active < options.streamsPerConnection && open()) {
          let stream: ClientHttp2Stream;
          try {
            stream = session.request(headers, { endStream: false });
          } catch {
            finish();
            return;
          }
          opened += 1;
          active += 1;
          let answered = false;
          stream.on("error", () => undefined);
          stream.on("response", (h) => {
            const code = h["grpc-status"];
            if (code !== undefined) {
              answered = true;
              statuses[String(code)] = (statuses[String(code)] ?? 0) + 1;
            }
          });
          stream.on("trailers", (h) => {
            const code = h["grpc-status"];
            if (code !== undefined && !answered) {
              answered = true;
              statuses[String(code)] = (statuses[String(code)] ?? 0) + 1;
            }
          });
          stream.on("close", () => {
            active -= 1;
            if (!answered) reset += 1;
            setImmediate(next);
          });
          if (options.kind === "partial") {
            const prefix = Buffer.alloc(5);
            prefix.writeUInt32BE(1000, 1);
            stream.write(Buffer.concat([prefix, Buffer.alloc(100, 7)]));
          } else if (options.kind === "non-reading") {
            stream.pause();
            stream.end(grpcFrame(new Uint8Array(0)));
          } else if (options.kind === "rapid-reset") {
            stream.close(constants.NGHTTP2_CANCEL);
          }
        }
        if (!open() && active === 0) finish();
      };
      session.once("connect", next);
      setTimeout(finish, options.durationMs + 1000).unref();
    });

  await Promise.all(Array.from({ length: options.connections }, runConnection));
  for (const session of sessions) session.destroy();
  return { opened, statuses, reset, connectionsLost };
}

/** Resident memory of a process now and at its peak, in MiB (Linux /proc). */
export function residentMiB(pid: number): { readonly now: number; readonly peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { now: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

/** Runs an abuse in a child process, so the attacker does not share an event loop with the callers measured. */
export function abuseFromProcess(options: AbuseOptions): Promise<AbuseReport> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [fileURLToPath(import.meta.url), JSON.stringify(options)],
      { timeout: options.durationMs + 30_000 },
      (error, stdout) => {
        if (error !== null) reject(error);
        else resolve(JSON.parse(stdout) as AbuseReport);
      },
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const report = await abuse(JSON.parse(process.argv[2] ?? "{}") as AbuseOptions);
  process.stdout.write(JSON.stringify(report));
  process.exit(0);
}
