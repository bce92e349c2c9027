// Several worker processes behind one gRPC port (node:cluster). The primary forks ESTELAM_WORKERS workers,
// each a whole gateway (gateway/app.ts) with its own audit journal and hash chain, and owns the operations
// HTTP port: /metrics adds up every worker's metrics (prom-client's AggregatorRegistry), /readyz asks every
// worker, the status page is served by one of them. The primary accepts gRPC connections and hands each to a
// worker in turn (cluster's round-robin: gRPC connections are long-lived, so that costs per connection, not
// per call). A worker that dies is replaced; SIGTERM/SIGINT drain every worker, then the primary exits.
//
// Shared state needs no help from the primary: the registry, quotas and the scoreboard live in the
// PostgreSQL database every worker follows (which is why more than one worker needs ESTELAM_DATABASE_URL).
import cluster, { type Worker } from "node:cluster";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from "prom-client";
import type { Logger } from "../observability/logger.ts";
import { type GatewayConfig, listenFailure } from "./config.ts";

/** What a worker is told: its settings beyond the primary's (instance, journal folder, a private ops port). */
export function workerEnv(config: GatewayConfig, index: number): Record<string, string> {
  return {
    ESTELAM_WORKERS: "1",
    ESTELAM_INSTANCE: `${config.instance}-w${index}`,
    ESTELAM_AUDIT_JOURNAL_DIR: join(config.audit.journalDir, `worker-${index}`),
    // Each worker's own /metrics, /readyz and status page, on a port of its own (the primary asks them).
    ESTELAM_HTTP_ADDRESS: "127.0.0.1:0",
  };
}

// ---------------------------------------------------------------------------------------------------------
// Messages between the primary and its workers

type Aggregator = "sum" | "first" | "min" | "max" | "average" | "omit";

interface ReadyMessage {
  readonly type: "estelam:ready";
  readonly grpcPort: number;
  readonly httpPort: number;
}
interface MetricsRequest {
  readonly type: "estelam:metrics";
  readonly id: number;
}
interface MetricsAnswer {
  readonly type: "estelam:metrics";
  readonly id: number;
  readonly metrics: MetricObjectWithValues<MetricValue<string>>[];
}
interface StopMessage {
  readonly type: "estelam:stop";
}

function isMessage<T extends { type: string }>(message: unknown, type: T["type"]): message is T {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === type;
}

/**
 * Gauges that every worker reports alike (the scoreboard merges every instance's counts from the database)
 * or that say a state rather than an amount: summed over workers they would lie. Counters, histograms and
 * amounts (calls in flight, journal bytes, CPU, memory) are summed, prom-client's default.
 */
export const WORKER_AGGREGATORS: Readonly<Record<string, Aggregator>> = {
  estelam_registry_revision: "min",
  estelam_registry_stale_seconds: "max",
  estelam_breaker_state: "max",
  estelam_edge_shedding: "max",
  estelam_scoreboard_instances: "max",
  estelam_inquiry_type_status: "max",
  estelam_inquiry_type_latency_objective_seconds: "max",
  estelam_inquiry_type_success_objective_ratio: "max",
  estelam_inquiry_type_error_burn_rate: "max",
  estelam_inquiry_type_latency_burn_rate: "max",
  estelam_agency_share_online_ratio: "max",
  estelam_agency_inquiry_types: "max",
  estelam_agency_inquiry_types_online: "max",
  estelam_agencies_by_share_online: "max",
};

