// The `http-json` connector: builds the agency's request from the operation's templates (method, path,
// query, headers, body), authenticates as the endpoint says (bearer, basic, API-key header, client
// certificate), and reads a JSON answer under the endpoint's limits. 2xx is an answer (or the business
// outcome its code states); 404 is "not found"; other 4xx a business rejection; 5xx, 408, 429, connection
// and TLS failures are agency faults that count against the endpoint's breaker, as are answers that are
// not JSON, too large, too deep, too wide, or redirects (never followed).
import type { IncomingHttpHeaders } from "node:http";
import type { JsonObject } from "@bufbuild/protobuf";
import { EstelamError } from "../../core/errors.ts";
import { AnswerLimitError, createJsonGuard } from "../answer-limits.ts";
import type { Connector, ConnectorAnswer, ConnectorRequest, ConnectorTarget } from "../connector.ts";
import { abortError } from "../deadline.ts";
import { type BodyPlan, createPool, exchange } from "../http-common.ts";
import { fillString, fillValue, isJsonObject, mapFields, messageFrom, pick, readOutcome } from "../mapping.ts";
import { connectionFailure } from "../network-errors.ts";
import type { HttpJsonEndpointOptions, HttpJsonOperation } from "./options.ts";

const UNPARSEABLE = Symbol("unparseable");
/** Error answers are read only this far for the agency's message. */
const MAX_ERROR_BODY = 64 * 1024;

