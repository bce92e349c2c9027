// The HTTP face: one request listener for every agency reached over HTTP (REST and SOAP), shared by the
// plain HTTP server and the TLS servers. It finds the route, counts the call, applies the agency's
// faults (latency, errors, outages, hostile answers) and only then lets the agency answer, the way an
// agency's infrastructure fails before its application sees the request.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultControl } from "../faults.ts";
import { sendHostile, type TrapUrls } from "../hostile/http.ts";
import type { StatsCounter } from "../stats.ts";
import { delay, readBody, sendReply } from "./io.ts";
import type { HttpRoute, Reply } from "./route.ts";

export interface HttpFaceOptions {
  readonly routes: readonly HttpRoute[];
  readonly faults: FaultControl;
  readonly stats: StatsCounter;
  /** Known once every server listens. */
  readonly trapUrls: () => TrapUrls;
  /** Serves `/_control/...`. */
  readonly control: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

interface Match {
  readonly route: HttpRoute;
  readonly params: Readonly<Record<string, string>>;
}

function originOf(req: IncomingMessage): string {
  const encrypted = "encrypted" in req.socket && req.socket.encrypted === true;
  return `${encrypted ? "https" : "http"}://${req.headers.host ?? "localhost"}`;
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function findRoute(routes: readonly HttpRoute[], path: string): Match | undefined {
  for (const route of routes) {
    if (typeof route.path === "string") {
      if (route.path === path) return { route, params: {} };
      continue;
    }
    const match = route.path.exec(path);
    if (match !== null) return { route, params: Object.fromEntries(Object.entries(match.groups ?? {}).map(([k, v]) => [k, decode(v)])) };
  }
  return undefined;
}

const NO_SUCH_ENDPOINT = '{"error":"no_such_endpoint"}';

export function createHttpFace(options: HttpFaceOptions): RequestListener {
  const { routes, faults, stats } = options;

  function answer(res: ServerResponse, match: Match, reply: Reply): void {
    const { agency } = match.route;
    if (res.destroyed) {
      stats.abandoned(agency);
      return;
    }
    stats.answered(agency, reply.status);
    sendReply(res, reply);
  }

  function respond(req: IncomingMessage, res: ServerResponse, match: Match, url: URL, body: Buffer): void {
    const { route } = match;
    if ("delegate" in route) {
      res.once("close", () => {
        if (res.writableFinished) stats.answered(route.agency, res.statusCode);
        else stats.abandoned(route.agency);
      });
      route.delegate(req, res, body);
      return;
    }
    answer(
      res,
      match,
      route.handle({ method: req.method ?? "GET", origin: originOf(req), url, params: match.params, headers: req.headers, body }),
    );
  }

  async function onAgencyRequest(req: IncomingMessage, res: ServerResponse, match: Match, url: URL): Promise<void> {
    const { route } = match;
    const { agency, style } = route;
    if (route.passThrough?.(req, url) === true) {
      if ("delegate" in route) route.delegate(req, res, undefined);
      else
        sendReply(
          res,
          route.handle({
            method: req.method ?? "GET",
            origin: originOf(req),
            url,
            params: match.params,
            headers: req.headers,
            body: Buffer.alloc(0),
          }),
        );
      return;
    }
    stats.received(agency);
    if (!route.methods.includes(req.method ?? "")) {
      req.resume();
      answer(res, match, style.methodNotAllowed(route.methods));
      return;
    }
    let raw: Buffer | "too_large";
    try {
      raw = await readBody(req);
    } catch {
      stats.abandoned(agency);
      return;
    }
    if (raw === "too_large") {
      answer(res, match, style.tooLarge(64 * 1024));
      return;
    }
    const decision = faults.next(agency);
    if (!(await delay(decision.latencyMs, res))) {
      stats.abandoned(agency);
      return;
    }
    switch (decision.action) {
      case "down":
        stats.dropped(agency);
        req.socket.destroy();
        return;
      case "hang":
        stats.hung(agency);
        return;
      case "error":
        answer(res, match, style.unavailable(decision.settings.errorStatus ?? 503));
        return;
      case "answer":
        respond(req, res, match, url, raw);
        return;
      default: {
        const outcome = sendHostile(decision.action, {
          req,
          res,
          agency,
          format: style.format,
          settings: decision.settings,
          traps: options.trapUrls(),
        });
        if (outcome === "hung") stats.hung(agency);
        else stats.answered(agency, outcome.status);
      }
    }
  }

  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const match = findRoute(routes, url.pathname);
    let handling: Promise<void>;
    if (match !== undefined) handling = onAgencyRequest(req, res, match, url);
    else if (url.pathname.startsWith("/_control/")) handling = options.control(req, res, url.pathname);
    else {
      req.resume();
      res.writeHead(404, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(NO_SUCH_ENDPOINT) });
      res.end(NO_SUCH_ENDPOINT);
      return;
    }
    handling.catch(() => {
      // Only a client that went away mid-request gets here; there is no one left to answer.
      res.destroy();
    });
  };
}
