// Finds a Kafka broker for the integration tests, once per run, and hands its address to every test file
// (`inject("kafkaBrokers")`, and KAFKA_BROKERS in the environment). In order:
//   1. KAFKA_BROKERS when set (it must answer);
//   2. the development broker of scripts/kafka.sh when it already runs (the fast path);
//   3. a Kafka container (KRaft) when a Docker engine answers;
//   4. scripts/kafka.sh start (Java + Maven; fetches the jars on first use).
// Teardown stops only what this setup started. Without a broker the run fails, it never skips.
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import "../observability/audit/kafkajs-idle-timer.ts";
import kafkajs from "kafkajs";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  interface ProvidedContext {
    /** Comma-separated `host:port` list of the broker the tests use. */
    kafkaBrokers: string;
  }
}

const { Kafka, logLevel } = kafkajs;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const KAFKA_IMAGE = process.env.KAFKA_TEST_IMAGE ?? "confluentinc/cp-kafka:7.9.0";

/** Resolves true once a broker at `brokers` describes its cluster, false when `timeoutMs` passes first. */
async function answers(brokers: string, timeoutMs: number): Promise<boolean> {
  const kafka = new Kafka({
    clientId: "estelam-test-setup",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  const deadline = Date.now() + timeoutMs;
  do {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0) return true;
    } catch {
      // not yet
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  } while (Date.now() < deadline);
  return false;
}

function kafkaScript(command: "start" | "stop"): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("bash", [join(root, "scripts/kafka.sh"), command], { cwd: root, timeout: 600_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`scripts/kafka.sh ${command} failed (${error.code ?? error.signal ?? "error"}):\n${stderr.trim()}`));
      else resolve(stdout);
    });
  });
}

async function dockerAnswers(timeoutMs: number): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const found = getContainerRuntimeClient().then(
      () => true,
      () => false,
    );
    return await Promise.race([found, timeout]).finally(() => clearTimeout(timer));
  } catch {
    return false;
  }
}

function noKafka(detail: string): Error {
  const how =
    "Start the development broker with `npm run kafka -- start` (needs Java 17+ and Maven) and run again, " +
    "or set KAFKA_BROKERS=host:port to a broker you have, or make a Docker engine available.";
  const prefix =
    process.env.CI === "true" ? "CI: the integration tests need a Kafka broker and none could be had" : "No Kafka broker for the tests";
  return new Error(`${prefix}: ${detail}\n${how}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let teardown = async (): Promise<void> => {};
  let brokers: string;

  const given = process.env.KAFKA_BROKERS;
  const devBroker = `127.0.0.1:${process.env.KAFKA_PORT ?? "19092"}`;
  if (given !== undefined && given.trim() !== "") {
    brokers = given.trim();
    if (!(await answers(brokers, 10_000))) throw noKafka(`KAFKA_BROKERS=${brokers} does not answer`);
  } else if (await answers(devBroker, 1500)) {
    brokers = devBroker;
  } else if (await dockerAnswers(5000)) {
    const { KafkaContainer } = await import("@testcontainers/kafka");
    const container = await new KafkaContainer(KAFKA_IMAGE).withKraft().start();
    brokers = `${container.getHost()}:${container.getMappedPort(9093)}`;
    teardown = async () => {
      await container.stop();
    };
  } else {
    let output: string;
    try {
      output = await kafkaScript("start");
    } catch (error) {
      throw noKafka((error as Error).message);
    }
    const line = output.split("\n").find((l) => l.startsWith("KAFKA_BROKERS="));
    if (line === undefined) throw noKafka(`scripts/kafka.sh start printed no KAFKA_BROKERS line:\n${output}`);
    brokers = line.slice("KAFKA_BROKERS=".length).trim();
    // The script reports a broker that was already running; that one is left alone.
    if (output.split("\n").includes("KAFKA_STARTED=yes")) {
      teardown = async () => {
        await kafkaScript("stop");
      };
    }
  }

  process.env.KAFKA_BROKERS = brokers;
  project.provide("kafkaBrokers", brokers);
  return teardown;
}
