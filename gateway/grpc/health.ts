// The standard grpc.health.v1.Health service (Check, List, Watch), so load balancers, Kubernetes probes
// and grpc-health-probe can ask whether the gateway serves. The overall status lives under service "".

import { Code } from "../../core/errors.ts";
import { Health, HealthCheckResponse_ServingStatus as Wire } from "../../gen/grpc/health/v1/health_pb.js";
import { type AdaptedService, adaptService } from "./adapter.ts";
import { ProtocolStatusError } from "./status.ts";

export type ServingStatus = "SERVING" | "NOT_SERVING";

export interface HealthServiceOptions {
  /** Initial statuses by service name; the overall status "" is SERVING unless given here. */
  readonly statuses?: Readonly<Record<string, ServingStatus>>;
  /** Brings the statuses up to date (through setStatus) before Check, List and Watch answer. */
  readonly refresh?: () => void;
}

export interface HealthService {
  /** The grpc.health.v1.Health service, for createGrpcServer. */
  readonly service: AdaptedService;
  setStatus(service: string, status: ServingStatus): void;
  getStatus(service: string): ServingStatus | undefined;
  /**
   * Marks every service NOT_SERVING, tells the watchers, then ends their Watch streams so that a
   * graceful shutdown is not held open by them. Later setStatus calls are ignored.
   */
  enterShutdown(): void;
}

interface Watcher {
  notify(): void;
  end(): void;
}

export function createHealthService(options: HealthServiceOptions = {}): HealthService {
  const statuses = new Map<string, ServingStatus>(Object.entries({ "": "SERVING", ...options.statuses }));
  const watchers = new Set<Watcher>();
  let shuttingDown = false;

  const wireStatus = (name: string): Wire => {
    const status = statuses.get(name);
    if (status === undefined) return Wire.SERVICE_UNKNOWN;
    return status === "SERVING" ? Wire.SERVING : Wire.NOT_SERVING;
  };

  const service = adaptService(Health, {
    async check(request) {
      options.refresh?.();
      if (!statuses.has(request.service)) {
        throw new ProtocolStatusError(Code.NOT_FOUND, `unknown service "${request.service}"`);
      }
      return { status: wireStatus(request.service) };
    },

    async list() {
      options.refresh?.();
      const all: Record<string, { status: Wire }> = {};
      for (const name of statuses.keys()) all[name] = { status: wireStatus(name) };
      return { statuses: all };
    },

    watch(request, context, send) {
      options.refresh?.();
      return new Promise<void>((resolve) => {
        // Per the protocol: the current status first, then one message per change, until cancelled.
        let last: Wire | undefined;
        const watcher: Watcher = {
          notify() {
            const now = wireStatus(request.service);
            if (now === last) return;
            last = now;
            send({ status: now });
          },
          end() {
            watchers.delete(watcher);
            context.signal.removeEventListener("abort", watcher.end);
            resolve();
          },
        };
        watcher.notify();
        if (context.signal.aborted) return watcher.end();
        watchers.add(watcher);
        context.signal.addEventListener("abort", watcher.end, { once: true });
      });
    },
  });

  const notifyAll = (): void => {
    for (const watcher of [...watchers]) watcher.notify();
  };

  return {
    service,
    setStatus(name, status) {
      if (shuttingDown || statuses.get(name) === status) return;
      statuses.set(name, status);
      notifyAll();
    },
    getStatus: (name) => statuses.get(name),
    enterShutdown() {
      shuttingDown = true;
      for (const name of statuses.keys()) statuses.set(name, "NOT_SERVING");
      notifyAll();
      for (const watcher of [...watchers]) watcher.end();
    },
  };
}
