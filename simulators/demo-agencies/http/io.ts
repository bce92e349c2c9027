// Reading requests and writing answers on the HTTP faces.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Reply } from "./route.ts";

export const MAX_BODY_BYTES = 64 * 1024;

/** The request body, or `too_large` as soon as it passes MAX_BODY_BYTES; rejects if the client goes away. */
export function readBody(req: IncomingMessage): Promise<Buffer | "too_large"> {
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

export function sendReply(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(reply.status, { "content-type": reply.contentType, "content-length": Buffer.byteLength(reply.body), ...reply.headers });
  res.end(reply.body);
}

/** Waits `ms`, or less if the client goes away first; resolves whether the response is still wanted. */
export function delay(ms: number, res: ServerResponse): Promise<boolean> {
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
