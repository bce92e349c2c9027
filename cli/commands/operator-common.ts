// What `estelam status` and `estelam breakers` share: the connection options (an admin key).
import { apiKey, DEFAULT_ADDRESS, gatewayAddress, wholeNumber } from "../args.ts";
import { DEFAULT_DEADLINE_MS } from "../client.ts";

export const CONNECTION = `      --address <host:port>    gateway gRPC address (default: $ESTELAM_GRPC_ADDRESS, else ${DEFAULT_ADDRESS})
      --api-key <key>          an admin API key (default: $ESTELAM_API_KEY)
      --deadline-ms <n>        how long the call may take, in milliseconds (default ${DEFAULT_DEADLINE_MS})`;

export const CONNECTION_FLAGS = {
  address: { type: "string" },
  "api-key": { type: "string" },
  "deadline-ms": { type: "string" },
  json: { type: "boolean" },
} as const;

export function connectOperator(
  values: { address?: string | undefined; "api-key"?: string | undefined; "deadline-ms"?: string | undefined },
  usage: string,
): { readonly address: string; readonly key: string; readonly deadlineMs: number } {
  return {
    address: gatewayAddress(values.address, usage),
    key: apiKey(values["api-key"], usage),
    deadlineMs: wholeNumber(values["deadline-ms"], "--deadline-ms", 1, 600_000, DEFAULT_DEADLINE_MS, usage),
  };
}
