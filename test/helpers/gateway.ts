// Starts the real gateway in-process for integration tests: demo agencies on an ephemeral port, a registry
// of its own (an embedded database in a fresh folder, or a fresh schema on the test PostgreSQL server)
// seeded from the demo documents (optionally altered), the audit journal in that folder shipped to the test
// Kafka broker under a fresh topic,
// and logs captured in memory so tests can read every line.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { inject } from "vitest";
import type { ConnectorKinds } from "../../connectors/kinds.ts";
import { type RunningGateway, startGateway } from "../../gateway/app.ts";
import { resolveConfig } from "../../gateway/config.ts";
import { DEMO_API_KEY } from "../../gateway/demo-examples.ts";
import { createLogger } from "../../observability/logger.ts";
import { type RegistryDocument, readDocuments } from "../../registry/documents.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { createInquiryClient, type InquiryClient } from "./client.ts";
import { uniqueTopicName } from "./kafka.ts";
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from "./postgres.ts";

export const DEMO_REGISTRY = resolve(import.meta.dirname, "../../registry/catalogues/demo");
export const KEYS = {
  demoBank: DEMO_API_KEY,
  counterOffice: "counter-office-key-2b8e64d1a9c05f37",
  taxOffice: "tax-office-key-5c1d07e9b3a46f28",
  admin: "demo-admin-key-3e7c1a9f5b2d8046",
} as const;

/** The demo registry documents, read fresh (tests may alter them). */
export async function demoDocuments(): Promise<RegistryDocument[]> {
  const read = await readDocuments(DEMO_REGISTRY);
  if (read.problems.length > 0) throw new Error(`the demo documents have problems: ${JSON.stringify(read.problems)}`);
  return read.documents;
}

/** The content of the demo document `kind/name`, to alter in place. */
export function findDocument(
  documents: readonly RegistryDocument[],
  kind: string,
  name: string,
): Record<string, unknown> & { spec: Record<string, unknown> } {
  const found = documents.find((d) => d.content.kind === kind && (d.content.metadata as { name?: string } | undefined)?.name === name);
  if (found === undefined) throw new Error(`the demo documents have no ${kind}/${name}`);
  return found.content as Record<string, unknown> & { spec: Record<string, unknown> };
}

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
  /** The folder of the embedded database and other local files. */
  readonly dataDir: string;
  /** The audit journal's folder (`<data dir>/audit`). */
  readonly journalDir: string;
  /** The PostgreSQL schema, when the registry is on the test server. */
  readonly schema: string | undefined;
  /** Resolves once everything journaled so far has been acknowledged by Kafka. */
  shipped(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Edits the demo documents before they seed the gateway's registry. */
  readonly editDocuments?: (documents: RegistryDocument[]) => void;
  /** Connector kinds; defaults to the built-in ones. */
  readonly kinds?: ConnectorKinds;
  /** `pglite` (default: an embedded database in a fresh folder) or `postgres` (a fresh schema on the test server). */
  readonly database?: "pglite" | "postgres";
  /** With `postgres`: this schema (shared with another gateway, not dropped on close) instead of a fresh one. */
  readonly schema?: string;
  /** With `postgres`: the server's URL, e.g. through a proxy; default the test server. */
  readonly databaseUrl?: string;
  /** Extra settings (environment variables), e.g. ESTELAM_AUDIT_ACK_TIMEOUT_MS. */
  readonly env?: Readonly<Record<string, string>>;
  /** `kafka` (default: the journal shipped to the test broker) or `journal` (the journal alone). */
  readonly audit?: "kafka" | "journal";
  /** A topic created beforehand; by default a fresh one. */
  readonly topic?: string;
  /** The data folder of an earlier test gateway, to start again on its database and journal. */
  readonly dataDir?: string;
  /** Process metrics (CPU, memory, event loop) in /metrics; off by default, as they cost a timer. */
  readonly defaultMetrics?: boolean;
}

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "estelam-test-")));
  const documents = await demoDocuments();
  options.editDocuments?.(documents);
  const seed = join(dir, "seed.json");
  await writeFile(seed, JSON.stringify(documents.map((d) => d.content)));
  const schema = options.database === "postgres" ? (options.schema ?? uniqueSchema("gw")) : undefined;
  const ownSchema = options.database === "postgres" && options.schema === undefined;

  const agencies = await startDemoAgencies({ host: "127.0.0.1", port: 0 });
  const topic = options.topic ?? uniqueTopicName("audit");
  const env: Record<string, string> = {
    ESTELAM_GRPC_ADDRESS: "127.0.0.1:0",
    ESTELAM_HTTP_ADDRESS: "127.0.0.1:0",
    ESTELAM_DATA_DIR: dir,
    ESTELAM_REGISTRY_SEED: seed,
    ...(schema === undefined ? {} : { ESTELAM_DATABASE_URL: options.databaseUrl ?? TEST_DATABASE_URL, ESTELAM_DATABASE_SCHEMA: schema }),
    ESTELAM_AUDIT_KEY: "integration-test-audit-key-0123456789",
    ESTELAM_AUDIT_TOPIC: topic,
    ESTELAM_AUDIT_TOPIC_PARTITIONS: "1",
    ESTELAM_INSTANCE: "test-gateway",
    ESTELAM_SHUTDOWN_GRACE_MS: "2000",
    ...(options.audit === "journal" ? {} : { KAFKA_BROKERS: inject("kafkaBrokers") }),
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
      registryVars: { ...agencies.vars },
      kinds: options.kinds,
      defaultMetrics: options.defaultMetrics ?? false,
    });
  } catch (error) {
    await agencies.close();
    if (ownSchema && schema !== undefined) await dropSchema(schema);
    throw error;
  }
  const client = createInquiryClient(gateway.grpcAddress, KEYS.demoBank);
  return {
    gateway,
    agencies,
    client,
    topic,
    dataDir: dir,
    journalDir: config.audit.journalDir,
    schema,
    logs: { lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) },
    async shipped(timeoutMs = 20_000) {
      const shipper = gateway.shipper;
      if (shipper === undefined) throw new Error("this gateway ships nothing: its journal alone is the trail");
      const deadline = Date.now() + timeoutMs;
      while (shipper.backlog() > 0) {
        if (Date.now() > deadline) throw new Error(`${shipper.backlog()} audit records not shipped within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      client.close();
      await gateway.stop(1000);
      await agencies.close();
      if (ownSchema && schema !== undefined) await dropSchema(schema);
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