export function createHttpJsonConnector(options: HttpJsonEndpointOptions, target: ConnectorTarget): Connector<HttpJsonOperation> {
  const endpoint = `${target.agency}/${target.endpoint}`;
  const agency = target.agency;
  const prefix = options.baseUrl.pathname.replace(/\/$/, "");
  const pool = createPool(options.baseUrl.origin, options);
  const authHeaders: Record<string, string> = {};
  const { auth } = options;
  if (auth.kind === "bearer") authHeaders.authorization = `Bearer ${auth.token}`;
  else if (auth.kind === "basic")
    authHeaders.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`, "utf8").toString("base64")}`;
  else if (auth.kind === "api-key") authHeaders[auth.header] = auth.value;
  const staticHeaders = { accept: "application/json", ...options.headers, ...authHeaders };

  const bad = (message: string): EstelamError => new EstelamError("AGENCY_BAD_RESPONSE", `agency '${agency}' ${message}`, { agency });

  /** An answer's JSON: undefined when the body is empty, UNPARSEABLE when it is not JSON. */
  function parseJson(bytes: Buffer): unknown {
    if (bytes.length === 0) return undefined;
    try {
      return JSON.parse(bytes.toString("utf8"));
    } catch {
      return UNPARSEABLE;
    }
  }

  /** Reads a 2xx answer if it says it is JSON, an error answer for its message; never a redirect. */
  function plan(statusCode: number, headers: IncomingHttpHeaders): BodyPlan {
    if (statusCode >= 200 && statusCode < 300) {
      const type = String(headers["content-type"] ?? "");
      if (!/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(type))
        return { refuse: bad(`answered HTTP ${statusCode} with content type '${type.slice(0, 100) || "none"}', not JSON`) };
      return { guard: createJsonGuard(options.limits) };
    }
    if (statusCode >= 300 && statusCode < 400)
      return { refuse: bad(`answered a redirect (HTTP ${statusCode}), which the gateway does not follow`) };
    return { guard: createJsonGuard({ ...options.limits, maxBytes: Math.min(MAX_ERROR_BODY, options.limits.maxBytes) }) };
  }

  function buildRequest(request: ConnectorRequest, operation: HttpJsonOperation) {
    const path = fillString(operation.path, request.params, encodeURIComponent);
    if (path === undefined)
      throw new EstelamError("INTERNAL", `the binding's path '${operation.path}' names a parameter the inquiry lacks`);
    const query = new URLSearchParams();
    for (const [name, template] of Object.entries(operation.query)) {
      const value = fillString(template, request.params);
      if (value !== undefined) query.append(name, value);
    }
    const headers: Record<string, string> = {
      ...staticHeaders,
      "x-estelam-inquiry-id": request.inquiryId,
      "x-estelam-inquiry-type": request.inquiryType,
      "x-estelam-requester": request.requester,
      "x-estelam-purpose": request.purpose,
      "x-estelam-timeout-ms": String(Math.max(0, request.deadline - Date.now())),
    };
    for (const [name, template] of Object.entries(operation.headers)) {
      const value = fillString(template, request.params);
      if (value !== undefined) headers[name] = value;
    }
    const hasBody = operation.method !== "GET" && operation.method !== "DELETE";
    let body: string | undefined;
    if (hasBody) {
      body = JSON.stringify(operation.body === undefined ? request.params : (fillValue(operation.body, request.params) ?? {}));
      headers["content-type"] = "application/json";
    }
    const search = query.toString();
    return { path: prefix + path + (search === "" ? "" : `?${search}`), method: operation.method, headers, body };
  }

  function found(answer: unknown, operation: HttpJsonOperation, statusCode: number): ConnectorAnswer {
    const result = pick(answer, operation.result);
    if (!isJsonObject(result)) {
      const where = operation.result === "" ? "" : ` at '${operation.result}'`;
      throw bad(`answered HTTP ${statusCode} without a JSON object${where}`);
    }
    const mapped: JsonObject = Object.keys(operation.fields).length === 0 ? result : mapFields(result, operation.fields);
    return { answer: "found", result: mapped };
  }

  return {
    kind: "http-json",
    endpoint,
    async call(request: ConnectorRequest, operation: HttpJsonOperation): Promise<ConnectorAnswer> {
      let statusCode = 0;
      let body: unknown;
      try {
        const response = await exchange(pool, { ...buildRequest(request, operation), signal: request.signal }, (status, headers) => {
          statusCode = status;
          return plan(status, headers);
        });
        body = parseJson(response.body);
      } catch (error) {
        if (request.signal.aborted) throw abortError(request.signal, agency);
        if (error instanceof AnswerLimitError) {
          // An error answer too large to read for its message is still the error its status says.
          if (statusCode < 200 || statusCode >= 300) body = undefined;
          else throw bad(error.message);
        } else if (error instanceof EstelamError) throw error;
        else throw connectionFailure(error, agency);
      }

      if (statusCode >= 200 && statusCode < 300) {
        if (body === UNPARSEABLE) throw bad(`answered HTTP ${statusCode} with invalid JSON`);
        if (operation.outcome !== undefined) {
          const { outcome, code, message } = readOutcome(operation.outcome, body);
          if (outcome === "not_found") return { answer: "not_found", message: message ?? "no record found" };
          if (outcome === "rejected") return { answer: "rejected", message: message ?? "the agency declined the inquiry" };
          if (outcome === "unknown") throw bad(`answered an unknown outcome code '${String(code).slice(0, 40)}'`);
        }
        return found(body, operation, statusCode);
      }
      const messageBody = body === UNPARSEABLE ? undefined : body;
      if (operation.notFoundStatuses.has(statusCode))
        return { answer: "not_found", message: messageFrom(messageBody, operation.messagePaths, "no record found") };
      if (statusCode >= 500 || statusCode === 429 || statusCode === 408) {
        throw new EstelamError("AGENCY_UNAVAILABLE", `agency '${agency}' answered HTTP ${statusCode}`, { agency });
      }
      const rejected =
        operation.rejectedStatuses === "other-4xx"
          ? statusCode >= 400 && statusCode < 500 && statusCode !== 401 && statusCode !== 407
          : operation.rejectedStatuses.has(statusCode);
      if (rejected)
        return { answer: "rejected", message: messageFrom(messageBody, operation.messagePaths, "the agency declined the inquiry") };
      if (statusCode === 401 || statusCode === 407) throw bad(`refused the gateway's credentials (HTTP ${statusCode})`);
      throw bad(`refused the request with HTTP ${statusCode}`);
    },
    async warm(signal: AbortSignal) {
      // Opens one connection (TCP and TLS) so the first inquiry does not pay for it; any answer will do.
      const response = await pool.dispatcher.request({ path: prefix.length === 0 ? "/" : prefix, method: "HEAD", signal });
      await response.body.dump();
    },
    async close() {
      await pool.close();
    },
  };
}
