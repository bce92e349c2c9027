// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the documents' own ${NAME} references.
// Renewed files without a restart: an endpoint calls the demo agencies' mutual-TLS face with a client
// certificate from a file. The file is replaced by a renewed certificate under the same path; reloading the
// registry (what SIGHUP does) builds the served revision again, and only the endpoint whose file changed gets
// new connections. A file that cannot be read any more leaves everything as it was.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { ReloadError } from "../../registry/registry.ts";
import { findDocument, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { startGatewayProcess } from "../helpers/gateway-process.ts";

const DEV_CA = resolve(import.meta.dirname, "../../scripts/dev-ca.sh");
const dir = mkdtempSync(join(tmpdir(), "estelam-reload-"));
const certFile = join(dir, "client.crt");
const keyFile = join(dir, "client.key");
let t: TestGateway;

const iban = {
  inquiryType: "cbi.iban-owner.v1",
  params: { iban: "IR020540889862171595799372" },
  purpose: "payment.beneficiary-check",
  endUser: "teller-7",
};

beforeAll(async () => {
  // The certificate first in place is from a CA the agency does not trust.
  execFileSync("bash", [DEV_CA, join(dir, "other-ca"), "gateway"]);
  copyFileSync(join(dir, "other-ca", "gateway.crt"), certFile);
  copyFileSync(join(dir, "other-ca", "gateway.key"), keyFile);
  t = await startTestGateway({
    audit: "journal",
    editDocuments(documents) {
      findDocument(documents, "Endpoint", "cbi/main").spec.options = {
        baseUrl: "${DEMO_MTLS_URL}",
        tls: { caFile: "${DEMO_TLS_CA_FILE}", certFile, keyFile },
      };
    },
  });
}, 60_000);
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("reloading the registry's files", () => {
  it("changes nothing while no file has changed", async () => {
    const revision = t.gateway.registry.record().revision;
    expect(await t.gateway.registry.reload()).toEqual({ revision, renewed: [] });
  });

  it("reconnects only the endpoint whose client certificate was renewed under the same path", async () => {
    const refused = await t.client.inquire(iban);
    expect(!refused.ok && refused.status.reason).toBe("AGENCY_UNAVAILABLE");
    const revision = t.gateway.registry.record().revision;
    const before = t.gateway.registry.current();

    copyFileSync(t.agencies.tls.files.clientCert, certFile);
    copyFileSync(t.agencies.tls.files.clientKey, keyFile);
    // Until the files are re-read, the endpoint keeps the certificate it was built with.
    const stillRefused = await t.client.inquire(iban);
    expect(!stillRefused.ok && stillRefused.status.reason).toBe("AGENCY_UNAVAILABLE");

    expect(await t.gateway.registry.reload()).toEqual({ revision, renewed: ["cbi/main"] });
    const after = t.gateway.registry.current();
    expect(after.revision).toBe(revision);
    expect(after.endpoints.get("cbi/main")?.connection).not.toBe(before.endpoints.get("cbi/main")?.connection);
    expect(after.endpoints.get("nocr/main")?.connection).toBe(before.endpoints.get("nocr/main")?.connection);

    const answered = await t.client.inquire(iban);
    expect(answered.ok && answered.response.answer).toBe(Answer.FOUND);
  });

  it("keeps serving on the connections it has when a file can no longer be read", async () => {
    const revision = t.gateway.registry.record().revision;
    const connection = t.gateway.registry.current().endpoints.get("cbi/main")?.connection;
    rmSync(keyFile);
    const failure = await t.gateway.registry.reload().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ReloadError);
    expect((failure as ReloadError).problems).toEqual([
      expect.stringContaining(`spec.options.tls.keyFile: cannot read '${keyFile}' (ENOENT)`),
    ]);
    expect(t.gateway.registry.record().revision).toBe(revision);
    expect(t.gateway.registry.current().endpoints.get("cbi/main")?.connection).toBe(connection);
    const answered = await t.client.inquire(iban);
    expect(answered.ok && answered.response.answer).toBe(Answer.FOUND);
  });
});

describe("SIGHUP", () => {
  it("makes the gateway process re-read the registry store and the files its revision names", async () => {
    const gateway = await startGatewayProcess({ ESTELAM_LOG_LEVEL: "info" });
    try {
      gateway.child.kill("SIGHUP");
      await expect
        .poll(() => gateway.stdout(), { timeout: 10_000 })
        .toMatch(/registry files re-read on SIGHUP; 0 endpoint\(s\) reconnected/);
      expect(gateway.stdout()).toContain("registry store re-read on SIGHUP");
      expect(gateway.child.exitCode).toBeNull();
    } finally {
      gateway.child.kill("SIGKILL");
      rmSync(gateway.dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