/** One exposition of several processes' metrics (each `getMetricsAsJSON()`), aggregated per WORKER_AGGREGATORS. */
export async function aggregateMetrics(perProcess: readonly MetricObjectWithValues<MetricValue<string>>[][]): Promise<string> {
  const adjusted = perProcess.map((metrics) =>
    metrics.map((metric) => {
      const aggregator = WORKER_AGGREGATORS[metric.name];
      return aggregator === undefined ? metric : { ...metric, aggregator };
    }),
  );
  return AggregatorRegistry.aggregate(adjusted as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
}

// ---------------------------------------------------------------------------------------------------------
// The worker's side

export interface WorkerHooks {
  /** The worker's own metrics, for the primary's /metrics. */
  readonly metrics: Registry;
  /** Called once when the primary asks the worker to stop (or goes away). */
  readonly stop: () => void;
}

/** In a worker: tells the primary it serves, answers its questions, stops when told or when the primary is gone. */
export function serveAsWorker(ready: { grpcPort: number; httpPort: number }, hooks: WorkerHooks): void {
  process.on("message", (message: unknown) => {
    if (isMessage<MetricsRequest>(message, "estelam:metrics")) {
      void hooks.metrics.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: "estelam:metrics", id: message.id, metrics } satisfies MetricsAnswer),
        () => process.send?.({ type: "estelam:metrics", id: message.id, metrics: [] } satisfies MetricsAnswer),
      );
    } else if (isMessage<StopMessage>(message, "estelam:stop")) hooks.stop();
  });
  process.on("disconnect", () => hooks.stop());
  process.send?.({ type: "estelam:ready", ...ready } satisfies ReadyMessage);
}

// ---------------------------------------------------------------------------------------------------------
// The primary's side

export interface PrimaryOptions {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  /** Extra environment for every worker (e.g. where the demo agencies listen). */
  readonly env?: Readonly<Record<string, string>>;
  /** Worker arguments (e.g. `--demo`). */
  readonly args?: readonly string[];
  /** The worker's program; defaults to gateway/main.ts. */
  readonly exec?: string;
}

export interface RunningPrimary {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly grpcAddress: string;
  readonly httpUrl: string;
  /** Process ids of the workers serving now. */
  workerPids(): number[];
  /** Tells every worker to drain (each waits up to the grace time), kills those that outlive it, closes the ops port. */
  stop(): Promise<void>;
}

interface WorkerState {
  readonly index: number;
  readonly worker: Worker;
  readonly started: number;
  ready: ReadyMessage | undefined;
}

const WORKER_ANSWER_MS = 3000;
const FIRST_RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that lived this long before dying is restarted at once, not after a growing delay. */
const STABLE_AFTER_MS = 30_000;

/**
 * Node.js flags for the workers: the primary's own, and a V8 thread pool (the garbage collector's helper
 * threads; Node's default is four) of at most each worker's share of the cores, at least one, unless the
 * operator chose a pool size (`--v8-pool-size` in the primary's flags or in NODE_OPTIONS). With a worker per
 * core, four helpers each make several times as many threads as cores, and a scavenge waits for its slowest
 * helper: on two vCPUs, one helper per worker halved the p99 at 1000 inquiries/s (docs/benchmarks.md).
 */
export function workerExecArgv(execArgv: readonly string[], nodeOptions: string | undefined, workers: number, cores: number): string[] {
  const chosen = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((flag) => flag.startsWith("--v8-pool-size"));
  if (chosen) return [...execArgv];
  return [...execArgv, `--v8-pool-size=${Math.max(1, Math.floor(cores / Math.max(1, workers)))}`];
}

