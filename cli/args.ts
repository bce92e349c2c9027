// What every `estelam` command shares: exit statuses, the settings it reads, argument parsing with
// usage errors, and where output goes.

import { type ParseArgsConfig, parseArgs } from "node:util";
import type { JsonValue } from "@bufbuild/protobuf";
import { DEFAULT_DEADLINE_MS } from "./client.ts";
import { hasClientCertificate } from "./tls.ts";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** The gateway's own default listening address (ESTELAM_GRPC_ADDRESS), which the CLI connects to. */
export const DEFAULT_ADDRESS = "127.0.0.1:50051";

export const ENV_NOTE = `Environment:
  ESTELAM_GRPC_ADDRESS  gateway gRPC address when --address is not given (default ${DEFAULT_ADDRESS}); the
                        gateway listens on the same setting
  ESTELAM_API_KEY       API key of the asking agency when --api-key is not given
  ESTELAM_TLS_CA        PEM file of the CA of the gateway's certificate (set: TLS)
  ESTELAM_TLS_CERT      PEM files of the agency's client certificate and key (mutual TLS;
  ESTELAM_TLS_KEY         the registry maps the certificate to the agency: no API key needed)

There is no default API key. The demo gateway (\`npm start\`) accepts the demo keys listed under
"Demo credentials" in README.md; see docs/cli.md.`;

export const CONNECTION_OPTIONS = `      --address <host:port>    gateway gRPC address (default: $ESTELAM_GRPC_ADDRESS, else ${DEFAULT_ADDRESS})
      --api-key <key>          API key of the asking agency (default: $ESTELAM_API_KEY; one of them is
                               required; the variable keeps the key out of the process list)
      --deadline-ms <n>        how long one inquiry may take, in milliseconds (default ${DEFAULT_DEADLINE_MS})`;

/** A mistake in the command line: printed with the command's synopsis, exit status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly usage: string;

  constructor(message: string, usage: string) {
    super(message);
    this.usage = usage;
  }
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const io: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs with strict checking; its errors become UsageErrors carrying the command's usage. */
export function parse<O extends Options>(args: readonly string[], options: O, usage: string) {
  try {
    return parseArgs({
      args: [...args],
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

export function required(value: string | undefined, flag: string, usage: string): string {
  if (value === undefined || value.trim() === "") throw new UsageError(`missing ${flag}`, usage);
  return value;
}

export function wholeNumber(value: string | undefined, flag: string, min: number, max: number, fallback: number, usage: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`, usage);
  return n;
}

export function gatewayAddress(flag: string | undefined, usage: string): string {
  const address = flag ?? (process.env.ESTELAM_GRPC_ADDRESS?.trim() || DEFAULT_ADDRESS);
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(address) && !/^(dns|unix|ipv4|ipv6):.+/.test(address)) {
    throw new UsageError(`the gateway address '${address}' is not host:port`, usage);
  }
  return address;
}

export function apiKey(flag: string | undefined, usage: string): string {
  const key = flag ?? process.env.ESTELAM_API_KEY?.trim();
  // A client certificate (mutual TLS) names the asking agency by itself.
  if ((key === undefined || key === "") && hasClientCertificate()) return "";
  if (key === undefined || key === "") {
    throw new UsageError('no API key: pass --api-key or set ESTELAM_API_KEY (demo keys: README.md, "Demo credentials")', usage);
  }
  return key;
}

/** `key=value` (text) or `key:=<json>` (any JSON value). */
export function parseParam(text: string, usage: string): [string, JsonValue] {
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

export function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
