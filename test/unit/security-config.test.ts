// The edge's settings: safe defaults with no certificates (as `npm start` runs), TLS settings that only make
// sense together, and limits that refuse nonsense.
import { describe, expect, it } from "vitest";
import { ConfigError, resolveConfig } from "../../gateway/config.ts";

function problems(env: Record<string, string>): readonly string[] {
  try {
    resolveConfig(env, ["--demo"]);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe("edge and TLS settings", () => {
  it("default to plaintext with API keys and bounded limits, as npm start runs", () => {
    const config = resolveConfig({}, ["--demo"]);
    expect(config.tls).toBeUndefined();
    expect(config.apiKeys).toBe(true);
    expect(config.edge).toEqual({
      admissionMs: 2000,
      sendTimeoutMs: 10_000,
      maxConnections: 1000,
      maxConnectionsPerAddress: 100,
      handshakeMs: 5000,
      connectionIdleMs: 600_000,
      maxInFlight: 4096,
      maxInFlightPerCaller: 1024,
      maxStrikesPerConnection: 100,
      maxStreamsPerConnection: 100,
      maxHeaderBytes: 16384,
      maxMessageBytes: 1048576,
      sessionMemoryMiB: 32,
      shedMemoryPercent: 85,
    });
  });

  it("resolve TLS files relative to the working folder", () => {
    const config = resolveConfig(
      { ESTELAM_GRPC_TLS_CERT: "certs/server.crt", ESTELAM_GRPC_TLS_KEY: "certs/server.key", ESTELAM_GRPC_TLS_CLIENT_CA: "certs/ca.crt" },
      ["--demo"],
    );
    expect(config.tls).toEqual({
      cert: `${process.cwd()}/certs/server.crt`,
      key: `${process.cwd()}/certs/server.key`,
      clientCa: `${process.cwd()}/certs/ca.crt`,
    });
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ ESTELAM_GRPC_TLS_CERT: "server.crt" }, /ESTELAM_GRPC_TLS_CERT and ESTELAM_GRPC_TLS_KEY go together/],
    [{ ESTELAM_GRPC_TLS_CLIENT_CA: "ca.crt" }, /ESTELAM_GRPC_TLS_CLIENT_CA needs TLS/],
    [{ ESTELAM_GRPC_API_KEYS: "false" }, /ESTELAM_GRPC_API_KEYS=false leaves no way to identify callers/],
    [{ ESTELAM_GRPC_ADMISSION_MS: "0" }, /ESTELAM_GRPC_ADMISSION_MS=0 must be a whole number/],
    [{ ESTELAM_GRPC_MAX_HEADER_BYTES: "100" }, /ESTELAM_GRPC_MAX_HEADER_BYTES=100 must be a whole number/],
    [{ ESTELAM_SHED_MEMORY_PERCENT: "150" }, /ESTELAM_SHED_MEMORY_PERCENT=150 must be a whole number/],
    [{ ESTELAM_GRPC_CONNECTION_IDLE_MS: "10" }, /ESTELAM_GRPC_CONNECTION_IDLE_MS=10 must be a whole number/],
  ])("refuse %o", (env, message) => {
    expect(problems(env).join("\n")).toMatch(message);
  });
});
