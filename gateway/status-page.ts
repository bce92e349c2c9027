// The status page on the operations HTTP port: `/status` (the page, Persian by default, `?lang=en` for
// English), its static files under `/status/static/` (no build step: plain HTML, CSS and a script that draws
// its charts as inline SVG), and `/status/scoreboard.json`, the OperatorService scoreboard as the proto's
// JSON, which the page fetches every few seconds. No credentials: the operations port belongs on the
// operators' network.
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import type { Scoreboard } from "../observability/scoreboard/scoreboard.ts";
import type { PageAnswer } from "./http-server.ts";
import { scoreboardJson } from "./operator-service.ts";

const FOLDER = join(import.meta.dirname, "status-page");
const FILES = new Map([
  ["/status", "index.html"],
  ["/status/", "index.html"],
  ["/status/static/status.js", "status.js"],
  ["/status/static/status.css", "status.css"],
]);
const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

export interface StatusPagesOptions {
  readonly scoreboard: Scoreboard;
}

export function createStatusPages(options: StatusPagesOptions): (path: string) => Promise<PageAnswer> | undefined {
  return (path) => {
    if (path === "/status/scoreboard.json") {
      return options.scoreboard.view().then(
        (view) => ({ status: 200, type: "application/json", body: `${JSON.stringify(scoreboardJson(view))}\n` }),
        (error: unknown) => ({
          status: 503,
          type: "application/json",
          body: `${JSON.stringify({ error: `the scoreboard cannot be read: ${(error as Error).message}` })}\n`,
        }),
      );
    }
    const file = FILES.get(path);
    if (file === undefined) return undefined;
    return readFile(join(FOLDER, file)).then((body) => ({
      status: 200,
      type: TYPES[extname(file)] ?? "application/octet-stream",
      body,
      headers: {
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'self'; style-src 'self'; img-src 'self' data:",
      },
    }));
  };
}
