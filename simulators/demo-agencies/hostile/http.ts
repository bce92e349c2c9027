// Hostile answers over HTTP: what a broken, compromised or simply careless upstream sends back. Every
// one is generated as it is sent, with backpressure, so asking for a gigabyte costs the simulator a few
// kilobytes of memory; and every one stops as soon as the client goes away.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AgencyName } from "../agencies.ts";
import type { FaultSettings, HostileMode } from "../faults.ts";
import { type BodyFormat, JSON_TYPE } from "../http/route.ts";

/** Where traps lead: the XXE canary and the landing pages of redirects, each counting its visitors. */
export interface TrapUrls {
  /** An URL that counts fetches made by an XML parser resolving an external entity for `agency`. */
  canary(agency: AgencyName): string;
  /** Base URL of another server, on another host name and port ("elsewhere"). */
  readonly elsewhere: string;
  /** Base URL of this face. */
  readonly self: string;
}

export interface HostileContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly agency: AgencyName;
  readonly format: BodyFormat;
  readonly settings: FaultSettings;
  readonly traps: TrapUrls;
}

/** What became of a hostile answer: sent with a status (perhaps never finished), or never begun. */
export type HostileOutcome = { readonly status: number } | "hung";

const SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12 = "http://www.w3.org/2003/05/soap-envelope";
const CHUNK_BYTES = 64 * 1024;
const FILLER = Buffer.alloc(CHUNK_BYTES, "A");

function contentType(format: BodyFormat): string {
  if (format === "soap11") return "text/xml; charset=utf-8";
  if (format === "soap12") return "application/soap+xml; charset=utf-8";
  return JSON_TYPE;
}

function xmlType(format: BodyFormat): string {
  return format === "json" ? "application/xml; charset=utf-8" : contentType(format);
}

function envelopeOpen(format: BodyFormat): string {
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${format === "soap12" ? SOAP12 : SOAP11}"><soap:Body>`;
}

const ENVELOPE_CLOSE = "</soap:Body></soap:Envelope>";

/** Resolves once the response can take more, or false if the client has gone. */
function writeChunk(res: ServerResponse, chunk: string | Buffer): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onDrain = (): void => {
      res.off("close", onClose);
      resolve(true);
    };
    const onClose = (): void => {
      res.off("drain", onDrain);
      resolve(false);
    };
    res.once("drain", onDrain).once("close", onClose);
  });
}

/** Streams `prefix`, then whatever `next` yields until it returns undefined, then `suffix`. */
async function stream(res: ServerResponse, prefix: string, next: () => string | Buffer | undefined, suffix: string): Promise<void> {
  if (!(await writeChunk(res, prefix))) return;
  for (let chunk = next(); chunk !== undefined; chunk = next()) if (!(await writeChunk(res, chunk))) return;
  if (!res.destroyed) res.end(suffix);
}

/** A run of `count` copies of `unit`, in chunks of about 64 KiB. */
function repeated(unit: string, count: number): () => string | undefined {
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / unit.length));
  const full = unit.repeat(perChunk);
  let left = count;
  return () => {
    if (left <= 0) return undefined;
    const n = Math.min(left, perChunk);
    left -= n;
    return n === perChunk ? full : unit.repeat(n);
  };
}

/** `bytes` bytes of filler. */
function filler(bytes: number): () => Buffer | undefined {
  let left = bytes;
  return () => {
    if (left <= 0) return undefined;
    const n = Math.min(left, CHUNK_BYTES);
    left -= n;
    return n === CHUNK_BYTES ? FILLER : FILLER.subarray(0, n);
  };
}

function begin(res: ServerResponse, status: number, type: string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { "content-type": type, ...headers });
}

/** A body of exactly `bytes` bytes (unless that is shorter than the wrapping) in the agency's format, chunked. */
function hugeBody(ctx: HostileContext): Promise<void> {
  const bytes = ctx.settings.bytes ?? 1;
  const [prefix, suffix] =
    ctx.format === "json" ? ['{"data":"', '"}'] : [`${envelopeOpen(ctx.format)}<Padding>`, `</Padding>${ENVELOPE_CLOSE}`];
  const fill = Math.max(0, bytes - prefix.length - suffix.length);
  begin(ctx.res, 200, contentType(ctx.format));
  return stream(ctx.res, prefix, filler(fill), suffix);
}

/** Headers, the start of a body, then one byte every `intervalMs` for as long as the client listens. */
function trickle(ctx: HostileContext): void {
  const { res } = ctx;
  begin(res, 200, contentType(ctx.format));
  res.write(ctx.format === "json" ? '{"data":"' : `${envelopeOpen(ctx.format)}<Data>`);
  const timer = setInterval(() => {
    if (res.destroyed) clearInterval(timer);
    else res.write("A");
  }, ctx.settings.intervalMs ?? 1000);
  res.once("close", () => clearInterval(timer));
}

/** A status line and one header, then nothing: the headers never end. */
function stallHeaders(ctx: HostileContext): void {
  ctx.req.socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType(ctx.format)}\r\n`);
}

// The page a web application firewall in front of an agency shows instead of the agency's answer.
const FIREWALL_PAGE = `<!DOCTYPE html>
<html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>Request Rejected</title></head>
<body><h1>درخواست شما رد شد</h1>
<p>The requested URL was rejected. Please consult with your administrator.</p>
<p>Your support ID is: 9231847561203948571</p></body></html>
`;

function invalidJson(): string {
  // Cut off mid-answer, as when a proxy drops the end of a response.
  return '{"status":"SUCCESS","data":{"match":true,"first_name":"علی","last_name":"رض';
}

function invalidXml(format: BodyFormat): string {
  return `${envelopeOpen(format === "json" ? "soap11" : format)}<Response><Status>OK</Status><Name>علی</Response></soap:Body><x:Extra>&nbsp;</soap:Envelope>`;
}

function xmlBomb(format: BodyFormat): string {
  const entities = ['<!ENTITY lol "lol">'];
  for (let i = 1; i <= 9; i++) entities.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? "" : i - 1};`.repeat(10)}">`);
  const open = envelopeOpen(format === "json" ? "soap11" : format).replace('<?xml version="1.0" encoding="utf-8"?>', "");
  return `<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE soap:Envelope [\n${entities.join("\n")}\n]>\n${open}<Response><Name>&lol9;</Name></Response>${ENVELOPE_CLOSE}`;
}

