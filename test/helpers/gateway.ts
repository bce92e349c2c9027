// Starts the real gateway in-process for integration tests: demo agencies on an ephemeral port, the demo
// catalogue (optionally altered), audit on the test Kafka broker under a fresh topic, and logs captured
// in memory so tests can read every line.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { inject } from "vitest";
import { type RunningGateway, startGateway } from "../../gateway/app.ts";
import { resolveConfig } from "../../gateway/config.ts";
import { DEMO_API_KEY } from "../../gateway/demo-examples.ts";
import { createLogger } from "../../observability/logger.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { createInquiryClient, type InquiryClient } from "./client.ts";
import { uniqueTopicName } from "./kafka.ts";

export const DEMO_CATALOGUE = resolve(import.meta.dirname, "../../registry/catalogues/demo.json");
export const KEYS = {
  demoBank: DEMO_API_KEY,
  counterOffice: "counter-office-key-2b8e64d1a9c05f37",
  taxOffice: "tax-office-key-5c1d07e9b3a46f28",
} as const;

export interface CapturedLogs {
  readonly lines: string[];
  parsed(): Array<Record<string, unknown>>;
}

export interface TestGateway {
  readonly gateway: RunningGateway;
  readonly agencies: DemoAgencies;
  readonly client: InquiryClient;
  readonly logs: CapturedLogs;
  /** The Kafka topic of this gateway's audit events (when audit goes to Kafka). */
  readonly topic: string;
  /** The catalogue file the gateway loaded (tests may rewrite it and reload). */
  readonly cataloguePath: string;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Edits the demo catalogue document before the gateway loads it. */
  readonly editCatalogue?: (catalogue: Record<string, unknown>) => void;
  /** Extra settings (environment variables), e.g. ESTELAM_AUDIT_ACK_TIMEOUT_MS. */
  readonly env?: Readonly<Record<string, string>>;
  /** `kafka` (default) or `file`. */
  readonly audit?: "kafka" | "file";
  /** A topic created beforehand; by default a fresh one. */
  readonly topic?: string;
  /** Process metrics (CPU, memory, event loop) in /metrics; off by default, as they cost a timer. */
  readonly defaultMetrics?: boolean;
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), "estelam-test-"));
  const catalogue = JSON.parse(await readFile(DEMO_CATALOGUE, "utf8")) as Record<string, unknown>;
  options.editCatalogue?.(catalogue);
  const cataloguePath = join(dir, "catalogue.json");
  await writeFile(cataloguePath, JSON.stringify(catalogue));

  const agencies = await startDemoAgencies({ host: "127.0.0.1", port: 0 });
  const topic = options.topic ?? uniqueTopicName("audit");
  const env: Record<string, string> = {
    ESTELAM_GRPC_ADDRESS: "127.0.0.1:0",
    ESTELAM_HTTP_ADDRESS: "127.0.0.1:0",
    ESTELAM_CATALOGUE: cataloguePath,
    ESTELAM_AUDIT_KEY: "integration-test-audit-key-0123456789",
    ESTELAM_AUDIT_TOPIC: topic,
    ESTELAM_AUDIT_TOPIC_PARTITIONS: "1",
    ESTELAM_AUDIT_FILE: join(dir, "audit.jsonl"),
    ESTELAM_INSTANCE: "test-gateway",
    ESTELAM_SHUTDOWN_GRACE_MS: "2000",
    ...(options.audit === "file" ? {} : { KAFKA_BROKERS: inject("kafkaBrokers") }),
    ...options.env,
  };
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(line);
      callback();
    },
  });
  const config = resolveConfig(env);
  const logger = createLogger({ level: "info", destination, instance: config.instance });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway({
      config,
      logger,
      catalogueVars: { ...agencies.vars },
      defaultMetrics: options.defaultMetrics ?? false,
    });
  } catch (error) {
    await agencies.close();
    throw error;
  }
  const client = createInquiryClient(gateway.grpcAddress, KEYS.demoBank);
  return {
    gateway,
    agencies,
    client,
    topic,
    cataloguePath,
    logs: { lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) },
    async close() {
      client.close();
      await gateway.stop(1000);
      await agencies.close();
    },
  };
}

/** Reads /metrics and returns the samples as `name{labels} value` entries. */
export async function scrapeMetrics(
  gateway: RunningGateway,
): Promise<Array<{ name: string; labels: Record<string, string>; value: number }>> {
  const text = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1] as string] = pair[2] as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}
