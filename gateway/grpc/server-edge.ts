// The bounded edge of the gRPC server: what a caller may hold before the gateway does any work for it.
// grpc-js accepts every HTTP/2 stream and keeps it until the caller finishes its message, whether or not it
// carries a credential; a caller that opens streams and never finishes them can hold memory without limit.
// This guard sits in front of grpc-js's stream handler (as server-metrics.ts sits in front of its handler
// lookup) and, before grpc-js builds a call:
//   - sheds load: while the process is over its in-flight limit or its memory threshold, a new stream is
//     answered at once with RESOURCE_EXHAUSTED / OVERLOADED (a trailers-only response; nothing else runs);
//   - admits: a service that needs a credential gets one in the stream's headers, checked against the
//     registry, or the stream is answered UNAUTHENTICATED at once;
//   - bounds time: the request message must arrive whole (the caller half-closes a unary or server-streaming
//     call; a streaming call sends its first message) within `admissionMs`, or the stream is reset;
//   - counts connections, refusing (closing at once) those above `maxConnections` or, from one peer address,
//     above `maxConnectionsPerAddress`, and closes a connection that has not finished its TLS handshake and
//     HTTP/2 preface (the caller's SETTINGS) within `handshakeMs`, so sockets that connect and say nothing
//     cannot hold the process's connections.
// Per-connection limits (streams, header list size, message size, buffered memory) are HTTP/2 and grpc-js
// settings, applied in server.ts.
import {
  constants as http2,
  type IncomingHttpHeaders,
  type Http2Server as NodeHttp2Server,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { Socket } from "node:net";
import { getHeapStatistics } from "node:v8";
import type { Server } from "@grpc/grpc-js";
import { EstelamError } from "../../core/errors.ts";
import { encodeStatus, STATUS_DETAILS_KEY } from "../../core/status.ts";

export interface EdgeLimits {
  /** Time a stream has to deliver its request message, from its headers. */
  readonly admissionMs: number;
  /**
   * Time an answer may wait, unsent, for a caller that does not read it (its flow-control window stays
   * shut); then the stream is reset and the buffered answer freed.
   */
  readonly sendTimeoutMs: number;
  /** Open connections per process; further ones are closed at once. */
  readonly maxConnections: number;
  /** Open connections from one peer address; further ones from it are closed at once. */
  readonly maxConnectionsPerAddress: number;
  /**
   * Time a new connection has, from its TCP accept, to finish the TLS handshake (when TLS is on) and send
   * the HTTP/2 preface and SETTINGS; one that has not is closed and its place freed.
   */
  readonly handshakeMs: number;
  /** Admitted streams in flight per process; further ones get OVERLOADED. */
  readonly maxInFlight: number;
  /**
   * Streams one connection may have refused, reset by the edge, or reset itself before delivering its message;
   * then the connection is closed (GOAWAY). Bounds how much work one connection can make the edge do for nothing.
   */
  readonly maxStrikesPerConnection: number;
  /** Admitted streams in flight per caller (credential, or peer address for open services). */
  readonly maxInFlightPerCaller: number;
  /**
   * New streams get OVERLOADED, and streams still waiting for their message are reset, while the V8 heap in
   * use (live objects and garbage not yet collected) is above this share (percent) of its limit.
   */
  readonly shedMemoryPercent: number;
  /** Largest header list (uncompressed bytes) a stream may send; a larger one resets the stream. */
  readonly maxHeaderBytes: number;
}

/**
 * Who the stream's headers say is calling: the caller's name (e.g. its credential id) for per-caller limits,
 * undefined when the service needs no credential (the peer's address is used), or a refusal when the service
 * needs a credential and it is missing or unknown.
 */
export type Admit = (path: string, headers: IncomingHttpHeaders, stream: ServerHttp2Stream) => EstelamError | string | undefined;

export interface EdgeEvents {
  /**
   * A stream or connection was refused at the edge; `reason` is a catalogue reason, `admission_timeout`,
   * `shed_pending` (reset while memory ran short), `caller_reset` (reset by the caller before its message),
   * `send_timeout` (an answer the caller did not read in time),
   * `connection_strikes` (a connection closed for too many of these), `connection_limit`,
   * `address_connection_limit` or `handshake_timeout` (a connection that did not finish its TLS handshake and
   * HTTP/2 preface in time).
   */
  onRefused?(reason: string): void;
  /** A call was answered with a status at the edge; `type` is grpc-js's handler type, undefined for an unknown path. */
  onRefusedCall?(path: string, type: string | undefined, code: number): void;
  /** The shedding state changed. */
  onShedding?(shedding: boolean): void;
}

export interface EdgeGuardOptions {
  readonly limits: EdgeLimits;
  /** Bytes of JavaScript heap in use, sampled for shedding; default V8's own figure. */
  readonly heapUsed?: () => number;
  readonly admit?: Admit;
  readonly events?: EdgeEvents;
}

export interface EdgeGauges {
  connections(): number;
  inFlight(): number;
  shedding(): boolean;
}

export interface EdgeGuard extends EdgeGauges {
  close(): void;
}

type StreamHandler = (this: unknown, extra: unknown, stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
type HandlerLookup = (path: string) => { readonly type: string } | null | undefined;

interface ServerInternals {
  _streamHandler?: StreamHandler;
  _channelzHandler?: StreamHandler;
  _retrieveHandler?: HandlerLookup;
  createHttp2Server?: (this: unknown, credentials: unknown) => NodeHttp2Server;
}

/** How often memory is sampled for shedding decisions. */
const MEMORY_SAMPLE_MS = 100;
/** How often, once no call has been in flight for QUIET_TICKS samples. */
const IDLE_SAMPLE_MS = 1000;
const QUIET_TICKS = 10;

/** Calls `done` once the bytes seen hold one whole gRPC message (a 5-byte prefix and the length it announces). */
function firstMessageWatcher(done: () => void): (chunk: Buffer) => void {
  let seen = 0;
  let prefix = Buffer.alloc(0);
  let fired = false;
  return (chunk) => {
    if (fired) return;
    seen += chunk.length;
    if (prefix.length < 5) prefix = Buffer.concat([prefix, chunk.subarray(0, 5 - prefix.length)]);
    if (prefix.length === 5 && seen >= 5 + prefix.readUInt32BE(1)) {
      fired = true;
      done();
    }
  };
}

/** The headers of a trailers-only response carrying `error`'s status. */
function statusHeaders(error: EstelamError): OutgoingHttpHeaders {
  const status = encodeStatus(error);
  return {
    [http2.HTTP2_HEADER_STATUS]: 200,
    [http2.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc+proto",
    "grpc-status": String(status.code),
    "grpc-message": encodeURIComponent(status.message),
    [STATUS_DETAILS_KEY]: Buffer.from(status.details).toString("base64").replace(/=+$/, ""),
    ...status.trailers,
  };
}

/** Answers a stream with a gRPC status and no body (a trailers-only response), then forgets it. */
export function refuseStream(stream: ServerHttp2Stream, error: EstelamError | OutgoingHttpHeaders): void {
  if (stream.destroyed || stream.headersSent) return;
  try {
    stream.respond(error instanceof EstelamError ? statusHeaders(error) : error, { endStream: true });
  } catch {
    stream.destroy();
  }
}

/** Takes one off `key`'s count, forgetting the key at zero (so the map holds only those with something open). */
function countDown(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left === 0) counts.delete(key);
  else counts.set(key, left);
}

/**
 * Calls to services open to anyone (health, reflection: no credential, so counted per peer address) have a
 * budget of their own, apart from the one credentialed calls share: a health Watch stays open as long as its
 * caller likes, and without this a few addresses holding such streams would fill the process's calls in
 * flight and refuse every inquiry.
 */
export const OPEN_CALLS = { maxInFlight: 256, maxInFlightPerPeer: 16 } as const;

/**
 * Installs the guard on a grpc-js server before it binds. Throws when grpc-js no longer has the hooks it
 * relies on, so an upgrade that removes them is caught by the tests, not by an attacker.
 */
export function guardServer(server: Server, options: EdgeGuardOptions): EdgeGuard {
  const internals = server as unknown as ServerInternals;
  const { limits, admit, events = {} } = options;
  const heapUsed = options.heapUsed ?? (() => getHeapStatistics().used_heap_size);
  const original = internals._streamHandler;
  const createHttp2Server = internals.createHttp2Server;
  const lookup = internals._retrieveHandler;
  if (typeof original !== "function" || typeof createHttp2Server !== "function" || typeof lookup !== "function")
    throw new Error("this @grpc/grpc-js release lacks the server hooks the edge guard needs (_streamHandler, createHttp2Server)");

  let connections = 0;
  /** Open connections per peer address. */
  const perAddress = new Map<string, number>();
  /** Connections not yet greeted (TLS and HTTP/2 preface), by peer address and port: the timer that closes them. */
  const greeting = new Map<string, NodeJS.Timeout>();
  let inFlight = 0;
  let openInFlight = 0;
  let shedding = false;
  const perCaller = new Map<string, number>();
  /** Streams whose request message has not arrived yet, with their admission timers. */
  const pending = new Map<ServerHttp2Stream, NodeJS.Timeout>();
  const memoryLimit = (getHeapStatistics().heap_size_limit * limits.shedMemoryPercent) / 100;
  const sampleMemory = (): void => {
    const next = heapUsed() > memoryLimit;
    if (next === shedding) return;
    shedding = next;
    events.onShedding?.(next);
    // Memory runs short: the streams that have not delivered their message yet go first.
    if (shedding) for (const stream of pending.keys()) resetPending(stream, "shed_pending");
  };
  /** Admitted streams, and since when each has had answer bytes it could not send. */
  const admittedStreams = new Map<ServerHttp2Stream, number>();
  const sampleStalls = (): void => {
    const at = Date.now();
    for (const [stream, since] of admittedStreams) {
      if (stream.writableLength === 0) {
        if (since !== 0) admittedStreams.set(stream, 0);
      } else if (since === 0) admittedStreams.set(stream, at);
      else if (at - since >= limits.sendTimeoutMs) {
        admittedStreams.delete(stream);
        events.onRefused?.("send_timeout");
        strike(stream);
        stream.close(http2.NGHTTP2_CANCEL);
      }
    }
  };
  // While calls come in, memory and stalled sends are sampled every MEMORY_SAMPLE_MS. After a second with no
  // call in flight there is nothing to shed or to time out, and an idle gateway (connections open or not) is
  // woken only once a second (the shedding gauge still follows memory); the next call samples at once.
  let sampler: NodeJS.Timeout | undefined;
  let closed = false;
  let fast = false;
  let quietTicks = 0;
  const sampleEvery = (ms: number): void => {
    clearInterval(sampler);
    sampler = closed ? undefined : setInterval(sample, ms);
    sampler?.unref();
  };
  function sample(): void {
    sampleMemory();
    sampleStalls();
    if (!fast) return;
    if (inFlight > 0 || pending.size > 0 || admittedStreams.size > 0) quietTicks = 0;
    else if (++quietTicks >= QUIET_TICKS) {
      fast = false;
      sampleEvery(IDLE_SAMPLE_MS);
    }
  }
  const startSampling = (): void => {
    sampleMemory();
    fast = true;
    quietTicks = 0;
    sampleEvery(MEMORY_SAMPLE_MS);
  };
  sampleEvery(IDLE_SAMPLE_MS);

  function resetPending(stream: ServerHttp2Stream, why: string): void {
    const timer = pending.get(stream);
    if (timer === undefined) return;
    clearTimeout(timer);
    pending.delete(stream);
    events.onRefused?.(why);
    strike(stream);
    stream.close(http2.NGHTTP2_CANCEL);
  }
  const admitted = (stream: ServerHttp2Stream): void => {
    clearTimeout(pending.get(stream));
    pending.delete(stream);
  };

  const strikes = new WeakMap<ServerHttp2Session, number>();
  const strike = (stream: ServerHttp2Stream): void => {
    const session = stream.session as ServerHttp2Session | undefined;
    if (session === undefined || session.destroyed) return;
    const count = (strikes.get(session) ?? 0) + 1;
    strikes.set(session, count);
    if (count === limits.maxStrikesPerConnection) {
      events.onRefused?.("connection_strikes");
      session.goaway(http2.NGHTTP2_ENHANCE_YOUR_CALM);
      // The caller gets a moment to read the GOAWAY; then the connection goes, whatever it still holds.
      setTimeout(() => session.destroy(), 100).unref();
    }
  };
  const refuse = (stream: ServerHttp2Stream, path: string, error: EstelamError, headers?: OutgoingHttpHeaders): void => {
    events.onRefused?.(error.reason);
    events.onRefusedCall?.(path, lookup.call(server, path)?.type, error.code);
    // The gateway's own overload is no misbehaviour of the caller's: a caller retrying as told is not struck.
    if (error.reason !== "OVERLOADED") strike(stream);
    refuseStream(stream, headers ?? error);
  };
  // Load shedding must cost next to nothing: its answers are encoded once.
  const overloadedAnswer = (message: string): [EstelamError, OutgoingHttpHeaders] => {
    const error = new EstelamError("OVERLOADED", message, { retryAfterMs: 1000 });
    return [error, statusHeaders(error)];
  };
  const shortOfMemory = overloadedAnswer("the gateway is short of memory and sheds new calls");
  const processFull = overloadedAnswer(`the gateway already serves ${limits.maxInFlight} calls`);
  const callerFull = overloadedAnswer(`this caller already has ${limits.maxInFlightPerCaller} calls in flight`);
  const openFull = overloadedAnswer(`the gateway already serves ${OPEN_CALLS.maxInFlight} calls without a credential`);
  const peerOpenFull = overloadedAnswer(`this address already has ${OPEN_CALLS.maxInFlightPerPeer} calls without a credential in flight`);

  const guarded: StreamHandler = function guardedStreamHandler(this: unknown, extra, stream, headers) {
    stream.once("error", () => undefined);
    if (!fast) startSampling();
    const path = String(headers[http2.HTTP2_HEADER_PATH] ?? "");
    if (shedding) return refuse(stream, path, ...shortOfMemory);
    // A path nobody serves is answered UNIMPLEMENTED at once by grpc-js; only served ones are admitted.
    const kind = lookup.call(server, path)?.type;
    let caller = `peer ${stream.session?.socket?.remoteAddress ?? "unknown"}`;
    let open = false;
    if (kind !== undefined && admit !== undefined) {
      const admission = admit(path, headers, stream);
      if (admission instanceof EstelamError) return refuse(stream, path, admission);
      if (admission !== undefined) caller = admission;
      else open = true;
    }
    if (open) caller = `open ${caller}`;
    const held = perCaller.get(caller) ?? 0;
    if (open) {
      if (openInFlight >= OPEN_CALLS.maxInFlight) return refuse(stream, path, ...openFull);
      if (held >= OPEN_CALLS.maxInFlightPerPeer) return refuse(stream, path, ...peerOpenFull);
      openInFlight += 1;
    } else {
      if (inFlight >= limits.maxInFlight) return refuse(stream, path, ...processFull);
      if (held >= limits.maxInFlightPerCaller) return refuse(stream, path, ...callerFull);
      inFlight += 1;
    }
    perCaller.set(caller, held + 1);
    const timer = setTimeout(() => resetPending(stream, "admission_timeout"), limits.admissionMs);
    timer.unref();
    pending.set(stream, timer);
    admittedStreams.set(stream, 0);
    stream.once("close", () => {
      admittedStreams.delete(stream);
      // Reset by the caller before its message arrived (e.g. a rapid-reset flood).
      if (pending.has(stream)) {
        events.onRefused?.("caller_reset");
        strike(stream);
      }
      admitted(stream);
      if (open) openInFlight -= 1;
      else inFlight -= 1;
      countDown(perCaller, caller);
    });
    original.call(this, extra, stream, headers);
    // grpc-js has attached its own reader (and paused the stream) by now, so these listeners only watch.
    // A streaming request proves itself with its first message; any other with its whole message.
    if (kind === "clientStream" || kind === "bidi") {
      const frame = firstMessageWatcher(() => admitted(stream));
      stream.on("data", frame);
      stream.once("close", () => stream.off("data", frame));
    } else stream.once("end", () => admitted(stream));
  };
  internals._streamHandler = guarded;
  internals._channelzHandler = guarded;

  internals.createHttp2Server = function guardedCreateHttp2Server(this: unknown, credentials: unknown) {
    const http2Server = createHttp2Server.call(this, credentials);
    http2Server.updateSettings({ maxHeaderListSize: limits.maxHeaderBytes });
    http2Server.prependListener("connection", (socket: Socket) => {
      if (connections >= limits.maxConnections) {
        events.onRefused?.("connection_limit");
        socket.destroy();
        return;
      }
      const address = socket.remoteAddress ?? "";
      const fromAddress = perAddress.get(address) ?? 0;
      if (fromAddress >= limits.maxConnectionsPerAddress) {
        events.onRefused?.("address_connection_limit");
        socket.destroy();
        return;
      }
      perAddress.set(address, fromAddress + 1);
      connections += 1;
      // Until the caller has greeted (TLS done, HTTP/2 SETTINGS received) the connection is on a clock. The
      // session's socket is a TLS wrapper when TLS is on, so the two are matched by the peer's address and port.
      const peer = `${socket.remoteAddress}:${socket.remotePort}`;
      const timer = setTimeout(() => {
        events.onRefused?.("handshake_timeout");
        socket.destroy();
      }, limits.handshakeMs);
      timer.unref();
      greeting.set(peer, timer);
      socket.once("close", () => {
        connections -= 1;
        countDown(perAddress, address);
        clearTimeout(timer);
        if (greeting.get(peer) === timer) greeting.delete(peer);
      });
    });
    http2Server.on("session", (session: ServerHttp2Session) => {
      const peer = `${session.socket.remoteAddress}:${session.socket.remotePort}`;
      session.once("remoteSettings", () => {
        clearTimeout(greeting.get(peer));
        greeting.delete(peer);
      });
    });
    return http2Server;
  };

  return {
    connections: () => connections,
    inFlight: () => inFlight + openInFlight,
    shedding: () => shedding,
    close() {
      closed = true;
      clearInterval(sampler);
      sampler = undefined;
    },
  };
}
