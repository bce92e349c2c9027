// The control API, under /_control/ on the HTTP face: fault settings and stats per agency (whatever its
// protocol), the map of every face, the traps hostile answers set, and the demo CA. For tests and demos;
// see README.md. Control requests are not counted in any agency's stats.
import type { IncomingMessage, ServerResponse } from "node:http";
import { type FaultControl, parseFaultSpec } from "../faults.ts";
import type { TrapCounter } from "../hostile/traps.ts";
import type { StatsCounter } from "../stats.ts";
import { MAX_BODY_BYTES, readBody } from "./io.ts";
import { JSON_TYPE } from "./route.ts";

export interface ControlOptions {
  readonly faults: FaultControl;
  readonly stats: StatsCounter;
  readonly traps: TrapCounter;
  /** Every face's address and every agency's face (GET /_control/agencies). */
  describe(): unknown;
  /** PEM of the demo CA and of the client certificate with its key. */
  readonly tls: { readonly caCertificate: string; readonly clientPem: string };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": JSON_TYPE, "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendText(res: ServerResponse, type: string, text: string): void {
  res.writeHead(200, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    return undefined;
  }
}

function methodNotAllowed(res: ServerResponse, allowed: string): void {
  send(res, 405, { error: "method_not_allowed", message: `use ${allowed.replace(/, (?=[^,]*$)/, " or ")}` }, { allow: allowed });
}

export function createControl(options: ControlOptions): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const { faults, stats, traps } = options;
  return async (req, res, path) => {
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
        const parsed = parseFaultSpec(parseJson(raw));
        if (!parsed.ok) return send(res, 400, { error: "bad_request", message: parsed.problem });
        faults.set(parsed.spec);
        return send(res, 200, { faults: faults.settings() });
      }
      return methodNotAllowed(res, "GET, POST, DELETE");
    }
    if (path === "/_control/stats") {
      if (method === "GET") return send(res, 200, stats.snapshot());
      if (method === "DELETE") {
        stats.reset();
        return send(res, 200, stats.snapshot());
      }
      return methodNotAllowed(res, "GET, DELETE");
    }
    if (path === "/_control/agencies") {
      if (method === "GET") return send(res, 200, options.describe());
      return methodNotAllowed(res, "GET");
    }
    if (path === "/_control/traps") {
      if (method === "GET") return send(res, 200, traps.snapshot());
      if (method === "DELETE") {
        traps.reset();
        return send(res, 200, traps.snapshot());
      }
      return methodNotAllowed(res, "GET, DELETE");
    }
    if (path === "/_control/tls/ca.pem") return sendText(res, "application/x-pem-file", options.tls.caCertificate);
    if (path === "/_control/tls/client.pem") return sendText(res, "application/x-pem-file", options.tls.clientPem);
    const canary = /^\/_control\/xxe-canary\/([a-z]+)$/.exec(path);
    if (canary !== null) {
      traps.xxeFetched(canary[1] ?? "");
      // An empty document: valid as an external DTD and as an external entity's text.
      return sendText(res, "application/xml-dtd", "");
    }
    const landing = /^\/_control\/landing\/([a-z]+)(?:\/|$)/.exec(path);
    if (landing !== null) {
      traps.redirectFollowed(landing[1] ?? "");
      return send(res, 200, { landed: true, note: "a redirect led here; a careful client does not follow it" });
    }
    send(res, 404, { error: "no_such_endpoint" });
  };
}
