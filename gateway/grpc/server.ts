// The grpc-js server: binds the address, registers adapted services with the per-server hooks, and
// shuts down gracefully (in-flight calls may finish within the grace period, then the rest are cut).
import { createSecureContext } from "node:tls";
import { Server, ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import type { AdaptedService, AdapterOptions } from "./adapter.ts";
import { type Admit, type EdgeEvents, type EdgeGauges, type EdgeLimits, guardServer } from "./server-edge.ts";
import { type CallObserver, callMetricsInterceptor, observeRefusedCall, observeUnknownMethods } from "./server-metrics.ts";

export interface GrpcServerOptions {
  /** `host:port`; port 0 picks a free port, reported by start(). */
  readonly address: string;
  readonly services: readonly AdaptedService[];
  /** Called once per call that reached a handler, with what the handler threw (for the gateway's own logs). */
  readonly onCallEnd?: AdapterOptions["onCallEnd"];
  /** Sees every call the server gets, handlers or not (metrics). */
  readonly observer?: CallObserver;
  /** Limits of the edge (server-edge.ts and the per-connection settings below); safe defaults when absent. */
  readonly limits?: Partial<ServerLimits>;
  /** Checks the credential in a stream's headers before grpc-js builds a call. */
  readonly admit?: Admit;
  readonly edgeEvents?: EdgeEvents;
  /** TLS of the port (PEM contents); absent: plaintext. With `clientCa`, every connection must present a certificate it signed. */
  readonly tls?: ServerTls;
}

export interface ServerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa?: Buffer | undefined;
}

export interface ServerLimits extends EdgeLimits {
  /** Largest request message accepted; larger ones get RESOURCE_EXHAUSTED from grpc-js. */
  readonly maxMessageBytes: number;
  /** Streams one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxStreamsPerConnection: number;
  /** Memory (MiB) Node's HTTP/2 layer may use for one connection before its new streams are refused. */
  readonly sessionMemoryMiB: number;
  /** Time a connection may stay open with no call in progress before it is closed gracefully (GOAWAY). */
  readonly connectionIdleMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  admissionMs: 2000,
  sendTimeoutMs: 10_000,
  maxConnections: 1000,
  maxConnectionsPerAddress: 100,
  handshakeMs: 5000,
  maxInFlight: 4096,
  maxInFlightPerCaller: 1024,
  maxStrikesPerConnection: 100,
  shedMemoryPercent: 85,
  maxHeaderBytes: 16_384,
  maxMessageBytes: 1024 * 1024,
  maxStreamsPerConnection: 100,
  sessionMemoryMiB: 32,
  connectionIdleMs: 10 * 60_000,
};

export interface GrpcServer {
  start(): Promise<{ port: number }>;
  /** Stops accepting calls, waits up to graceMs for running ones, then cancels what is left. */
  shutdown(graceMs: number): Promise<void>;
  /** What the edge holds now, for gauges. */
  readonly edge: EdgeGauges;
  /**
   * Serves new connections with renewed TLS material (connections already open keep theirs). Throws, and
   * changes nothing, when the material does not make a TLS context (a key that does not match its
   * certificate, a damaged file) or the server has no TLS; whether client certificates are asked for stays
   * as it was at start.
   */
  renewTls(tls: ServerTls): void;
}

/** The grpc-js credentials of a TLS port. */
function sslCredentials(tls: ServerTls): ServerCredentials {
  return ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined);
}

const MiB = 1024 * 1024;

function serverOptions(options: GrpcServerOptions, limits: ServerLimits): ServerOptions {
  return {
    // Inquiries are small JSON-like envelopes; a cap keeps a hostile caller from ballooning memory.
    "grpc.max_receive_message_length": limits.maxMessageBytes,
    "grpc.max_send_message_length": 4 * MiB,
    // Pings find dead agency connections (NAT, firewalls between ministries) long before TCP does.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    // Idle connections are closed so a quiet client does not pin server resources forever.
    "grpc.max_connection_idle_ms": limits.connectionIdleMs,
    // Bound the streams one connection may open at once; one caller should not starve the rest.
    "grpc.max_concurrent_streams": limits.maxStreamsPerConnection,
    // grpc-js disables Node's per-connection memory cap by default; bound what one connection buffers.
    "grpc-node.max_session_memory": limits.sessionMemoryMiB,
    // Channelz keeps per-call traces in memory; the gateway exports its own metrics instead.
    "grpc.enable_channelz": 0,
    // Metrics first: grpc-js wraps interceptors in list order, so the first sees what the others send.
    interceptors: options.observer === undefined ? [] : [callMetricsInterceptor(options.observer)],
  };
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const server = new Server(serverOptions(options, limits));
  const edge = guardServer(server, {
    limits,
    ...(options.admit === undefined ? {} : { admit: options.admit }),
    events: {
      ...options.edgeEvents,
      onRefusedCall(path, type, code) {
        if (options.observer !== undefined) observeRefusedCall(options.observer, path, type, code);
      },
    },
  });
  if (options.observer !== undefined) observeUnknownMethods(server, options.observer);
  const adapterOptions: AdapterOptions = options.onCallEnd ? { onCallEnd: options.onCallEnd } : {};
  for (const service of options.services) {
    server.addService(service.definition, service.implement(adapterOptions));
  }

  const credentials = options.tls === undefined ? ServerCredentials.createInsecure() : sslCredentials(options.tls);
  return {
    edge,
    renewTls(tls) {
      if (options.tls === undefined) throw new Error("the gRPC port serves no TLS; TLS is chosen at start");
      if ((tls.clientCa === undefined) !== (options.tls.clientCa === undefined))
        throw new Error("whether client certificates are asked for is chosen at start");
      const renewed = sslCredentials(tls)._getSecureContextOptions();
      // Checked first: grpc-js drops every new connection while its context cannot be made.
      createSecureContext(renewed ?? undefined);
      // grpc-js's own path for renewed material: the servers of these credentials set it as their secure context.
      (credentials as unknown as { updateSecureContextOptions(o: typeof renewed): void }).updateSecureContextOptions(renewed);
    },
    start() {
      return new Promise((resolve, reject) => {
        server.bindAsync(options.address, credentials, (error, port) => {
          if (error) reject(error);
          else resolve({ port });
        });
      });
    },

    shutdown(graceMs) {
      edge.close();
      return new Promise((resolve) => {
        const force = setTimeout(() => {
          // Cutting the connections cancels the remaining calls, which aborts their handlers' signals.
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
