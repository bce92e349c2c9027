// The traffic police's services, built on an older .NET stack: GET with query-string parameters, HTTP
// basic authentication, PascalCase fields and every answer wrapped in
// {"IsSuccess", "ErrorCode", "Message", "Data"}, with a matching HTTP status.
import { parseNationalCode } from "../../../core/identifiers.ts";
import { DEMO_CREDENTIALS } from "../agencies.ts";
import { type AgencyRequest, type HandledRoute, json, jsonStyle, type Reply } from "../http/route.ts";
import type { Lookup } from "../records/lookup.ts";
import { drivingLicence, type Plate, parsePlate, parseVin, trafficFines, type Vehicle, vehicleOwnership } from "../records/vehicles.ts";
import { hasBasic } from "./auth.ts";
import { requiredField } from "./fields.ts";

function envelope(status: number, errorCode: number, message: string, data: unknown = null): Reply {
  return json(status, { IsSuccess: status === 200, ErrorCode: errorCode, Message: message, Data: data });
}

const style = jsonStyle((status, _code, message) => ({ IsSuccess: false, ErrorCode: 1000 + status, Message: message, Data: null }));

function answer<T>(lookup: Lookup<T>, data: (record: T) => unknown): Reply {
  switch (lookup.kind) {
    case "found":
      return envelope(200, 0, "", data(lookup.record));
    case "not_found":
      return envelope(404, 1404, lookup.message);
    case "rejected":
      return envelope(403, 1403, lookup.message);
  }
}

function authorised(request: AgencyRequest): Reply | undefined {
  const { username, password } = DEMO_CREDENTIALS.rahvar;
  if (hasBasic(request.headers, username, password)) return undefined;
  return { ...envelope(401, 1401, "authentication is required"), headers: { "www-authenticate": 'Basic realm="rahvar", charset="UTF-8"' } };
}

/** Query parameters are matched without regard to case, as ASP.NET binds them. */
function query(request: AgencyRequest, name: string): string | undefined {
  for (const [key, value] of request.url.searchParams) if (key.toLowerCase() === name.toLowerCase()) return value;
  return undefined;
}

function plateDisplay(plate: Plate): string {
  return `${plate.twoDigits} ${plate.letter} ${plate.threeDigits} - ایران ${plate.provinceCode}`;
}

function route(path: string, handle: (request: AgencyRequest) => Reply): HandledRoute {
  return {
    agency: "rahvar",
    methods: ["GET"],
    path,
    style,
    handle(request) {
      return authorised(request) ?? handle(request);
    },
  };
}

export const RAHVAR_ROUTES: readonly HandledRoute[] = [
  route("/rahvar/api/TrafficFines", (request) => {
    const plateText = query(request, "Plate");
    const vinText = query(request, "Vin");
    if ((plateText === undefined) === (vinText === undefined)) return envelope(400, 1400, "give exactly one of Plate or Vin");
    let vehicle: Vehicle;
    if (plateText !== undefined) {
      const parsed = parsePlate(plateText);
      if (!parsed.ok) return envelope(400, 1400, `Plate ${parsed.problem}`);
      vehicle = { plate: parsed.value };
    } else {
      const vin = requiredField(vinText, "Vin", parseVin);
      if (!vin.ok) return envelope(400, 1400, vin.problem);
      vehicle = { vin: vin.value };
    }
    return answer(trafficFines(vehicle), (fines) => ({
      ...("plate" in vehicle ? { Plate: plateDisplay(vehicle.plate) } : { Vin: vehicle.vin }),
      TotalAmount: fines.totalAmount,
      Count: fines.fines.length,
      Fines: fines.fines.map((fine) => ({
        SerialNumber: fine.serialNumber,
        OffenceCode: fine.offenceCode,
        Description: fine.description,
        Amount: fine.amount,
        OccurredAt: fine.occurredAt,
        City: fine.city,
        BillId: fine.billId,
        PaymentId: fine.paymentId,
      })),
    }));
  }),
  route("/rahvar/api/DrivingLicence", (request) => {
    const code = requiredField(query(request, "NationalCode"), "NationalCode", parseNationalCode);
    if (!code.ok) return envelope(400, 1400, code.problem);
    const number = requiredField(query(request, "LicenceNumber"), "LicenceNumber", (input) =>
      /^\d{10}$/.test(input.trim()) ? { ok: true, value: input.trim() } : { ok: false, problem: "must be 10 digits" },
    );
    if (!number.ok) return envelope(400, 1400, number.problem);
    return answer(drivingLicence(code.value, number.value), (licence) => ({
      LicenceNumber: licence.licenceNumber,
      Status: licence.status,
      Class: licence.licenceClass,
      IssuedOn: licence.issuedOn,
      ExpiresOn: licence.expiresOn,
      NegativePoints: licence.negativePoints,
    }));
  }),
  route("/rahvar/api/VehicleOwnership", (request) => {
    const code = requiredField(query(request, "NationalCode"), "NationalCode", parseNationalCode);
    if (!code.ok) return envelope(400, 1400, code.problem);
    const plateText = query(request, "Plate");
    let plate: Plate | undefined;
    if (plateText !== undefined) {
      const parsed = parsePlate(plateText);
      if (!parsed.ok) return envelope(400, 1400, `Plate ${parsed.problem}`);
      plate = parsed.value;
    }
    return answer(vehicleOwnership(code.value, plate), (ownership) => ({
      IsOwner: ownership.isOwner,
      Vehicles: ownership.vehicles.map((vehicle) => ({
        Plate: vehicle.plate,
        Model: vehicle.model,
        Year: vehicle.year,
        Colour: vehicle.colour,
        Vin: vehicle.vin,
      })),
    }));
  }),
];
