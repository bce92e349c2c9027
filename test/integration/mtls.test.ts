// Agency identity by certificate over real mutual TLS. Certificates come from scripts/dev-ca.sh (openssl):
// the gateway serves TLS with a client CA and refuses API keys (ESTELAM_GRPC_API_KEYS=false). A registered
// certificate (by subject, or by SHA-256 fingerprint) asks as its agency; an expired one and one from an
// unknown CA never complete the handshake; one the registry stops naming is refused with CREDENTIAL_INVALID
// from the next revision on; an API key is refused even over TLS.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect as connectHttp2 } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connect as connectTls } from "node:tls";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Client, credentials, Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unary } from "../../cli/client.ts";
import { Answer, InquireRequestSchema, InquireResponseSchema } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { estelam } from "../helpers/cli.ts";
import { KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const DEV_CA = resolve(import.meta.dirname, "../../scripts/dev-ca.sh");
const dir = mkdtempSync(join(tmpdir(), "estelam-mtls-"));
const trusted = join(dir, "trusted");
const rogue = join(dir, "rogue");
const HANDSHAKE_MS = 1500;
let t: TestGateway;

const credential = (name: string, certificate: Record<string, string>) => ({
  source: "test",
  content: { apiVersion: "estelam.ir/v1", kind: "Credential", metadata: { name }, spec: { certificate } },
});

beforeAll(async () => {
  execFileSync("bash", [DEV_CA, trusted, "demo-bank", "counter-office", "revoked-office", "old-bank:expired"]);
  execFileSync("bash", [DEV_CA, rogue, "demo-bank"]);
  const fingerprint = readFileSync(join(trusted, "counter-office.fingerprint"), "utf8").trim();
  // Two certificates of the same subject from the same CA: the first is pinned by fingerprint as well.
  execFileSync("bash", [DEV_CA, trusted, "pinned-office"]);
  for (const ext of ["crt", "key", "fingerprint"])
    copyFileSync(join(trusted, `pinned-office.${ext}`), join(trusted, `pinned-first.${ext}`));
  execFileSync("bash", [DEV_CA, trusted, "pinned-office"]);
  const pinned = readFileSync(join(trusted, "pinned-first.fingerprint"), "utf8").trim();
  t = await startTestGateway({
    audit: "journal",
    env: {
      ESTELAM_GRPC_TLS_CERT: join(trusted, "server.crt"),
      ESTELAM_GRPC_TLS_KEY: join(trusted, "server.key"),
      ESTELAM_GRPC_TLS_CLIENT_CA: join(trusted, "ca.crt"),
      ESTELAM_GRPC_API_KEYS: "false",
      ESTELAM_GRPC_HANDSHAKE_MS: String(HANDSHAKE_MS),
    },
    editDocuments(documents) {
      documents.push(
        credential("demo-bank/cert", { subject: "CN=demo-bank,O=Estelam Dev" }),
        credential("counter-office/cert", { sha256Fingerprint: fingerprint }),
        credential("tax-office/revoked-office-cert", { subject: "CN=revoked-office,O=Estelam Dev" }),
        credential("demo-bank/old", { subject: "CN=old-bank,O=Estelam Dev" }),
        credential("counter-office/pinned", { subject: "CN=pinned-office,O=Estelam Dev", sha256Fingerprint: pinned }),
      );
    },
  });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const clients: Client[] = [];
afterAll(() => {
  for (const c of clients) c.close();
});

function clientFor(ca: string, agencyDir: string, name: string): Client {
  const client = new Client(
    t.gateway.grpcAddress,
    credentials.createSsl(
      readFileSync(join(ca, "ca.crt")),
      readFileSync(join(agencyDir, `${name}.key`)),
      readFileSync(join(agencyDir, `${name}.crt`)),
    ),
  );
  clients.push(client);
  return client;
}

function inquire(client: Client, request: Parameters<typeof create<typeof InquireRequestSchema>>[1], apiKey?: string) {
  const metadata = new Metadata();
  if (apiKey !== undefined) metadata.set("authorization", `Bearer ${apiKey}`);
  return unary(
    client,
    "/estelam.inquiry.v1.InquiryService/Inquire",
    (r: typeof request) => Buffer.from(toBinary(InquireRequestSchema, create(InquireRequestSchema, r))),
    (bytes: Buffer) => fromBinary(InquireResponseSchema, bytes),
    request,
    metadata,
    { deadlineMs: 5000 },
  );
}

const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "teller-7",
};
const address = {
  inquiryType: "post.address-by-postcode.v1",
  params: { postal_code: "1193653471" },
  purpose: "counter.service-request",
  endUser: "clerk-1",
};

describe("mutual TLS", () => {
  it("identifies the asking agency by its certificate's subject", async () => {
    const outcome = await inquire(clientFor(trusted, trusted, "demo-bank"), identity);
    expect(outcome.ok && outcome.response.answer).toBe(Answer.FOUND);
  });

  it("identifies the asking agency by its certificate's SHA-256 fingerprint", async () => {
    const outcome = await inquire(clientFor(trusted, trusted, "counter-office"), address);
    expect(outcome.ok && outcome.response.answer).toBe(Answer.FOUND);
    // The counter office holds no grant for what only the bank may ask: the certificate named it.
    const denied = await inquire(clientFor(trusted, trusted, "counter-office"), {
      inquiryType: "cbi.iban-owner.v1",
      params: { iban: "IR220100889862171595799372" },
      purpose: "payment.beneficiary-check",
      endUser: "clerk-1",
    });
    expect(!denied.ok && denied.status.reason).toBe("ACCESS_DENIED");
  });

  it("accepts a credential that names both subject and fingerprint only for the certificate with both", async () => {
    const first = await inquire(clientFor(trusted, trusted, "pinned-first"), address);
    expect(first.ok && first.response.answer).toBe(Answer.FOUND);
    // Same subject, same CA, another key: not the pinned certificate.
    const other = await inquire(clientFor(trusted, trusted, "pinned-office"), address);
    expect(!other.ok && other.status.reason).toBe("CREDENTIAL_INVALID");
  });

  it("never completes the handshake with an expired certificate", async () => {
    const outcome = await inquire(clientFor(trusted, trusted, "old-bank"), identity);
    expect(!outcome.ok && outcome.status.code).toBe(status.UNAVAILABLE);
  });

  it("never completes the handshake with a certificate of an unknown CA", async () => {
    const outcome = await inquire(clientFor(trusted, rogue, "demo-bank"), identity);
    expect(!outcome.ok && outcome.status.code).toBe(status.UNAVAILABLE);
  });

  it("refuses a certificate the registry no longer names, from the next revision on", async () => {
    const client = clientFor(trusted, trusted, "revoked-office");
    const before = await inquire(client, { ...identity, inquiryType: "nocr.identity-match.v1", purpose: "tax.audit" });
    expect(before.ok || before.status.reason !== "CREDENTIAL_INVALID").toBe(true);
    await t.gateway.registry.delete([{ kind: "Credential", name: "tax-office/revoked-office-cert" }], {
      actor: { agency: "tax-office", credential: "test" },
      message: "revoke the certificate",
      dryRun: false,
      expectedRevision: 0,
    });
    const after = await inquire(client, identity);
    expect(!after.ok && after.status).toMatchObject({ code: status.UNAUTHENTICATED, reason: "CREDENTIAL_INVALID" });
    expect(!after.ok && after.status.message).toContain("CN=revoked-office,O=Estelam Dev");
  });

  it("refuses an API key on a deployment that identifies agencies by certificate only", async () => {
    const outcome = await inquire(clientFor(trusted, trusted, "revoked-office"), identity, KEYS.demoBank);
    expect(!outcome.ok && outcome.status).toMatchObject({ code: status.UNAUTHENTICATED, reason: "CREDENTIAL_INVALID" });
    expect(!outcome.ok && outcome.status.message).toContain("API keys are refused");
  });

  it("serves the estelam command line presenting the agency's certificate, without an API key", async () => {
    const run = await estelam(
      [
        "inquire",
        "nocr.identity-match.v1",
        "-p",
        "national_code=0012345679",
        "-p",
        "birth_date=1348/01/31",
        "--purpose",
        "kyc.account-opening",
        "--end-user",
        "teller-7",
      ],
      {
        // By name, as the gateway's certificate says (Node warns about TLS server names that are IP addresses).
        ESTELAM_GRPC_ADDRESS: `localhost:${t.gateway.grpcPort}`,
        ESTELAM_TLS_CA: join(trusted, "ca.crt"),
        ESTELAM_TLS_CERT: join(trusted, "demo-bank.crt"),
        ESTELAM_TLS_KEY: join(trusted, "demo-bank.key"),
      },
    );
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^answer\s+FOUND$/m);
    expect(run.code).toBe(0);
  });
});

/** TLS to the gateway's port as agency `name`, offering HTTP/2, as a gRPC client connects. */
const tlsOptions = (name: string) => ({
  host: "127.0.0.1",
  port: t.gateway.grpcPort,
  servername: "localhost",
  ca: readFileSync(join(trusted, "ca.crt")),
  cert: readFileSync(join(trusted, `${name}.crt`)),
  key: readFileSync(join(trusted, `${name}.key`)),
  ALPNProtocols: ["h2"],
});

describe("connections that do not greet", () => {
  /** Milliseconds from `socket` being open until the gateway closes it. */
  const lifetime = (socket: Socket) =>
    new Promise<number>((resolve) => {
      const opened = performance.now();
      socket.on("error", () => undefined);
      socket.resume();
      socket.once("close", () => resolve(performance.now() - opened));
    });
  it(`closes a connection that does not finish the TLS handshake within ${HANDSHAKE_MS} ms`, async () => {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connectTcp(t.gateway.grpcPort, "127.0.0.1", () => resolve(s));
      s.once("error", reject);
    });
    const ms = await lifetime(socket);
    expect(ms).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50);
    expect(ms).toBeLessThan(HANDSHAKE_MS + 2000);
  });

  it("closes a connection that finishes the TLS handshake but never sends the HTTP/2 preface", async () => {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connectTls(tlsOptions("demo-bank"), () => resolve(s));
      s.once("error", reject);
    });
    const ms = await lifetime(socket);
    expect(ms).toBeLessThan(HANDSHAKE_MS + 2000);
  });

  it("keeps a connection that has greeted over TLS and then stays quiet", async () => {
    const session = connectHttp2(`https://localhost:${t.gateway.grpcPort}`, tlsOptions("demo-bank"));
    session.on("error", () => undefined);
    try {
      await new Promise((resolve, reject) => {
        session.once("remoteSettings", resolve);
        session.once("close", () => reject(new Error("the connection was closed")));
      });
      await new Promise((r) => setTimeout(r, HANDSHAKE_MS + 1000));
      expect(session.closed || session.destroyed).toBe(false);
    } finally {
      session.destroy();
    }
  });
});

