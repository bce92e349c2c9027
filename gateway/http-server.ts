// The operations HTTP server: /metrics for Prometheus, /healthz (the process is alive) and /readyz (it
// can serve inquiries: a registry revision served, audit trail accepting records, not draining). A check may
// add a line of detail (e.g. the registry store is away and the last good revision is served) without
// changing readiness.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry as PromRegistry } from "prom-client";
import type { Readiness } from "./readiness.ts";

export interface OpsHttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly metrics: PromRegistry;
  readonly readiness: Readiness;
  /** Further pages (the status page): answers a path it serves, or undefined for a 404. */
  readonly pages?: (path: string) => Promise<PageAnswer> | undefined;
}

export interface PageAnswer {
  readonly status: number;
  readonly type: string;
  readonly body: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface OpsHttpServer {
  start(): Promise<{ port: number }>;
  close(): Promise<void>;
}

export function createOpsHttpServer(options: OpsHttpServerOptions): OpsHttpServer {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string | Buffer, headers: Readonly<Record<string, string>> = {}): void => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain; charset=utf-8", "method not allowed\n");
    switch (path) {
      case "/metrics":
        options.metrics.metrics().then(
          (text) => send(200, options.metrics.contentType, text),
          (error: unknown) => send(500, "text/plain; charset=utf-8", `metrics failed: ${(error as Error).message}\n`),
        );
        return;
      case "/healthz":
        return send(200, "application/json", `${JSON.stringify({ status: "alive" })}\n`);
      case "/readyz": {
        const { ready, checks, details } = options.readiness.evaluate();
        const body = { status: ready ? "ready" : "not_ready", checks, ...(Object.keys(details).length > 0 ? { details } : {}) };
        return send(ready ? 200 : 503, "application/json", `${JSON.stringify(body)}\n`);
      }
      default: {
        const page = options.pages?.(path ?? "/");
        if (page === undefined) return send(404, "text/plain; charset=utf-8", "not found: try /status, /metrics, /healthz or /readyz\n");
        page.then(
          (answer) => send(answer.status, answer.type, answer.body, answer.headers),
          (error: unknown) => send(500, "text/plain; charset=utf-8", `failed: ${(error as Error).message}\n`),
        );
        return;
      }
    }
  });
  server.keepAliveTimeout = 65_000;

  return {
    start: () =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        // exclusive: in a cluster worker, a port of its own rather than one shared through the primary.
        server.listen({ port: options.port, host: options.host, exclusive: true }, () => {
          server.off("error", reject);
          resolve({ port: (server.address() as AddressInfo).port });
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
