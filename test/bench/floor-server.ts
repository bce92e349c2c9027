// The floor of the gateway's stack as a server: InquiryService/Inquire served by grpc-js through the
// gateway's adapter (protobuf-es decode and encode), with none of the gateway's features (no
// authentication, validation, breaker, audit trail, metrics or log line). Three modes:
//   - fixed:  answers a fixed response;
//   - undici: makes one undici request to the demo civil registry (HTTP/JSON) and parses its JSON answer;
//   - grpc:   makes one grpc-js call to the demo welfare agency's GetHouseholdDecile, the call the gateway's
//             gRPC connector makes for the household-decile inquiry, and the one nginx forwards in
//             `--reference`.
// Run as a child (`--serve <mode> --agencies <url> --agency-grpc <host:port>`); prints PORT=<n> once bound.
import { parseArgs } from "node:util";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Client, credentials, Metadata, Server, ServerCredentials } from "@grpc/grpc-js";
import { Pool } from "undici";
import { adaptService } from "../../gateway/grpc/adapter.ts";
import { Answer, InquiryService } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";

export type FloorMode = "fixed" | "undici" | "grpc";
export const FLOOR_MODES: readonly FloorMode[] = ["fixed", "undici", "grpc"];

/** The welfare agency's token (simulators/demo-agencies/agencies.ts); a demo value, not a secret. */
export const WELFARE_TOKEN = "welfare-demo-token-3a7e58";
export const WELFARE_METHOD = "/ir.mcls.refah.v1.SubsidyService/GetHouseholdDecile";

/** The welfare agency's GetHouseholdDecileRequest (field 1, national_code), unframed. */
export function welfareRequest(nationalCode: string): Uint8Array {
  return new BinaryWriter().tag(1, WireType.LengthDelimited).string(nationalCode).finish();
}

function text(params: JsonObject | undefined, name: string): string {
  const value: JsonValue | undefined = params?.[name];
  return typeof value === "string" ? value : "";
}

function serve(mode: FloorMode, agenciesUrl: string, agencyGrpc: string): void {
  const pool = mode === "undici" ? new Pool(agenciesUrl, { connections: 32 }) : undefined;
  const welfare = mode === "grpc" ? new Client(agencyGrpc, credentials.createInsecure()) : undefined;
  const identity = (b: Buffer): Buffer => b;
  const welfareMetadata = new Metadata();
  welfareMetadata.set("authorization", `Bearer ${WELFARE_TOKEN}`);
  const callWelfare = (client: Client, nationalCode: string): Promise<Buffer> =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        WELFARE_METHOD,
        identity,
        identity,
        Buffer.from(welfareRequest(nationalCode)),
        welfareMetadata,
        (error, value) => (error === null && value !== undefined ? resolve(value) : reject(error ?? new Error("no answer"))),
      ),
    );
  const service = adaptService(InquiryService, {
    async inquire(request) {
      const answer = { inquiryId: "floor", trackingCode: "floor", responder: "floor", answer: Answer.FOUND };
      if (pool !== undefined) {
        const response = await pool.request({
          path: "/nocr/identity-match",
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(request.params),
        });
        if (response.statusCode !== 200) throw new Error(`the agency answered HTTP ${response.statusCode}`);
        return { ...answer, result: (await response.body.json()) as JsonObject };
      }
      if (welfare !== undefined) {
        const bytes = await callWelfare(welfare, text(request.params, "national_code"));
        return { ...answer, result: { answer_bytes: bytes.length } };
      }
      return { ...answer, result: { match: true } };
    },
    listAllowedInquiries: async () => ({}),
    describeInquiryType: async () => ({}),
  });
  const server = new Server();
  server.addService(service.definition, service.implement());
  server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
    if (error !== null) throw error;
    process.stdout.write(`PORT=${port}\n`);
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { serve: { type: "string" }, agencies: { type: "string" }, "agency-grpc": { type: "string" } },
  });
  const mode = FLOOR_MODES.find((m) => m === values.serve);
  if (mode === undefined) throw new Error(`--serve must be one of ${FLOOR_MODES.join(", ")}`);
  serve(mode, values.agencies ?? "", values["agency-grpc"] ?? "");
}
