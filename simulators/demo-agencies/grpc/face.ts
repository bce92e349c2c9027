// The gRPC face: the agencies that expose gRPC (the welfare database and Central Insurance), each with its
// own .proto (an outside party's contract, loaded at run time with @grpc/proto-loader), on one grpc-js
// server with server reflection (@grpc/reflection) so a connector can discover them. Business "not found"
// and refusals are gRPC statuses, as a real gRPC agency answers them; faults act before the agency does.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { parseNationalCode } from "../../../core/identifiers.ts";
import { type AgencyName, DEMO_CREDENTIALS } from "../agencies.ts";
import type { FaultControl, FaultSettings } from "../faults.ts";
import type { Lookup } from "../records/lookup.ts";
import { householdDecile } from "../records/people.ts";
import { parsePlate, parseVin, thirdPartyPolicy, type Vehicle } from "../records/vehicles.ts";
import type { StatsCounter } from "../stats.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
export const GRPC_PROTO_FILES = [join(HERE, "welfare.proto"), join(HERE, "centinsur.proto")] as const;
export const WELFARE_SERVICE = "ir.mcls.refah.v1.SubsidyService";
export const CENTINSUR_SERVICE = "ir.centinsur.sanhab.v1.ThirdPartyInsuranceService";

/** Bytes sent as they are, in place of a serialized message (hostile answers). */
class RawMessage {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

/**
 * A valid message of `bytes` bytes or more: an unknown length-delimited field (number 1000) full of
 * filler, which every protobuf decoder must accept and skip; only its size hurts.
 */
function hugeMessage(bytes: number): Buffer {
  const length: number[] = [];
  for (let n = bytes; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      length.push(n);
      break;
    }
    length.push((n % 128) | 0x80);
  }
  // Field 1000, wire type 2: tag (1000 << 3) | 2 = 8002, as a varint.
  return Buffer.concat([Buffer.from([0xc2, 0x3e, ...length]), Buffer.alloc(bytes, 0x41)]);
}

/** Bytes no protobuf decoder accepts: field 15 claims 100 bytes of content and the message ends after 2. */
const INVALID_PROTOBUF = Buffer.from([0x7a, 0x64, 0x41, 0x41]);

type Result = { readonly ok: true; readonly value: object } | { readonly ok: false; readonly code: grpc.status; readonly details: string };

function failure(code: grpc.status, details: string): Result {
  return { ok: false, code, details };
}

function lookupResult<T>(lookup: Lookup<T>, value: (record: T) => object): Result {
  switch (lookup.kind) {
    case "found":
      return { ok: true, value: value(lookup.record) };
    case "not_found":
      return failure(grpc.status.NOT_FOUND, lookup.message);
    case "rejected":
      return failure(grpc.status.PERMISSION_DENIED, lookup.message);
  }
}

function metadataText(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : undefined;
}

function field(request: unknown, name: string): unknown {
  return typeof request === "object" && request !== null ? (request as Record<string, unknown>)[name] : undefined;
}

function decile(request: unknown): Result {
  const raw = field(request, "national_code");
  if (typeof raw !== "string" || raw === "") return failure(grpc.status.INVALID_ARGUMENT, "national_code is required");
  const code = parseNationalCode(raw);
  if (!code.ok) return failure(grpc.status.INVALID_ARGUMENT, `national_code ${code.problem}`);
  return lookupResult(householdDecile(code.value), (d) => ({
    decile: d.decile,
    household_id: d.householdId,
    household_size: d.householdSize,
    head_of_household: d.headOfHousehold,
    subsidy_eligible: d.subsidyEligible,
    assessed_on: d.assessedOn,
  }));
}

function policy(request: unknown): Result {
  let vehicle: Vehicle;
  const which = field(request, "vehicle");
  if (which === "plate") {
    const plate = field(request, "plate");
    const parts = ["two_digits", "letter", "three_digits", "province_code"].map((name) => field(plate, name));
    const parsed = parsePlate(parts.map((p) => (typeof p === "string" ? p : "")).join(""));
    if (!parsed.ok) return failure(grpc.status.INVALID_ARGUMENT, `plate ${parsed.problem}`);
    vehicle = { plate: parsed.value };
  } else if (which === "vin") {
    const raw = field(request, "vin");
    const parsed = parseVin(typeof raw === "string" ? raw : "");
    if (!parsed.ok) return failure(grpc.status.INVALID_ARGUMENT, `vin ${parsed.problem}`);
    vehicle = { vin: parsed.value };
  } else return failure(grpc.status.INVALID_ARGUMENT, "give a plate or a vin");
  return lookupResult(thirdPartyPolicy(vehicle), (p) => ({
    status: `POLICY_STATUS_${p.status}`,
    insurer: p.insurer ?? "",
    policy_number: p.policyNumber ?? "",
    starts_on: p.startsOn ?? "",
    ends_on: p.endsOn ?? "",
    no_claim_years: p.noClaimYears,
    claims: p.claims.map((c) => ({ date: c.date, kind: `CLAIM_KIND_${c.kind}`, amount: c.amount })),
  }));
}