export async function startPrimary(options: PrimaryOptions): Promise<RunningPrimary> {
  const { config, logger } = options;
  const count = config.workers;
  cluster.setupPrimary({
    exec: options.exec ?? join(import.meta.dirname, "main.ts"),
    args: [...(options.args ?? [])],
    execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS, count, availableParallelism()),
  });

  const own = new Registry();
  collectDefaultMetrics({ register: own, eventLoopMonitoringPrecision: 100 });
  const workersGauge = new Gauge({
    name: "estelam_workers",
    help: "Worker processes serving the gRPC port (ESTELAM_WORKERS), and how many are configured.",
    labelNames: ["state"],
    registers: [own],
    collect() {
      this.set({ state: "serving" }, serving().length);
      this.set({ state: "configured" }, count);
    },
  });
  void workersGauge;
  const restarts = new Counter({
    name: "estelam_worker_restarts_total",
    help: "Workers that died and were replaced.",
    registers: [own],
  });

  const states = new Map<number, WorkerState>();
  const delays = new Map<number, number>();
  let stopping = false;
  let started = false;
  const serving = (): WorkerState[] => [...states.values()].filter((s) => s.ready !== undefined && s.worker.isConnected());
  const readyWaiters = new Map<number, { resolve: (m: ReadyMessage) => void; reject: (e: Error) => void }>();

  const fork = (index: number): Promise<ReadyMessage> => {
    const worker = cluster.fork({ ...options.env, ...workerEnv(config, index) });
    const state: WorkerState = { index, worker, started: Date.now(), ready: undefined };
    states.set(worker.id, state);
    return new Promise((resolve, reject) => readyWaiters.set(worker.id, { resolve, reject }));
  };

  let nextAnswer = 0;
  const answers = new Map<number, (metrics: MetricObjectWithValues<MetricValue<string>>[]) => void>();
  cluster.on("message", (worker, message: unknown) => {
    const state = states.get(worker.id);
    if (state === undefined) return;
    if (isMessage<ReadyMessage>(message, "estelam:ready")) {
      state.ready = message;
      logger.info({ worker: state.index, pid: worker.process.pid, ops_port: message.httpPort }, "worker serving");
      readyWaiters.get(worker.id)?.resolve(message);
      readyWaiters.delete(worker.id);
    } else if (isMessage<MetricsAnswer>(message, "estelam:metrics")) {
      answers.get(message.id)?.(message.metrics);
    }
  });
  cluster.on("exit", (worker, code, signal) => {
    const state = states.get(worker.id);
    states.delete(worker.id);
    const waiter = readyWaiters.get(worker.id);
    readyWaiters.delete(worker.id);
    if (state === undefined) return;
    const how = signal ?? `exit code ${code}`;
    if (waiter !== undefined) {
      waiter.reject(new Error(`worker ${state.index} exited (${how}) before it served`));
      if (!started) return;
    }
    if (stopping) return;
    restarts.inc();
    const lived = Date.now() - state.started;
    const delay =
      lived >= STABLE_AFTER_MS ? 0 : Math.min(MAX_RESTART_DELAY_MS, (delays.get(state.index) ?? FIRST_RESTART_DELAY_MS / 2) * 2);
    delays.set(state.index, delay);
    logger.error({ worker: state.index, pid: worker.process.pid, exit: how, restart_in_ms: delay }, "worker died; starting another");
    setTimeout(() => {
      if (stopping) return;
      fork(state.index).catch((error: unknown) =>
        logger.error({ worker: state.index, err: { message: (error as Error).message } }, "worker could not start"),
      );
    }, delay).unref();
  });

  const killAll = (): void => {
    for (const state of states.values()) state.worker.process.kill("SIGKILL");
  };

  // The first worker alone prepares the database (migrations, the seed revision); the others then join.
  let first: ReadyMessage;
  try {
    first = await fork(1);
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => fork(i + 2)));
  } catch (error) {
    stopping = true;
    killAll();
    throw error;
  }
  started = true;

  const workerMetrics = (): Promise<MetricObjectWithValues<MetricValue<string>>[][]> =>
    Promise.all(
      serving().map(
        (state) =>
          new Promise<MetricObjectWithValues<MetricValue<string>>[]>((resolve) => {
            const id = nextAnswer++;
            const timer = setTimeout(() => {
              answers.delete(id);
              resolve([]);
            }, WORKER_ANSWER_MS);
            answers.set(id, (metrics) => {
              clearTimeout(timer);
              answers.delete(id);
              resolve(metrics);
            });
            state.worker.send({ type: "estelam:metrics", id } satisfies MetricsRequest);
          }),
      ),
    );

  const workerReadiness = (state: WorkerState): Promise<{ status: number; body: Record<string, unknown> }> =>
    new Promise((resolve) => {
      const req = request({ host: "127.0.0.1", port: state.ready?.httpPort, path: "/readyz", timeout: WORKER_ANSWER_MS }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => {
          let body: Record<string, unknown> = {};
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // An unreadable answer counts as not ready.
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on("timeout", () => req.destroy(new Error("no answer")));
      req.on("error", (error) => resolve({ status: 0, body: { status: "not_ready", error: error.message } }));
      req.end();
    });

  let turn = 0;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain; charset=utf-8", "method not allowed\n");
    if (path === "/metrics") {
      void (async () => {
        try {
          const perWorker = await workerMetrics();
          send(200, own.contentType, await aggregateMetrics([await own.getMetricsAsJSON(), ...perWorker]));
        } catch (error) {
          send(500, "text/plain; charset=utf-8", `metrics failed: ${(error as Error).message}\n`);
        }
      })();
      return;
    }
    if (path === "/healthz") return send(200, "application/json", `${JSON.stringify({ status: "alive", workers: serving().length })}\n`);
    if (path === "/readyz") {
      void (async () => {
        const live = serving().sort((a, b) => a.index - b.index);
        const answers = await Promise.all(live.map(workerReadiness));
        const ready = live.length > 0 && answers.every((a) => a.status === 200);
        const checks: Record<string, string> = { workers: live.length > 0 ? "ready" : "not_ready" };
        const details: Record<string, string> = { workers: `${live.length} of ${count} workers serving` };
        for (const answer of answers) {
          for (const [name, value] of Object.entries((answer.body.checks ?? {}) as Record<string, string>))
            if (checks[name] !== "not_ready") checks[name] = value;
          for (const [name, value] of Object.entries((answer.body.details ?? {}) as Record<string, string>)) details[name] ??= value;
        }
        const workers = live.map((state, i) => ({ worker: state.index, pid: state.worker.process.pid, ...answers[i]?.body }));
        send(
          ready ? 200 : 503,
          "application/json",
          `${JSON.stringify({ status: ready ? "ready" : "not_ready", checks, details, workers })}\n`,
        );
      })();
      return;
    }
    // The status page and its data: every worker computes the same merged scoreboard; ask one in turn.
    const live = serving();
    const target = live[turn++ % Math.max(1, live.length)];
    if (target === undefined) return send(503, "text/plain; charset=utf-8", "no worker is serving\n");
    const upstream = request(
      { host: "127.0.0.1", port: target.ready?.httpPort, path: req.url, method: req.method, headers: req.headers, timeout: 10_000 },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("timeout", () => upstream.destroy(new Error("no answer")));
    upstream.on("error", () => {
      if (!res.headersSent) send(502, "text/plain; charset=utf-8", "the worker did not answer\n");
      else res.destroy();
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 65_000;
  let httpPort: number;
  try {
    httpPort = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.http.port, config.http.host, () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  } catch (error) {
    stopping = true;
    killAll();
    throw listenFailure("the operations HTTP server (/metrics, /readyz)", config.http, "ESTELAM_HTTP_ADDRESS", error);
  }
  logger.info(
    {
      workers: count,
      grpc: `${config.grpc.host}:${first.grpcPort}`,
      http: `${config.http.host}:${httpPort}`,
      pids: serving().map((s) => s.worker.process.pid),
    },
    "gateway started",
  );

  let stopped: Promise<void> | undefined;
  return {
    grpcPort: first.grpcPort,
    httpPort,
    grpcAddress: `${config.grpc.host}:${first.grpcPort}`,
    httpUrl: `http://${config.http.host}:${httpPort}`,
    workerPids: () => serving().map((s) => s.worker.process.pid ?? 0),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const exits = [...states.values()].map(
          (state) =>
            new Promise<void>((resolve) => {
              if (state.worker.isDead()) return resolve();
              state.worker.once("exit", () => resolve());
              if (state.worker.isConnected()) state.worker.send({ type: "estelam:stop" } satisfies StopMessage);
              else state.worker.process.kill("SIGTERM");
            }),
        );
        const timer = setTimeout(killAll, config.shutdownGraceMs + 10_000);
        await Promise.all(exits);
        clearTimeout(timer);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        logger.info("gateway stopped");
      })();
      return stopped;
    },
  };
}
