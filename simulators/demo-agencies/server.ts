// A real HTTP/JSON server playing four agencies (NOCR, Iran Post, CBI, and the CRA's mobile-number registry,
// which the demo registry does not list: it is the agency the README registers at run time) for
// `npm start`, the tests and the benchmarks. It speaks exactly what the `http-json` connector expects: a JSON object POSTed to a path,
// 200 with a JSON object for an answer, 404 for "no record", 422 for a business refusal, 400 for input the
// agency cannot read, 5xx for its own trouble. It never logs: requests carry personal identifiers.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type IdentifierParser,
  parseIban,
  parseJalaliDate,
  parseMobile,
  parseNationalCode,
  parsePostalCode,
} from "../../core/identifiers.ts";
import { accountByIban, addressByPostalCode, mobileOfPerson, personByNationalCode } from "./data.ts";
import { AGENCIES, type AgencyName, createFaultControl, type FaultControl, parseFaultSpec } from "./faults.ts";

export interface DemoAgenciesOptions {
  /** Interface to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** Port; 0 (the default) picks a free one. */
  readonly port?: number;
}

export interface AgencyStats {
  /** Requests that reached one of the agency's paths. */
  readonly received: number;
  /** Answers sent, by HTTP status (`{"200": 41, "404": 2}`). */
  readonly answered: Readonly<Record<string, number>>;
  /** Connections destroyed without an answer (mode `down`). */
  readonly dropped: number;
  /** Requests left unanswered (mode `hang`). */
  readonly hung: number;
  /** Requests whose client went away before the answer was due (e.g. during injected latency). */
  readonly abandoned: number;
}

export type DemoStats = Readonly<Record<AgencyName, AgencyStats>>;

export interface DemoAgencies {
  /** Base URL, e.g. `http://127.0.0.1:8090` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly faults: FaultControl;
  stats(): DemoStats;
  resetStats(): void;
  /** Stops listening and drops every open connection, hanging requests included. */
  close(): Promise<void>;
}

type Reply = { readonly status: number; readonly body: Record<string, unknown>; readonly headers?: Readonly<Record<string, string>> };

const MAX_BODY_BYTES = 64 * 1024;
// Longer than clients' idle timeouts (the http-json connector's default is 30 s), so that the client, not
// the server, closes an idle connection: a server-side close can race a request being sent on it.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

const JSON_TYPE = "application/json; charset=utf-8";

function badRequest(message: string): Reply {
  return { status: 400, body: { error: "bad_request", message } };
}

function notFound(message: string): Reply {
  return { status: 404, body: { error: "not_found", message } };
}

/** Reads a required identifier field; the reason names the field, never its value. */
function field(
  body: Record<string, unknown>,
  name: string,
  parse: IdentifierParser,
): { ok: true; value: string } | { ok: false; reply: Reply } {
  const raw = body[name];
  if (raw === undefined || raw === null || raw === "") return { ok: false, reply: badRequest(`${name} is required`) };
  if (typeof raw !== "string") return { ok: false, reply: badRequest(`${name} must be a string`) };
  const parsed = parse(raw);
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, reply: badRequest(`${name} ${parsed.problem}`) };
}

function identityMatch(body: Record<string, unknown>): Reply {
  const code = field(body, "national_code", parseNationalCode);
  if (!code.ok) return code.reply;
  const birthDate = field(body, "birth_date", parseJalaliDate);
  if (!birthDate.ok) return birthDate.reply;
  const person = personByNationalCode(code.value);
  if (person === undefined) return notFound("no person is registered under this national code");
  return {
    status: 200,
    body: {
      match: person.birthDate === birthDate.value,
      first_name: person.firstName,
      last_name: person.lastName,
      father_name: person.fatherName,
      alive: person.alive,
    },
  };
}

function addressByPostcode(body: Record<string, unknown>): Reply {
  const code = field(body, "postal_code", parsePostalCode);
  if (!code.ok) return code.reply;
  const address = addressByPostalCode(code.value);
  if (address === undefined) return notFound("no address is registered under this postal code");
  return { status: 200, body: { ...address } };
}

function ibanOwner(body: Record<string, unknown>): Reply {
  const iban = field(body, "iban", parseIban);
  if (!iban.ok) return iban.reply;
  const lookup = accountByIban(iban.value);
  switch (lookup.kind) {
    case "unknown_bank":
      return notFound("no bank is registered under this IBAN's bank code");
    case "not_disclosed":
      return {
        status: 422,
        body: { error: "rejected", message: `owners of accounts at ${lookup.bank.englishName} are not disclosed through this inquiry` },
      };
    case "found":
      return {
        status: 200,
        body: {
          bank: lookup.account.bank.name,
          bank_code: lookup.account.bank.code,
          owner_name: lookup.account.ownerName,
          account_status: lookup.account.status,
        },
      };
  }
}

function shahkar(body: Record<string, unknown>): Reply {
  const code = field(body, "national_code", parseNationalCode);
  if (!code.ok) return code.reply;
  const mobile = field(body, "mobile", parseMobile);
  if (!mobile.ok) return mobile.reply;
  if (personByNationalCode(code.value) === undefined) return notFound("no person is registered under this national code");
  // Shahkar answers yes or no, never whose number it is.
  return { status: 200, body: { match: mobileOfPerson(code.value) === mobile.value } };
}

const ROUTES: ReadonlyMap<string, { readonly agency: AgencyName; readonly handle: (body: Record<string, unknown>) => Reply }> = new Map([
  ["/nocr/identity-match", { agency: "nocr", handle: identityMatch }],
  ["/post/address-by-postcode", { agency: "post", handle: addressByPostcode }],
  ["/cbi/iban-owner", { agency: "cbi", handle: ibanOwner }],
  ["/cra/shahkar", { agency: "cra", handle: shahkar }],
]);