interface GrpcAgency {
  readonly agency: AgencyName;
  readonly service: string;
  readonly method: string;
  authorised(metadata: grpc.Metadata): boolean;
  answer(request: unknown): Result;
}

const GRPC_AGENCIES: readonly GrpcAgency[] = [
  {
    agency: "welfare",
    service: WELFARE_SERVICE,
    method: "GetHouseholdDecile",
    authorised: (metadata) => metadataText(metadata, "authorization") === `Bearer ${DEMO_CREDENTIALS.welfare.bearerToken}`,
    answer: decile,
  },
  {
    agency: "centinsur",
    service: CENTINSUR_SERVICE,
    method: "GetPolicy",
    authorised: (metadata) => metadataText(metadata, DEMO_CREDENTIALS.centinsur.header) === DEMO_CREDENTIALS.centinsur.apiKey,
    answer: policy,
  },
];

function loadProtos(): protoLoader.PackageDefinition {
  return protoLoader.loadSync([...GRPC_PROTO_FILES], { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
}

/** The service with each response serializer letting RawMessage bytes through unchanged. */
function rawCapable(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const serialize = method.responseSerialize;
    out[name] = { ...method, responseSerialize: (value: unknown) => (value instanceof RawMessage ? value.bytes : serialize(value)) };
  }
  return out as grpc.ServiceDefinition;
}

/** What a proxy in front of a dead gRPC server answers: the connection to it was reset. */
const DOWN_DETAILS = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";

export interface GrpcFaceOptions {
  readonly host: string;
  /** Ports to try in turn; 0 picks a free one. */
  readonly ports: readonly number[];
  readonly faults: FaultControl;
  readonly stats: StatsCounter;
}

export interface GrpcFace {
  /** `host:port`. */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startGrpcFace(options: GrpcFaceOptions): Promise<GrpcFace> {
  const { faults, stats } = options;
  const packageDefinition = loadProtos();
  const server = new grpc.Server();
  const pending = new Set<NodeJS.Timeout>();

  function handler(spec: GrpcAgency): grpc.handleUnaryCall<unknown, unknown> {
    const { agency } = spec;
    return (call, callback) => {
      stats.received(agency);
      const decision = faults.next(agency);
      let gone = false;
      call.on("cancelled", () => {
        gone = true;
      });
      const finish = (code: grpc.status, value?: unknown, details?: string): void => {
        if (gone) {
          stats.abandoned(agency);
          return;
        }
        stats.answered(agency, grpc.status[code]);
        if (code === grpc.status.OK) callback(null, value);
        else callback({ code, details: details ?? "" });
      };
      const act = (): void => {
        const settings: FaultSettings = decision.settings;
        switch (decision.action) {
          case "hang":
            stats.hung(agency);
            return;
          case "down":
            if (gone) stats.abandoned(agency);
            else {
              stats.dropped(agency);
              callback({ code: grpc.status.UNAVAILABLE, details: DOWN_DETAILS });
            }
            return;
          case "error": {
            const code = grpc.status[settings.grpcStatus ?? "UNAVAILABLE"];
            finish(code, undefined, "the agency's service is temporarily unavailable");
            return;
          }
          case "huge-body":
            finish(grpc.status.OK, new RawMessage(hugeMessage(settings.bytes ?? 1)));
            return;
          case "invalid-protobuf":
            finish(grpc.status.OK, new RawMessage(INVALID_PROTOBUF));
            return;
          case "answer": {
            if (!spec.authorised(call.metadata)) {
              finish(grpc.status.UNAUTHENTICATED, undefined, "missing or invalid credentials");
              return;
            }
            const result = spec.answer(call.request);
            if (result.ok) finish(grpc.status.OK, result.value);
            else finish(result.code, undefined, result.details);
            return;
          }
          default:
            // Modes only HTTP agencies have are refused when they are set.
            finish(grpc.status.INTERNAL, undefined, `mode ${decision.action} has no gRPC form`);
        }
      };
      if (decision.latencyMs <= 0) act();
      else {
        const timer = setTimeout(() => {
          pending.delete(timer);
          act();
        }, decision.latencyMs);
        pending.add(timer);
      }
    };
  }

  for (const spec of GRPC_AGENCIES) {
    const definition = packageDefinition[spec.service] as grpc.ServiceDefinition | undefined;
    if (definition === undefined) throw new Error(`${spec.service} is missing from the agency's .proto`);
    server.addService(rawCapable(definition), { [spec.method]: handler(spec) });
  }
  new ReflectionService(packageDefinition).addToServer(server);

  let port = -1;
  let lastError: unknown;
  for (const candidate of options.ports) {
    try {
      port = await new Promise<number>((resolve, reject) => {
        const target = options.host.includes(":") ? `[${options.host}]:${candidate}` : `${options.host}:${candidate}`;
        server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
      });
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (port < 0) throw lastError instanceof Error ? lastError : new Error("the gRPC face could not listen");
  const hostText = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    address: `${hostText}:${port}`,
    port,
    async close() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      // Hanging calls would keep a graceful shutdown waiting forever: cut them, as a closing agency does.
      server.forceShutdown();
    },
  };
}