describe("renewing the gateway's certificate", () => {
  /** The SHA-256 fingerprint (lowercase hex) of the certificate a new connection is served. */
  const served = () =>
    new Promise<string>((resolve, reject) => {
      const socket = connectTls(tlsOptions("demo-bank"), () => {
        resolve(socket.getPeerCertificate().fingerprint256.replace(/:/g, "").toLowerCase());
        socket.destroy();
      });
      socket.once("error", reject);
    });
  const fileFingerprint = () => readFileSync(join(trusted, "server.fingerprint"), "utf8").trim();

  it("serves new connections the certificate renewed under the same path, and keeps answering", async () => {
    expect(await t.gateway.reloadTls()).toBe("unchanged");
    const before = await served();
    expect(before).toBe(fileFingerprint());
    execFileSync("bash", [DEV_CA, trusted]); // a new server certificate and key, same paths
    expect(fileFingerprint()).not.toBe(before);
    expect(await served()).toBe(before);
    expect(await t.gateway.reloadTls()).toBe("renewed");
    expect(await served()).toBe(fileFingerprint());
    const outcome = await inquire(clientFor(trusted, trusted, "demo-bank"), identity);
    expect(outcome.ok && outcome.response.answer).toBe(Answer.FOUND);
  });

  it("keeps the certificate it serves when the renewed key does not match", async () => {
    const before = await served();
    const goodKey = readFileSync(join(trusted, "server.key"));
    writeFileSync(join(trusted, "server.key"), readFileSync(join(trusted, "demo-bank.key")));
    try {
      await expect(t.gateway.reloadTls()).rejects.toThrow(/key values mismatch|KEY_VALUES_MISMATCH/i);
      expect(await served()).toBe(before);
      const outcome = await inquire(clientFor(trusted, trusted, "demo-bank"), identity);
      expect(outcome.ok && outcome.response.answer).toBe(Answer.FOUND);
    } finally {
      writeFileSync(join(trusted, "server.key"), goodKey);
    }
  });
});