function xxe(ctx: HostileContext): string {
  const canary = ctx.traps.canary(ctx.agency);
  const open = envelopeOpen(ctx.format === "json" ? "soap11" : ctx.format).replace('<?xml version="1.0" encoding="utf-8"?>', "");
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    "<!DOCTYPE soap:Envelope [",
    '<!ENTITY file SYSTEM "file:///etc/passwd">',
    `<!ENTITY canary SYSTEM "${canary}?entity=general">`,
    `<!ENTITY % remote SYSTEM "${canary}?entity=parameter">`,
    "%remote;",
    "]>",
    `${open}<Response><Name>&file;</Name><Note>&canary;</Note></Response>${ENVELOPE_CLOSE}`,
  ].join("\n");
}

function redirectLocation(ctx: HostileContext): string {
  const target = ctx.settings.redirectTo ?? "other-host";
  const path = ctx.req.url ?? "/";
  if (target === "other-host") return `${ctx.traps.elsewhere}/landing/${ctx.agency}${path}`;
  if (target === "same-host") return `/_control/landing/${ctx.agency}${path}`;
  if (target === "loop") return path;
  return target;
}

function sendText(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): HostileOutcome {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
  return { status };
}

/** Sends the hostile answer `mode` (any but `invalid-protobuf`, which belongs to gRPC). */
export function sendHostile(mode: HostileMode, ctx: HostileContext): HostileOutcome {
  const { res, format } = ctx;
  // A streaming answer that fails midway has no one left to tell: the client sees the connection end.
  const streaming = (run: Promise<void>): HostileOutcome => {
    run.catch(() => res.destroy());
    return { status: 200 };
  };
  switch (mode) {
    case "huge-body":
      return streaming(hugeBody(ctx));
    case "trickle":
      trickle(ctx);
      return { status: 200 };
    case "stall-headers":
      stallHeaders(ctx);
      return "hung";
    case "wrong-content-type":
      return sendText(res, 200, "text/html; charset=utf-8", FIREWALL_PAGE);
    case "invalid-json":
      return sendText(res, 200, JSON_TYPE, invalidJson());
    case "invalid-xml":
      return sendText(res, 200, xmlType(format), invalidXml(format));
    case "deep-json": {
      const depth = ctx.settings.depth ?? 1;
      begin(res, 200, JSON_TYPE);
      let opened = false;
      const opens = repeated("[", depth);
      const closes = repeated("]", depth);
      return streaming(
        stream(
          res,
          '{"data":',
          () => {
            if (!opened) {
              const chunk = opens();
              if (chunk !== undefined) return chunk;
              opened = true;
            }
            return closes();
          },
          "}",
        ),
      );
    }
    case "wide-json": {
      const keys = ctx.settings.keys ?? 1;
      let i = 0;
      const perChunk = 2000;
      begin(res, 200, JSON_TYPE);
      return streaming(
        stream(
          res,
          "{",
          () => {
            if (i >= keys) return undefined;
            const parts: string[] = [];
            for (const end = Math.min(keys, i + perChunk); i < end; i++) parts.push(`${i === 0 ? "" : ","}"k${i}":${i}`);
            return parts.join("");
          },
          "}",
        ),
      );
    }
    case "deep-xml": {
      const depth = ctx.settings.depth ?? 1;
      let opened = false;
      const opens = repeated("<a>", depth);
      const closes = repeated("</a>", depth);
      begin(res, 200, xmlType(format));
      return streaming(
        stream(
          res,
          `${envelopeOpen(format === "json" ? "soap11" : format)}<Response>`,
          () => {
            if (!opened) {
              const chunk = opens();
              if (chunk !== undefined) return chunk;
              opened = true;
            }
            return closes();
          },
          `</Response>${ENVELOPE_CLOSE}`,
        ),
      );
    }
    case "wide-xml": {
      const keys = ctx.settings.keys ?? 1;
      let i = 0;
      const perChunk = 2000;
      begin(res, 200, xmlType(format));
      return streaming(
        stream(
          res,
          `${envelopeOpen(format === "json" ? "soap11" : format)}<Response>`,
          () => {
            if (i >= keys) return undefined;
            const parts: string[] = [];
            for (const end = Math.min(keys, i + perChunk); i < end; i++) parts.push(`<Item>${i}</Item>`);
            return parts.join("");
          },
          `</Response>${ENVELOPE_CLOSE}`,
        ),
      );
    }
    case "xml-bomb":
      return sendText(res, 200, xmlType(format), xmlBomb(format));
    case "xxe":
      return sendText(res, 200, xmlType(format), xxe(ctx));
    case "redirect": {
      const status = ctx.settings.redirectStatus ?? 302;
      return sendText(res, status, "text/html; charset=utf-8", "<html><body>Moved</body></html>\n", { location: redirectLocation(ctx) });
    }
    case "invalid-protobuf":
      throw new Error("invalid-protobuf is a gRPC answer");
  }
}
