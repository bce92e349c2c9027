// The gateway process refuses to start, with a message saying why and a non-zero exit, when a setting is
// wrong (exit 2), its registry is empty without seed documents, the seed documents have bad entries, or its
// port is taken (exit 1) — rather than starting half-way.
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../helpers/gateway-process.ts";

const ROOT = resolve(import.meta.dirname, "../..");

function runGateway(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, "gateway/main.ts"), "--demo"],
      { env: { PATH: process.env.PATH ?? "", ESTELAM_LOG_LEVEL: "silent", ...env }, timeout: 30_000 },
      (_error, _stdout, stderr) => done({ code: child.exitCode, stderr }),
    );
  });
}

interface Ports {
  readonly ESTELAM_GRPC_ADDRESS: string;
  readonly ESTELAM_HTTP_ADDRESS: string;
  readonly ESTELAM_DEMO_AGENCIES_ADDRESS: string;
  readonly ESTELAM_DATA_DIR: string;
}

async function ports(): Promise<Ports> {
  const dir = await mkdtemp(join(tmpdir(), "estelam-startup-"));
  return {
    ESTELAM_GRPC_ADDRESS: `127.0.0.1:${await freePort()}`,
    ESTELAM_HTTP_ADDRESS: `127.0.0.1:${await freePort()}`,
    ESTELAM_DEMO_AGENCIES_ADDRESS: `127.0.0.1:${await freePort()}`,
    ESTELAM_DATA_DIR: dir,
  };
}

describe("gateway start-up failures", () => {
  it("a mistyped setting stops it with exit 2, naming the setting", async () => {
    const { code, stderr } = await runGateway({ ...(await ports()), ESTELAM_GRPC_ADRESS: "127.0.0.1:1" });
    expect(code).toBe(2);
    expect(stderr).toContain("unknown setting ESTELAM_GRPC_ADRESS (did you mean ESTELAM_GRPC_ADDRESS?)");
  });

  it("bad seed documents stop it with exit 1, naming every bad entry by file, document and path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "estelam-seed-"));
    const text = await readFile(join(ROOT, "registry/catalogues/demo/post.yaml"), "utf8");
    await cp(join(ROOT, "registry/catalogues/demo"), dir, { recursive: true });
    await writeFile(
      join(dir, "post.yaml"),
      text.replace("timeoutMs: 2000", "timeoutMs: -1").replace("endpoint: post/main", "endpoint: post/backup"),
    );
    const { code, stderr } = await runGateway({ ...(await ports()), ESTELAM_REGISTRY_SEED: dir });
    expect(code).toBe(1);
    expect(stderr).toContain(`the seed documents in ${dir} have 2 problem(s)`);
    expect(stderr).toMatch(
      /post\.yaml#3 InquiryType\/post\.address-by-postcode\.v1 spec\.timeoutMs: must be a whole number from 1 to 600000/,
    );
    expect(stderr).toMatch(
      /post\.yaml#4 Binding\/post\.address-by-postcode\.v1 spec\.endpoints\[0\]\.endpoint: unknown endpoint 'post\/backup'/,
    );
  });

  it("an empty registry without seed documents stops it with exit 1, saying how to seed it", async () => {
    const env = { ...(await ports()), ESTELAM_AUDIT_KEY: "start-up-test-audit-key-0123456789" };
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = execFile(
        process.execPath,
        [join(ROOT, "gateway/main.ts")],
        { env: { PATH: process.env.PATH ?? "", ESTELAM_LOG_LEVEL: "silent", ...env }, timeout: 30_000 },
        (_error, _stdout, err) => done({ code: child.exitCode, stderr: err }),
      );
    });
    expect(code).toBe(1);
    expect(stderr).toContain("holds no revision yet; give the gateway seed documents (ESTELAM_REGISTRY_SEED) for its first start");
  });

  it("a gRPC port already in use stops it with exit 1, and nothing is left listening", async () => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, "127.0.0.1", done));
    const { port } = taken.address() as { port: number };
    const settings = { ...(await ports()), ESTELAM_GRPC_ADDRESS: `127.0.0.1:${port}` };
    try {
      const { code, stderr } = await runGateway(settings);
      expect(code).toBe(1);
      expect(stderr).toContain(
        `could not start: the gRPC server cannot listen on 127.0.0.1:${port}: the port is taken by another process; set ESTELAM_GRPC_ADDRESS to another host:port`,
      );
      // The demo agencies and the ops server it had started are gone with it.
      const agencies = await fetch(`http://${settings.ESTELAM_DEMO_AGENCIES_ADDRESS}/_control/stats`).then(
        () => "up",
        () => "down",
      );
      expect(agencies).toBe("down");
    } finally {
      taken.close();
    }
  });

  it.each([
    ["ESTELAM_HTTP_ADDRESS", "the operations HTTP server (/metrics, /readyz)"],
    ["ESTELAM_DEMO_AGENCIES_ADDRESS", "the demo agencies"],
  ] as const)("a port already in use by %s names that setting", async (setting, what) => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, "127.0.0.1", done));
    const { port } = taken.address() as { port: number };
    try {
      const { code, stderr } = await runGateway({ ...(await ports()), [setting]: `127.0.0.1:${port}` });
      expect(code).toBe(1);
      expect(stderr).toContain(
        `${what} cannot listen on 127.0.0.1:${port}: the port is taken by another process; set ${setting} to another host:port`,
      );
    } finally {
      taken.close();
    }
  });
});
