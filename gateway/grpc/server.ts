// The grpc-js server: binds the address, registers adapted services with the per-server hooks, and
// shuts down gracefully (in-flight calls may finish within the grace period, then the rest are cut).
import { Server, ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import type { AdaptedService, AdapterOptions } from "./adapter.ts";
import { type CallObserver, callMetricsInterceptor, observeUnknownMethods } from "./server-metrics.ts";

export interface GrpcServerOptions {
  /** `host:port`; port 0 picks a free port, reported by start(). */
  readonly address: string;
  readonly services: readonly AdaptedService[];
  /** Called once per call that reached a handler, with what the handler threw (for the gateway's own logs). */
  readonly onCallEnd?: AdapterOptions["onCallEnd"];
  /** Sees every call the server gets, handlers or not (metrics). */
  readonly observer?: CallObserver;
  /** Largest request message accepted; larger ones get RESOURCE_EXHAUSTED from grpc-js. Default 1 MiB. */
  readonly maxReceiveMessageBytes?: number;
}

export interface GrpcServer {
  start(): Promise<{ port: number }>;
  /** Stops accepting calls, waits up to graceMs for running ones, then cancels what is left. */
  shutdown(graceMs: number): Promise<void>;
}

const MiB = 1024 * 1024;

function serverOptions(options: GrpcServerOptions): ServerOptions {
  return {
    // Inquiries are small JSON-like envelopes; a cap keeps a hostile caller from ballooning memory.
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? MiB,
    "grpc.max_send_message_length": 4 * MiB,
    // Pings find dead agency connections (NAT, firewalls between ministries) long before TCP does.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    // Idle connections are closed so a quiet client does not pin server resources forever.
    "grpc.max_connection_idle_ms": 10 * 60_000,
    // Bound the streams one connection may open at once; one caller should not starve the rest.
    "grpc.max_concurrent_streams": 1000,
    // Metrics first: grpc-js wraps interceptors in list order, so the first sees what the others send.
    interceptors: options.observer === undefined ? [] : [callMetricsInterceptor(options.observer)],
  };
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const server = new Server(serverOptions(options));
  if (options.observer !== undefined) observeUnknownMethods(server, options.observer);
  const adapterOptions: AdapterOptions = options.onCallEnd ? { onCallEnd: options.onCallEnd } : {};
  for (const service of options.services) {
    server.addService(service.definition, service.implement(adapterOptions));
  }

  return {
    start() {
      return new Promise((resolve, reject) => {
        // Plaintext for now; TLS (and mutual TLS between agencies) replaces these credentials later.
        server.bindAsync(options.address, ServerCredentials.createInsecure(), (error, port) => {
          if (error) reject(error);
          else resolve({ port });
        });
      });
    },

    shutdown(graceMs) {
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
