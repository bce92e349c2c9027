// The wire mapping of the error catalogue: every reason keeps its code, origin and details through
// toGrpcStatus -> fromGrpcStatus, and INTERNAL never tells the caller what went wrong inside.
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { fromGrpcStatus } from "../../cli/client.ts";
import { ALL_REASONS, Code, EstelamError, invalid, MAX_VIOLATIONS, REASONS } from "../../core/errors.ts";
import { ERROR_DOMAIN, STATUS_DETAILS_KEY } from "../../core/status.ts";
import { ProtocolStatusError, toGrpcStatus } from "../../gateway/grpc/status.ts";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";

const violations = [
  { field: "params.national_id", description: "checksum does not match" },
  { field: "purpose", description: "required" },
];

function richStatus(metadata: Metadata) {
  const raw = metadata.get(STATUS_DETAILS_KEY)[0];
  if (!(raw instanceof Uint8Array)) throw new Error("no grpc-status-details-bin");
  return fromBinary(StatusSchema, raw);
}

describe("toGrpcStatus / fromGrpcStatus", () => {
  it.each(ALL_REASONS)("%s keeps its code, origin, agency, violations and retry hint", (reason) => {
    const error = new EstelamError(reason, "something specific", { agency: "nocr", violations, retryAfterMs: 1500 });
    const status = toGrpcStatus(error);
    const spec = REASONS[reason];

    expect(status.code).toBe(spec.code);
    expect(status.details).toBe(reason === "INTERNAL" ? "INTERNAL: internal error" : `${reason}: something specific`);
    expect(status.metadata.get("estelam-reason")).toEqual([reason]);
    expect(status.metadata.get("estelam-origin")).toEqual([spec.origin]);
    expect(status.metadata.get("estelam-agency")).toEqual(["nocr"]);

    const rich = richStatus(status.metadata);
    expect(rich.code).toBe(spec.code);
    expect(rich.message).toBe(status.details);
    const info = rich.details.map((d) => anyUnpack(d, ErrorInfoSchema)).find((d) => d !== undefined);
    expect(info).toMatchObject({ reason, domain: ERROR_DOMAIN, metadata: { origin: spec.origin, agency: "nocr" } });

    const decoded = fromGrpcStatus({ code: status.code, details: status.details, metadata: status.metadata });
    expect(decoded).toEqual({
      code: spec.code,
      message: status.details,
      reason,
      origin: spec.origin,
      agency: "nocr",
      violations,
      retryAfterMs: 1500,
    });
  });

  it("names the inquiry in ErrorInfo and in plain trailers, so a caller can quote it", () => {
    const inquiry = { inquiryId: "01a20511-7ede-793b-87b4-52a4b130b496", trackingCode: "Y400-VSQS-BQ3Q" };
    const error = new EstelamError("NO_ROUTE", "not online yet", { agency: "nocr" }).forInquiry(inquiry);
    const status = toGrpcStatus(error);
    expect(status.metadata.get("estelam-inquiry-id")).toEqual([inquiry.inquiryId]);
    expect(status.metadata.get("estelam-tracking-code")).toEqual([inquiry.trackingCode]);
    const info = richStatus(status.metadata)
      .details.map((d) => anyUnpack(d, ErrorInfoSchema))
      .find((d) => d !== undefined);
    expect(info?.metadata).toMatchObject({ inquiry_id: inquiry.inquiryId, tracking_code: inquiry.trackingCode });
    expect(fromGrpcStatus(status)).toMatchObject({ reason: "NO_ROUTE", agency: "nocr", ...inquiry });
    // Without the rich details the plain trailers still tell.
    status.metadata.remove(STATUS_DETAILS_KEY);
    expect(fromGrpcStatus(status)).toMatchObject({ reason: "NO_ROUTE", ...inquiry });
  });

  it("keeps the status small enough for HTTP/2 trailers, however large the error", () => {
    const many = Array.from({ length: 500 }, (_, i) => ({ field: `params.${"f".repeat(200)}${i}`, description: "unknown parameter" }));
    const status = toGrpcStatus(new EstelamError("INVALID_PARAMS", "x".repeat(100_000), { violations: many }));
    expect(status.details.length).toBeLessThanOrEqual(1024);
    const bytes = status.metadata.get(STATUS_DETAILS_KEY)[0] as Uint8Array;
    expect(bytes.length).toBeLessThanOrEqual(4096 + 1024);
    // The reason survives even when the field list had to go.
    expect(fromGrpcStatus({ code: status.code, details: status.details, metadata: status.metadata })).toMatchObject({
      reason: "INVALID_PARAMS",
      violations: [],
    });
  });

  it("names the first ten bad fields in the message and reports at most twenty", () => {
    const many = Array.from({ length: 45 }, (_, i) => ({ field: `params.p${i}`, description: "unknown parameter" }));
    const error = invalid("INVALID_PARAMS", many);
    expect(error.violations).toHaveLength(MAX_VIOLATIONS);
    expect(error.message).toContain("params.p9: unknown parameter; and 35 more");
    expect(error.message).not.toContain("params.p10:");
  });

  it("sends no BadRequest, RetryInfo or agency when the error has none", () => {
    const status = toGrpcStatus(new EstelamError("ACCESS_DENIED", "no grant"));
    expect(richStatus(status.metadata).details).toHaveLength(1);
    expect(status.metadata.get("estelam-agency")).toEqual([]);
    expect(fromGrpcStatus(status)).toMatchObject({
      reason: "ACCESS_DENIED",
      origin: "client",
      agency: undefined,
      violations: [],
      retryAfterMs: undefined,
    });
  });

  it.each([
    ["an Error", new Error("connect ECONNREFUSED 10.20.30.40:5432 password=hunter2")],
    ["a string", "ECONNREFUSED 10.20.30.40 password=hunter2"],
    ["an INTERNAL EstelamError", new EstelamError("INTERNAL", "pool 10.20.30.40 password=hunter2", { cause: new Error("x") })],
    ["undefined", undefined],
  ])("hides the cause of %s behind INTERNAL", (_label, thrown) => {
    const status = toGrpcStatus(thrown);
    expect(status.code).toBe(Code.INTERNAL);
    expect(status.details).toBe("INTERNAL: internal error");
    // Everything that leaves the gateway: the message, the plain trailers and the binary details.
    const raw = status.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer;
    const onTheWire = [status.details, JSON.stringify(status.metadata.toJSON()), raw.toString("latin1")].join("\n");
    for (const secret of ["10.20.30.40", "hunter2", "    at "]) expect(onTheWire).not.toContain(secret);
    expect(fromGrpcStatus(status)).toMatchObject({ reason: "INTERNAL", origin: "gateway", message: "INTERNAL: internal error" });
  });

  it("keeps non-ASCII agency ids out of the plain trailers but intact in the details", () => {
    const status = toGrpcStatus(new EstelamError("AGENCY_UNAVAILABLE", "سامانه در دسترس نیست", { agency: "ثبت" }));
    expect(status.metadata.get("estelam-agency")[0]).toMatch(/^[ -~]+$/);
    expect(fromGrpcStatus(status)).toMatchObject({ agency: "ثبت", message: "AGENCY_UNAVAILABLE: سامانه در دسترس نیست" });
  });

  it("sends protocol statuses bare, without catalogue details", () => {
    const status = toGrpcStatus(new ProtocolStatusError(Code.NOT_FOUND, 'unknown service "x"'));
    expect(status).toMatchObject({ code: Code.NOT_FOUND, details: 'unknown service "x"' });
    expect(status.metadata.get(STATUS_DETAILS_KEY)).toEqual([]);
  });

  it("decodes a status raised by grpc-js itself (no details) without a reason", () => {
    expect(
      fromGrpcStatus({ code: Code.RESOURCE_EXHAUSTED, details: "Received message larger than max", metadata: new Metadata() }),
    ).toEqual({
      code: Code.RESOURCE_EXHAUSTED,
      message: "Received message larger than max",
      reason: undefined,
      origin: undefined,
      agency: undefined,
      violations: [],
      retryAfterMs: undefined,
    });
  });

  it("falls back to the plain trailers when the details are corrupt", () => {
    const metadata = new Metadata();
    metadata.set(STATUS_DETAILS_KEY, Buffer.from([0x0a, 0xff]));
    metadata.set("estelam-reason", "BREAKER_OPEN");
    metadata.set("estelam-origin", "agency");
    expect(fromGrpcStatus({ code: Code.UNAVAILABLE, details: "BREAKER_OPEN: open", metadata })).toMatchObject({
      reason: "BREAKER_OPEN",
      origin: "agency",
      message: "BREAKER_OPEN: open",
    });
  });
});
