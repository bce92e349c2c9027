// The gateway process. `npm start` runs it with --demo: the demo agencies start alongside it, an empty
// registry is seeded from the demo documents, which point at them, so inquiries are answered out of the box.
import { type DemoAgencies, startDemoAgencies } from "../simulators/demo-agencies/server.ts";
import { type RunningGateway, startGateway } from "./app.ts";
import { ConfigError, listenFailure, resolveConfig, usage } from "./config.ts";
import { demoBanner } from "./demo-banner.ts";

async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(usage());
    return;
  }
  const config = resolveConfig(process.env, process.argv.slice(2));
  let agencies: DemoAgencies | undefined;
  let gateway: RunningGateway | undefined;
  const vars: Record<string, string | undefined> = { ...process.env };
  if (config.demo) {
    agencies = await startDemoAgencies({ host: config.demoAgencies.host, port: config.demoAgencies.port }).catch((error: unknown) => {
      throw listenFailure("the demo agencies", config.demoAgencies, "ESTELAM_DEMO_AGENCIES_ADDRESS", error);
    });
    // DEMO_AGENCIES_URL (REST and SOAP), DEMO_GRPC_ADDRESS, the TLS faces: unless set, where they listen.
    for (const [name, value] of Object.entries(agencies.vars)) vars[name] ??= value;
  }
  try {
    gateway = await startGateway({ config, registryVars: vars });
  } catch (error) {
    await agencies?.close();
    throw error;
  }
  if (config.demo && agencies !== undefined) process.stderr.write(demoBanner(gateway, agencies));

  let signals = 0;
  const stop = (signal: string): void => {
    signals += 1;
    if (signals > 1) {
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      process.exit(1);
    }
    gateway?.logger.info({ signal, grace_ms: config.shutdownGraceMs }, "shutting down");
    void (async () => {
      await gateway?.stop();
      await agencies?.close();
      process.exit(0);
    })();
  };
  // SIGHUP re-reads the registry store at once (it is followed anyway: notifications and a periodic re-read).
  process.on("SIGHUP", () => {
    const running = gateway;
    if (running === undefined) return;
    void running.registry
      .refresh()
      .then(() => running.logger.info({ revision: running.registry.record().revision }, "registry store re-read on SIGHUP"));
  });
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`estelam: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`estelam: could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