/** The request body, or `too_large` as soon as it passes MAX_BODY_BYTES; rejects if the client goes away. */
function readBody(req: IncomingMessage): Promise<Buffer | "too_large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        cleanUp();
        resolve("too_large");
      } else chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanUp();
      resolve(Buffer.concat(chunks, size));
    };
    const onGone = (): void => {
      cleanUp();
      reject(new Error("the client went away while sending the request"));
    };
    const cleanUp = (): void => {
      req.off("data", onData).off("end", onEnd).off("error", onGone).off("close", onGone);
    };
    req.on("data", onData).on("end", onEnd).on("error", onGone).on("close", onGone);
  });
}

function parseJsonObject(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": JSON_TYPE, "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Waits `ms`, or less if the client goes away first; resolves whether the response is still wanted. */
function delay(ms: number, res: ServerResponse): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!res.destroyed);
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off("close", onClose);
      resolve(!res.destroyed);
    }, ms);
    res.once("close", onClose);
  });
}

type MutableStats = { received: number; answered: Record<string, number>; dropped: number; hung: number; abandoned: number };

function emptyStats(): Record<AgencyName, MutableStats> {
  return Object.fromEntries(AGENCIES.map((a) => [a, { received: 0, answered: {}, dropped: 0, hung: 0, abandoned: 0 }])) as Record<
    AgencyName,
    MutableStats
  >;
}

export async function startDemoAgencies(options: DemoAgenciesOptions = {}): Promise<DemoAgencies> {
  const host = options.host ?? "127.0.0.1";
  const faults = createFaultControl();
  let counters = emptyStats();

  function answer(res: ServerResponse, agency: AgencyName, reply: Reply): void {
    if (res.destroyed) {
      counters[agency].abandoned++;
      return;
    }
    const answered = counters[agency].answered;
    answered[reply.status] = (answered[reply.status] ?? 0) + 1;
    send(res, reply.status, reply.body, reply.headers);
  }

  function snapshot(): DemoStats {
    return Object.fromEntries(AGENCIES.map((a) => [a, { ...counters[a], answered: { ...counters[a].answered } }])) as Record<
      AgencyName,
      AgencyStats
    >;
  }

  async function onAgencyRequest(
    req: IncomingMessage,
    res: ServerResponse,
    agency: AgencyName,
    handle: (body: Record<string, unknown>) => Reply,
  ): Promise<void> {
    counters[agency].received++;
    if (req.method !== "POST") {
      req.resume();
      answer(res, agency, { status: 405, body: { error: "method_not_allowed", message: "use POST" }, headers: { allow: "POST" } });
      return;
    }
    let raw: Buffer | "too_large";
    try {
      raw = await readBody(req);
    } catch {
      counters[agency].abandoned++;
      return;
    }
    if (raw === "too_large") {
      const message = `the body must be at most ${MAX_BODY_BYTES} bytes`;
      answer(res, agency, { status: 413, body: { error: "bad_request", message }, headers: { connection: "close" } });
      return;
    }
    // Faults model the agency's infrastructure, so they act before the agency looks at the request.
    const decision = faults.next(agency);
    if (!(await delay(decision.latencyMs, res))) {
      counters[agency].abandoned++;
      return;
    }
    switch (decision.action) {
      case "down":
        counters[agency].dropped++;
        req.socket.destroy();
        return;
      case "hang":
        counters[agency].hung++;
        return;
      case "error":
        answer(res, agency, { status: 503, body: { error: "unavailable", message: "the agency's service is temporarily unavailable" } });
        return;
      case "answer": {
        const body = parseJsonObject(raw);
        answer(res, agency, body === undefined ? badRequest("the body must be a JSON object") : handle(body));
        return;
      }
    }
  }

  async function onControlRequest(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const raw = await readBody(req);
    if (raw === "too_large")
      return send(res, 413, { error: "bad_request", message: `the body must be at most ${MAX_BODY_BYTES} bytes` }, { connection: "close" });
    const method = req.method ?? "GET";
    if (path === "/_control/faults") {
      if (method === "GET") return send(res, 200, { faults: faults.settings() });
      if (method === "DELETE") {
        faults.reset();
        return send(res, 200, { faults: faults.settings() });
      }
      if (method === "POST") {
        const parsed = parseFaultSpec(parseJsonObject(raw));
        if (!parsed.ok) return send(res, 400, { error: "bad_request", message: parsed.problem });
        faults.set(parsed.spec);
        return send(res, 200, { faults: faults.settings() });
      }
      return send(res, 405, { error: "method_not_allowed", message: "use GET, POST or DELETE" }, { allow: "GET, POST, DELETE" });
    }
    if (path === "/_control/stats") {
      if (method === "GET") return send(res, 200, snapshot());
      if (method === "DELETE") {
        counters = emptyStats();
        return send(res, 200, snapshot());
      }
      return send(res, 405, { error: "method_not_allowed", message: "use GET or DELETE" }, { allow: "GET, DELETE" });
    }
    send(res, 404, { error: "no_such_endpoint" });
  }

  const server = createServer({ keepAlive: true, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const route = ROUTES.get(path);
    let handling: Promise<void>;
    if (route !== undefined) handling = onAgencyRequest(req, res, route.agency, route.handle);
    else if (path.startsWith("/_control/")) handling = onControlRequest(req, res, path);
    else {
      req.resume();
      send(res, 404, { error: "no_such_endpoint" });
      return;
    }
    handling.catch(() => {
      // Only a client that went away mid-request gets here; there is no one left to answer.
      res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    faults,
    stats: snapshot,
    resetStats() {
      counters = emptyStats();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
