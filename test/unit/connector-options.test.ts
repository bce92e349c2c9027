// Each built-in connector kind checks its options with its own JSON Schema: defaults filled in, and every
// problem named by its path in the registry document.
import { describe, expect, it } from "vitest";
import { grpcConnector } from "../../connectors/grpc/index.ts";
import { httpJsonConnector } from "../../connectors/http-json/index.ts";
import { soapConnector } from "../../connectors/soap/index.ts";

const issues = (result: { ok: boolean; issues?: readonly { path: string; message: string }[] }) =>
  result.ok ? [] : (result.issues ?? []).map((i) => `${i.path}: ${i.message}`);

describe("connector options", () => {
  it("http-json: defaults, auth and TLS", () => {
    const ok = httpJsonConnector.validateEndpoint({ baseUrl: "https://api.agency.example/v1", auth: { bearer: "t" } }, "spec.options");
    expect(ok.ok && ok.options).toMatchObject({
      connections: 64,
      limits: { maxBytes: 1 << 20, maxDepth: 32, maxKeys: 10_000 },
      auth: { kind: "bearer" },
    });
    expect(
      issues(
        httpJsonConnector.validateEndpoint(
          { baseUrl: "ftp://x", auth: { bearer: "t", basic: { username: "u" } }, tls: { certFile: "/no/such.pem" }, colour: 1 },
          "spec.options",
        ),
      ),
    ).toEqual(
      expect.arrayContaining([
        "spec.options.colour: unknown option",
        "spec.options.baseUrl: must be an http:// or https:// URL",
        "spec.options.auth: must NOT have more than 1 properties",
        "spec.options.auth.basic.password: is required",
        "spec.options.tls: must have property keyFile when property certFile is present",
      ]),
    );
    expect(issues(httpJsonConnector.validateEndpoint({ baseUrl: "http://x", tls: { caFile: "/no/such/ca.pem" } }, "spec.options"))).toEqual(
      ["spec.options.tls: needs an https:// address", "spec.options.tls.caFile: cannot read '/no/such/ca.pem' (ENOENT)"],
    );
  });

  it("http-json: operations", () => {
    const ok = httpJsonConnector.validateOperation({ method: "GET", path: "/cheques/{sayad_id}", result: "data" }, "op");
    expect(ok.ok && ok.options).toMatchObject({ method: "GET", notFoundStatuses: new Set([404]), rejectedStatuses: "other-4xx" });
    expect(issues(httpJsonConnector.validateOperation({ method: "FETCH", path: "x", notFoundStatuses: [500] }, "op"))).toEqual(
      expect.arrayContaining([
        "op.method: must be one of GET, POST, PUT, PATCH, DELETE",
        'op.path: must match pattern "^/"',
        "op.notFoundStatuses[0]: must be <= 499",
      ]),
    );
  });

  it("soap and grpc name their options too", () => {
    expect(
      issues(soapConnector.validateEndpoint({ url: "http://x/s", version: "2.0", usernameToken: { username: "u" } }, "spec.options")),
    ).toEqual(
      expect.arrayContaining(["spec.options.version: must be one of 1.1, 1.2", "spec.options.usernameToken.password: is required"]),
    );
    expect(issues(soapConnector.validateOperation({ action: "a" }, "op"))).toEqual(
      expect.arrayContaining(["op.namespace: is required", "op.request: is required", "op.result: is required"]),
    );
    expect(issues(grpcConnector.validateEndpoint({ address: "no-port" }, "spec.options"))).toEqual([
      "spec.options.address: must be host:port",
    ]);
    expect(issues(grpcConnector.validateEndpoint({ address: "127.0.0.1:1", reflection: false }, "spec.options"))).toEqual([
      "spec.options.protoFiles: is required when reflection is false (or descriptorSetFile)",
    ]);
    expect(issues(grpcConnector.validateEndpoint({ address: "127.0.0.1:1", protoFiles: ["/no/such.proto"] }, "spec.options"))[0]).toMatch(
      /^spec\.options\.protoFiles: cannot be loaded/,
    );
    expect(issues(grpcConnector.validateOperation({ method: "NoSlash" }, "op"))).toEqual([
      expect.stringMatching(/^op\.method: must match pattern/),
    ]);
  });
});
