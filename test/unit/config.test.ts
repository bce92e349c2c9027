import { describe, expect, it } from "vitest";
import { ConfigError, DEMO_AUDIT_KEY, resolveConfig } from "../../gateway/config.ts";

describe("configuration", () => {
  it("resolves documented defaults in demo mode", () => {
    const config = resolveConfig({}, ["--demo"]);
    expect(config.grpc).toEqual({ host: "127.0.0.1", port: 50051 });
    expect(config.http).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(config.audit.shipper).toBe("none");
    expect(config.audit.journalDir).toMatch(/\/var\/audit$/);
    expect(config.audit.journalMaxBytes).toBe(1024 ** 3);
    expect(config.audit.key).toBe(DEMO_AUDIT_KEY);
    expect(config.dataDir).toMatch(/\/var$/);
    expect(config.database.url).toBeUndefined();
    expect(config.database.schema).toBe("estelam");
    expect(config.registry.seed).toMatch(/registry\/catalogues\/demo$/);
  });

  it("accepts the command line's own settings in the same environment", () => {
    expect(() => resolveConfig({ ESTELAM_API_KEY: "k" }, ["--demo"])).not.toThrow();
  });

  it("seeds an empty registry only when told to, outside demo mode", () => {
    const key = { ESTELAM_AUDIT_KEY: "a-long-enough-secret-key" };
    expect(resolveConfig(key).registry.seed).toBeUndefined();
    expect(resolveConfig({ ...key, ESTELAM_REGISTRY_SEED: "mine" }).registry.seed).toMatch(/\/mine$/);
    const shared = resolveConfig({
      ...key,
      ESTELAM_DATABASE_URL: "postgres://estelam@db.example:5432/estelam",
      ESTELAM_DATABASE_SCHEMA: "site_a",
    });
    expect(shared.database).toEqual({ url: "postgres://estelam@db.example:5432/estelam", schema: "site_a" });
    expect(() => resolveConfig({ ...key, ESTELAM_DATABASE_URL: "mysql://x", ESTELAM_DATABASE_SCHEMA: "Bad-Name" })).toThrow(
      /ESTELAM_DATABASE_URL must be a postgres:\/\/ URL[\s\S]*ESTELAM_DATABASE_SCHEMA=Bad-Name/,
    );
  });

  it("checks the audit settings: mode, journal bound and folder", () => {
    const key = { ESTELAM_AUDIT_KEY: "a-long-enough-secret-key" };
    expect(() => resolveConfig({ ...key, ESTELAM_AUDIT: "maybe", ESTELAM_AUDIT_JOURNAL_MAX_BYTES: "100" })).toThrow(
      /ESTELAM_AUDIT=maybe must be journal or off[\s\S]*ESTELAM_AUDIT_JOURNAL_MAX_BYTES=100 must be a whole number from 4096/,
    );
    const off = resolveConfig({ ...key, ESTELAM_AUDIT: "off", KAFKA_BROKERS: "127.0.0.1:19092" });
    expect(off.audit).toMatchObject({ mode: "off", shipper: "none" });
    expect(resolveConfig({ ...key, ESTELAM_AUDIT_JOURNAL_DIR: "/srv/journal" }).audit.journalDir).toBe("/srv/journal");
    expect(resolveConfig({ ...key, ESTELAM_DATA_DIR: "/srv/estelam" }).audit.journalDir).toBe("/srv/estelam/audit");
    // A bound inside one segment: the segment being written can be neither shipped away nor archived.
    expect(() => resolveConfig({ ...key, ESTELAM_AUDIT_JOURNAL_MAX_BYTES: "32768" })).toThrow(
      "ESTELAM_AUDIT_SEGMENT_BYTES=67108864 must be at most ESTELAM_AUDIT_JOURNAL_MAX_BYTES=32768",
    );
    expect(resolveConfig({ ...key, ESTELAM_AUDIT_JOURNAL_MAX_BYTES: "32768", ESTELAM_AUDIT_SEGMENT_BYTES: "8192" }).audit).toMatchObject({
      journalMaxBytes: 32768,
      segmentBytes: 8192,
    });
    // A commit delay as long as the acknowledgement timeout would withhold every answer.
    expect(resolveConfig({ ...key, ESTELAM_AUDIT_COMMIT_DELAY_MS: "20" }).audit.commitDelayMs).toBe(20);
    expect(() => resolveConfig({ ...key, ESTELAM_AUDIT_COMMIT_DELAY_MS: "500", ESTELAM_AUDIT_ACK_TIMEOUT_MS: "500" })).toThrow(
      "ESTELAM_AUDIT_COMMIT_DELAY_MS=500 must be below ESTELAM_AUDIT_ACK_TIMEOUT_MS=500",
    );
  });

  it("ships the audit journal to Kafka when KAFKA_BROKERS is set", () => {
    const config = resolveConfig({ KAFKA_BROKERS: "127.0.0.1:19092, 127.0.0.1:19094", ESTELAM_AUDIT_KEY: "a-long-enough-secret-key" });
    expect(config.audit.shipper).toBe("kafka");
    expect(config.audit.kafka.brokers).toEqual(["127.0.0.1:19092", "127.0.0.1:19094"]);
  });

  it("rejects unknown settings by name, bad values, and a missing audit key outside demo mode, all at once", () => {
    let error: unknown;
    try {
      resolveConfig(
        { ESTELAM_GRPC_ADRESS: "x", ESTELAM_HTTP_ADDRESS: "nowhere", ESTELAM_AUDIT_ACK_TIMEOUT_MS: "-5", KAFKA_BROKERS: "kafka" },
        ["--verbose"],
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join("\n");
    expect(problems).toContain("unknown setting ESTELAM_GRPC_ADRESS (did you mean ESTELAM_GRPC_ADDRESS?)");
    expect(problems).toContain("unknown flag --verbose");
    expect(problems).toContain("ESTELAM_HTTP_ADDRESS=nowhere must be host:port");
    expect(problems).toContain("ESTELAM_AUDIT_ACK_TIMEOUT_MS=-5 must be a whole number");
    expect(problems).toContain("KAFKA_BROKERS: 'kafka' is not host:port");
    expect(problems).toContain("ESTELAM_AUDIT_KEY is required outside demo mode");
  });
});
