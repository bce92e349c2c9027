// An Estelam connector kind, `line`, for agency back ends that answer one text line per request over TCP
// (see agency.js for the protocol). It needs nothing from Estelam's source: the gateway hands it the
// connector SDK (`sdk`) when it loads the module an Endpoint document names in `spec.module`.
import { connect } from "node:net";

/** @typedef {{ host: string, port: number, connectTimeoutMs: number, maxLineBytes: number }} LineOptions */
/** @typedef {{ operation: string }} LineOperation */

/**
 * The connector kind. Estelam calls this once with its connector SDK (ConnectorSdk in Estelam's
 * connectors/connector.ts): `error`, `abortError` and `optionsSchema`.
 */
export default function createConnectorKind(sdk) {
  const endpointOptions = sdk.optionsSchema({
    type: "object",
    additionalProperties: false,
    required: ["host", "port"],
    properties: {
      host: { type: "string", minLength: 1 },
      port: { type: "integer", minimum: 1, maximum: 65535 },
      connectTimeoutMs: { type: "integer", minimum: 1, maximum: 60000, default: 2000 },
      maxLineBytes: { type: "integer", minimum: 64, maximum: 1048576, default: 65536 },
    },
  });
  const operationOptions = sdk.optionsSchema({
    type: "object",
    additionalProperties: false,
    required: ["operation"],
    properties: { operation: { type: "string", pattern: "^[a-z-]+$" } },
  });

  return {
    kind: "line",
    endpointSchema: endpointOptions.schema,
    operationSchema: operationOptions.schema,
    validateEndpoint: (raw, path) => endpointOptions.validate(raw, path),
    validateOperation: (raw, path) => operationOptions.validate(raw, path),
    /** @param {LineOptions} options */
    create(options, target) {
      const agency = target.agency;
      const open = new Set();
      let closed = false;

      /** Sends one line and resolves with the agency's one-line answer. */
      function exchange(line, signal) {
        return new Promise((resolve, reject) => {
          if (closed) return reject(sdk.error("AGENCY_UNAVAILABLE", `the connection to agency '${agency}' is closed`, agency));
          const socket = connect({ host: options.host, port: options.port });
          // Only connecting is timed here; how long the answer may take is the inquiry's deadline (signal).
          const connectTimer = setTimeout(
            () => finish(sdk.error("AGENCY_UNAVAILABLE", `agency '${agency}' did not accept a connection`, agency)),
            options.connectTimeoutMs,
          );
          open.add(socket);
          let buffered = "";
          let done = false;
          const finish = (error, value) => {
            if (done) return;
            done = true;
            clearTimeout(connectTimer);
            signal?.removeEventListener("abort", onAbort);
            open.delete(socket);
            socket.destroy();
            if (error) reject(error);
            else resolve(value);
          };
          const onAbort = () => finish(sdk.abortError(signal, agency));
          if (signal?.aborted) return onAbort();
          signal?.addEventListener("abort", onAbort, { once: true });
          socket.on("connect", () => {
            clearTimeout(connectTimer);
            socket.write(`${line}\n`);
          });
          socket.on("error", (e) =>
            finish(sdk.error("AGENCY_UNAVAILABLE", `agency '${agency}' is unreachable (${e.code ?? e.message})`, agency)),
          );
          socket.on("close", () =>
            finish(sdk.error("AGENCY_UNAVAILABLE", `agency '${agency}' closed the connection without answering`, agency)),
          );
          socket.on("data", (chunk) => {
            buffered += chunk.toString("utf8");
            const end = buffered.indexOf("\n");
            if (end >= 0) finish(undefined, buffered.slice(0, end));
            else if (Buffer.byteLength(buffered) > options.maxLineBytes)
              finish(
                sdk.error("AGENCY_BAD_RESPONSE", `agency '${agency}' answered a line longer than ${options.maxLineBytes} bytes`, agency),
              );
          });
        });
      }

      return {
        kind: "line",
        endpoint: `${agency}/${target.endpoint}`,
        /** @param {LineOperation} operation */
        async call(request, operation) {
          const line = await exchange(`ASK ${operation.operation} ${JSON.stringify(request.params)}`, request.signal);
          const space = line.indexOf(" ");
          const word = space < 0 ? line : line.slice(0, space);
          const rest = space < 0 ? "" : line.slice(space + 1);
          if (word === "NOTFOUND") return { answer: "not_found", message: rest.slice(0, 500) || "no record found" };
          if (word === "DENIED") return { answer: "rejected", message: rest.slice(0, 500) || "the agency declined the inquiry" };
          if (word === "ERROR")
            throw sdk.error("AGENCY_BAD_RESPONSE", `agency '${agency}' refused the request: ${rest.slice(0, 200)}`, agency);
          if (word !== "FOUND") throw sdk.error("AGENCY_BAD_RESPONSE", `agency '${agency}' answered an unknown line`, agency);
          let result;
          try {
            result = JSON.parse(rest);
          } catch {
            throw sdk.error("AGENCY_BAD_RESPONSE", `agency '${agency}' answered invalid JSON`, agency);
          }
          if (typeof result !== "object" || result === null || Array.isArray(result))
            throw sdk.error("AGENCY_BAD_RESPONSE", `agency '${agency}' answered without a JSON object`, agency);
          return { answer: "found", result };
        },
        async warm(signal) {
          const reply = await exchange("PING", signal);
          if (reply !== "PONG") throw new Error(`agency '${agency}' answered '${reply.slice(0, 40)}' to PING`);
        },
        async close() {
          closed = true;
          for (const socket of open) socket.destroy();
          open.clear();
        },
      };
    },
  };
}

/** What `estelam connector test` runs the connector against: the register in agency.js. */
export const conformance = {
  async start() {
    const { startLineAgency } = await import("./agency.js");
    const agency = await startLineAgency();
    return {
      endpoint: { host: "127.0.0.1", port: agency.port },
      operation: { operation: "inspection-status" },
      params: { vin: "NAAM01CA9JK123456" },
      delay: (ms) => agency.delay(ms),
      fail: () => agency.fail(),
      recover: () => agency.recover(),
      close: () => agency.close(),
    };
  },
};
