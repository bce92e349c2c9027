// The `http-json` connector: POSTs the validated params as a JSON object to the agency's path and reads a
// JSON object back. 2xx is an answer; the operation's not-found / rejected statuses are business answers;
// 5xx, connection failures and unreadable answers are faults (they count against the endpoint's breaker).
import type { JsonObject } from "@bufbuild/protobuf";
import { Pool } from "undici";
import { EstelamError } from "../../core/errors.ts";
import type { Connector, ConnectorAnswer, ConnectorRequest, ConnectorTarget } from "../connector.ts";
import { abortError } from "../deadline.ts";
import type { HttpJsonEndpointOptions, HttpJsonOperation } from "./options.ts";

const MAX_MESSAGE_CHARS = 500;

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The agency's own explanation from an error body, if it gave one as `{"message": "..."}`. */
function messageOf(body: unknown, fallback: string): string {
  const message = isJsonObject(body) ? body.message : undefined;
  return typeof message === "string" && message.length > 0 ? message.slice(0, MAX_MESSAGE_CHARS) : fallback;
}

export function createHttpJsonConnector(options: HttpJsonEndpointOptions, target: ConnectorTarget): Connector<HttpJsonOperation> {
  const endpoint = `${target.agency}/${target.endpoint}`;
  const prefix = options.baseUrl.pathname.replace(/\/$/, "");
  const pool = new Pool(options.baseUrl.origin, {
    connections: options.connections,
    pipelining: options.pipelining,
    connect: { timeout: options.connectTimeoutMs },
    keepAliveTimeout: options.keepAliveTimeoutMs,
    // Deadlines come from the per-call abort signal, not from undici's own (much longer) timers.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const staticHeaders = { "content-type": "application/json", accept: "application/json", ...options.headers };

  async function readBody(body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown }): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > options.maxResponseBytes) {
        body.destroy();
        throw new EstelamError("AGENCY_BAD_RESPONSE", `agency '${target.agency}' answered more than ${options.maxResponseBytes} bytes`, {
          agency: target.agency,
        });
      }
      chunks.push(chunk);
    }
    if (size === 0) return undefined;
    try {
      return JSON.parse(Buffer.concat(chunks, size).toString("utf8"));
    } catch {
      return Symbol.for("estelam.unparseable");
    }
  }

  return {
    kind: "http-json",
    endpoint,
    async call(request: ConnectorRequest, operation: HttpJsonOperation): Promise<ConnectorAnswer> {
      let statusCode: number;
      let body: unknown;
      try {
        const response = await pool.request({
          path: prefix + operation.path,
          method: operation.method,
          headers: {
            ...staticHeaders,
            "x-estelam-inquiry-id": request.inquiryId,
            "x-estelam-inquiry-type": request.inquiryType,
            "x-estelam-requester": request.requester,
            "x-estelam-purpose": request.purpose,
            "x-estelam-timeout-ms": String(Math.max(0, request.deadline - Date.now())),
          },
          body: JSON.stringify(request.params),
          signal: request.signal,
        });
        statusCode = response.statusCode;
        body = await readBody(response.body);
      } catch (error) {
        if (request.signal.aborted) throw abortError(request.signal, target.agency);
        if (error instanceof EstelamError) throw error;
        const code = (error as { code?: unknown }).code;
        const detail = typeof code === "string" ? code : (error as Error).message;
        throw new EstelamError("AGENCY_UNAVAILABLE", `agency '${target.agency}' is unreachable (${detail})`, {
          agency: target.agency,
          cause: error,
        });
      }

      if (statusCode >= 200 && statusCode < 300) {
        if (!isJsonObject(body)) {
          throw new EstelamError("AGENCY_BAD_RESPONSE", `agency '${target.agency}' answered HTTP ${statusCode} without a JSON object`, {
            agency: target.agency,
          });
        }
        return { answer: "found", result: body };
      }
      if (operation.notFoundStatuses.has(statusCode)) return { answer: "not_found", message: messageOf(body, "no record found") };
      if (operation.rejectedStatuses.has(statusCode))
        return { answer: "rejected", message: messageOf(body, "the agency declined the inquiry") };
      if (statusCode >= 500 || statusCode === 429 || statusCode === 408) {
        throw new EstelamError("AGENCY_UNAVAILABLE", `agency '${target.agency}' answered HTTP ${statusCode}`, { agency: target.agency });
      }
      throw new EstelamError("AGENCY_BAD_RESPONSE", `agency '${target.agency}' refused the request with HTTP ${statusCode}`, {
        agency: target.agency,
      });
    },
    async close() {
      await pool.close();
    },
  };
}
