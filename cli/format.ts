// How the `estelam` commands print answers and failures, for people and as JSON.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import type { DecodedStatus } from "../core/status.ts";
import { Answer, type InquireResponse } from "../gen/estelam/inquiry/v1/inquiry_pb.js";
import { grpcCodeName } from "./client.ts";

export function answerName(answer: Answer): string {
  return Answer[answer] ?? `ANSWER_${answer}`;
}

export function scalar(value: JsonValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** The response as aligned lines, for people. */
export function formatResponse(response: InquireResponse): string {
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
/** What went wrong on the way to the gateway, in a few words, from grpc-js's long connection message. */
function connectionTrouble(message: string): string {
  const causes: ReadonlyArray<[RegExp, string]> = [
    [/ECONNREFUSED/, "connection refused"],
    [/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed/i, "unknown host"],
    [/ETIMEDOUT|timed out/i, "connection timed out"],
    [/EHOSTUNREACH|ENETUNREACH/, "host unreachable"],
    [/ECONNRESET|Connection dropped|socket hang up/i, "connection reset"],
    [/SSL|TLS|certificate|handshake/i, "TLS handshake failed"],
  ];
  return causes.find(([pattern]) => pattern.test(message))?.[1] ?? "no connection";
}

/**
 * `<code> <REASON> (origin: ...; agency: ...): message`, then one line per field violation, the retry hint
 * and the inquiry's tracking code (to quote). A failure to reach the gateway at all is one line saying so.
 */
export function formatFailure(status: DecodedStatus, address: string): string {
  const code = grpcCodeName(status.code);
  if (status.reason === undefined && code === "UNAVAILABLE") {
    return `UNAVAILABLE: cannot reach the gateway at ${address} (${connectionTrouble(status.message)}); is it running there? (--address or ESTELAM_GRPC_ADDRESS)\n`;
  }
  if (status.reason === undefined && code === "DEADLINE_EXCEEDED") {
    return `DEADLINE_EXCEEDED: no answer from the gateway at ${address} in time (--deadline-ms); is it running there?\n`;
  }
  const where = [
    status.origin === undefined ? "" : `origin: ${status.origin}`,
    status.agency === undefined ? "" : `agency: ${status.agency}`,
  ].filter((s) => s !== "");
  let head = code;
  if (status.reason !== undefined) head += ` ${status.reason}`;
  if (where.length > 0) head += ` (${where.join("; ")})`;
  let message = status.message;
  if (status.reason !== undefined && message.startsWith(`${status.reason}: `)) message = message.slice(status.reason.length + 2);
  const lines = [`${head}: ${message}`];
  for (const v of status.violations) lines.push(`  - ${v.field}: ${v.description}`);
  if (status.retryAfterMs !== undefined) lines.push(`  retry after ${formatMs(status.retryAfterMs)}`);
  if (status.trackingCode !== undefined) lines.push(`  tracking code ${status.trackingCode} (inquiry ${status.inquiryId ?? "?"})`);
  return `${lines.join("\n")}\n`;
}

export function failureJson(status: DecodedStatus): JsonObject {
  const error: JsonObject = { code: grpcCodeName(status.code), message: status.message };
  if (status.reason !== undefined) error.reason = status.reason;
  if (status.origin !== undefined) error.origin = status.origin;
  if (status.agency !== undefined) error.agency = status.agency;
  if (status.violations.length > 0) error.violations = status.violations.map((v) => ({ field: v.field, description: v.description }));
  if (status.retryAfterMs !== undefined) error.retryAfterMs = status.retryAfterMs;
  if (status.inquiryId !== undefined) error.inquiryId = status.inquiryId;
  if (status.trackingCode !== undefined) error.trackingCode = status.trackingCode;
  return { error };
}
