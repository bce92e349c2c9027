// The gateway process. `npm start` runs it with --demo: the demo agencies start alongside it, an empty
// registry is seeded from the demo documents, which point at them, so inquiries are answered out of the box.
// With ESTELAM_WORKERS (or --workers) above 1 this process is the primary of several workers sharing the
// gRPC port (gateway/cluster.ts), and each worker runs this file again as a single gateway.
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { createLogger } from "../observability/logger.ts";
import { ReloadError } from "../registry/registry.ts";
import { type DemoAgencies, startDemoAgencies } from "../simulators/demo-agencies/server.ts";
import { type RunningGateway, startGateway } from "./app.ts";
import { type RunningPrimary, serveAsWorker, startPrimary } from "./cluster.ts";
import { ConfigError, type GatewayConfig, listenFailure, resolveConfig, usage } from "./config.ts";
import { demoBanner } from "./demo-banner.ts";

async function startDemo(config: GatewayConfig, vars: Record<string, string | undefined>): Promise<DemoAgencies | undefined> {
  if (!config.demo) return undefined;
  const agencies = await startDemoAgencies({ host: config.demoAgencies.host, port: config.demoAgencies.port }).catch((error: unknown) => {
    throw listenFailure("the demo agencies", config.demoAgencies, "ESTELAM_DEMO_AGENCIES_ADDRESS", error);
  });
  // DEMO_AGENCIES_URL (REST and SOAP), DEMO_GRPC_ADDRESS, the TLS faces: unless set, where they listen.
  for (const [name, value] of Object.entries(agencies.vars)) vars[name] ??= value;
  return agencies;
}

/** One gateway in this process: alone, or as one worker of a primary. */
async function runGateway(config: GatewayConfig): Promise<void> {
  const vars: Record<string, string | undefined> = { ...process.env };
  // A worker's demo agencies run in the primary, which passes where they listen in the environment.
  const agencies = cluster.isWorker ? undefined : await startDemo(config, vars);
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({ config, registryVars: vars });
  } catch (error) {
    await agencies?.close();
    throw error;
  }
  if (agencies !== undefined) process.stderr.write(demoBanner(gateway, agencies));
  if (!cluster.isWorker && config.workersFrom === "auto" && config.database.url === undefined && availableParallelism() > 1)
    gateway.logger.info(
      { cores: availableParallelism() },
      "one worker process: the embedded database is held by one process; with ESTELAM_DATABASE_URL (PostgreSQL) the gateway runs one worker per core",
    );

  let signals = 0;
  const stop = (why: string): void => {
    signals += 1;
    if (signals > 1) {
      // A worker is told to stop by its primary and, from a terminal, by the same Ctrl-C: the primary
      // kills it if it outlives the grace time.
      if (cluster.isWorker) return;
      process.stderr.write(`${why} again: exiting without waiting\n`);
      process.exit(1);
    }
    gateway.logger.info({ signal: why, grace_ms: config.shutdownGraceMs }, "shutting down");
    void (async () => {
      await gateway.stop();
      await agencies?.close();
      process.exit(0);
    })();
  };
  // SIGHUP re-reads the registry store at once (it is followed anyway: notifications and a periodic re-read),
  // then the gRPC port's TLS files (a renewed certificate serves new connections), then the files the revision
  // served names: endpoints whose certificates or keys were renewed reconnect.
  process.on("SIGHUP", () => {
    void (async () => {
      await gateway.registry.refresh();
      gateway.logger.info({ revision: gateway.registry.record().revision }, "registry store re-read on SIGHUP");
      try {
        const renewal = await gateway.reloadTls();
        if (renewal !== "off") gateway.logger.info(`gRPC port TLS files re-read on SIGHUP: ${renewal}`);
      } catch (error) {
        gateway.logger.error(`gRPC port TLS files not renewed on SIGHUP; the certificate served stays: ${(error as Error).message}`);
      }
      try {
        const { revision, renewed } = await gateway.registry.reload();
        gateway.logger.info({ revision, renewed }, `registry files re-read on SIGHUP; ${renewed.length} endpoint(s) reconnected`);
      } catch (error) {
        const problems = error instanceof ReloadError ? error.problems : undefined;
        gateway.logger.error({ problems }, (error as Error).message);
      }
    })();
  });
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  if (cluster.isWorker)
    serveAsWorker(
      { grpcPort: gateway.grpcPort, httpPort: gateway.httpPort },
      { metrics: gateway.metrics.registry, stop: () => stop("primary") },
    );
}

/** The primary of several workers: the demo agencies (if any), the workers, the operations port. */
async function runPrimary(config: GatewayConfig): Promise<void> {
  const logger = createLogger({ level: config.logLevel, instance: config.instance, flushMs: config.logFlushMs });
  const vars: Record<string, string | undefined> = {};
  const agencies = await startDemo(config, vars);
  let primary: RunningPrimary;
  try {
    primary = await startPrimary({
      config,
      logger,
      env: Object.fromEntries(Object.entries(vars).filter((e): e is [string, string] => e[1] !== undefined)),
      args: config.demo ? ["--demo"] : [],
    });
  } catch (error) {
    await agencies?.close();
    throw error;
  }
  if (agencies !== undefined)
    process.stderr.write(
      `\nEstelam is running in demo mode with ${config.workers} workers.\n  gRPC      ${primary.grpcAddress}\n  HTTP      ${primary.httpUrl}/status  /metrics  /healthz  /readyz\n  agencies  ${agencies.url}  ${agencies.grpcAddress}\nStop with Ctrl-C.\n\n`,
    );
  let signals = 0;
  const stop = (signal: string): void => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      for (const pid of primary.workerPids()) process.kill(pid, "SIGKILL");
      process.exit(1);
    }
    logger.info({ signal, grace_ms: config.shutdownGraceMs, workers: config.workers }, "shutting down");
    void (async () => {
      await primary.stop();
      await agencies?.close();
      process.exit(0);
    })();
  };
  // SIGHUP: every worker re-reads the registry store.
  process.on("SIGHUP", () => {
    for (const pid of primary.workerPids()) process.kill(pid, "SIGHUP");
  });
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(usage());
    return;
  }
  const config = resolveConfig(process.env, process.argv.slice(2));
  if (cluster.isPrimary && config.workers > 1) await runPrimary(config);
  else await runGateway(config);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`estelam: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`estelam: could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
