// `npm run bench:connectors`: what each built-in connector kind costs a call, beside the same call made
// directly with the protocol's plain client, against the demo agencies on 127.0.0.1 (in this process):
// http-json against undici posting JSON, soap against undici posting the same envelope and parsing the
// answer with fast-xml-parser, grpc against a grpc-js client built from the agency's .proto. Rounds
// alternate the two paths because the machine is shared and noisy; the median round of each is reported.
// Then: how long other agencies' callers wait while one agency sends 50,000-key answers.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { XMLParser } from "fast-xml-parser";
import { Pool } from "undici";
import type { Connector, ConnectorFactory, ConnectorRequest } from "../../connectors/connector.ts";
import { grpcConnector } from "../../connectors/grpc/index.ts";
import { httpJsonConnector } from "../../connectors/http-json/index.ts";
import { soapConnector } from "../../connectors/soap/index.ts";
import { GRPC_PROTO_FILES, WELFARE_SERVICE } from "../../simulators/demo-agencies/grpc/face.ts";
import { startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { startAgenciesChild, stopChild } from "./processes.ts";

const CALLS = Number(process.env.BENCH_CALLS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

type Call = () => Promise<unknown>;

async function load(call: Call): Promise<{ perSecond: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) {
        next += 1;
        const t = performance.now();
        await call();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { perSecond: CALLS / seconds, p50: at(0.5), p99: at(0.99) };
}

function median<T>(xs: readonly T[], key: (x: T) => number): T {
  return [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)] as T;
}

function request(params: Record<string, unknown>): ConnectorRequest {
  return {
    inquiryId: "01a20511-0000-7000-8000-000000000000",
    inquiryType: "bench.v1",
    requester: "bench",
    purpose: "bench",
    params: params as ConnectorRequest["params"],
    signal: AbortSignal.timeout(10_000),
    deadline: Date.now() + 10_000,
  };
}

function connectorCall<E, O>(
  factory: ConnectorFactory<E, O>,
  agency: string,
  endpoint: unknown,
  operation: unknown,
  params: Record<string, unknown>,
) {
  const e = factory.validateEndpoint(endpoint, "options");
  const o = factory.validateOperation(operation, "operation");
  if (!e.ok || !o.ok) throw new Error("bad bench options");
  const connector = factory.create(e.options, { agency, endpoint: "bench" }) as Connector;
  const call: Call = async () => {
    const answer = await connector.call(request(params), o.options);
    if (answer.answer !== "found") throw new Error(`${agency}: ${JSON.stringify(answer)}`);
  };
  return { call, close: () => connector.close() };
}

const agencies = await startDemoAgencies({ port: 0 });
const SSO_TOKEN = { username: "estelam", password: "sso-demo-pass-91fa" };
const envelope = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>estelam</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">sso-demo-pass-91fa</wsse:Password></wsse:UsernameToken></wsse:Security></soap:Header><soap:Body><m:GetInsuranceStatusRequest xmlns:m="urn:ir.tamin:insurance:v1"><m:nationalCode>1259301516</m:nationalCode></m:GetInsuranceStatusRequest></soap:Body></soap:Envelope>`;
const pool = new Pool(agencies.url, { connections: 64 });
const xml = new XMLParser();
const welfareClient = (() => {
  const definition = protoLoader.loadSync([...GRPC_PROTO_FILES], { keepCase: true, longs: String, enums: String, defaults: true });
  const Service = grpc.loadPackageDefinition(definition).ir as unknown as {
    mcls: { refah: { v1: { SubsidyService: grpc.ServiceClientConstructor } } };
  };
  return new Service.mcls.refah.v1.SubsidyService(agencies.grpcAddress, grpc.credentials.createInsecure());
})();
const welfareMetadata = new grpc.Metadata();
welfareMetadata.set("authorization", "Bearer welfare-demo-token-3a7e58");

const cases = [
  {
    kind: "http-json",
    agency: "nocr (REST)",
    direct: async () => {
      const r = await pool.request({
        path: "/nocr/identity-match",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ national_code: "0012345679", birth_date: "1348/01/31" }),
      });
      await r.body.json();
    },
    connector: connectorCall(
      httpJsonConnector,
      "nocr",
      { baseUrl: agencies.url },
      { path: "/nocr/identity-match" },
      {
        national_code: "0012345679",
        birth_date: "1348/01/31",
      },
    ),
  },
  {
    kind: "soap",
    agency: "sso (SOAP 1.1, soap package)",
    direct: async () => {
      const r = await pool.request({
        path: "/sso/InsuranceHistoryService",
        method: "POST",
        headers: { "content-type": "text/xml; charset=utf-8", soapaction: '"urn:ir.tamin:insurance:v1/GetInsuranceStatus"' },
        body: envelope,
      });
      xml.parse(await r.body.text());
    },
    connector: connectorCall(
      soapConnector,
      "sso",
      { url: `${agencies.url}/sso/InsuranceHistoryService`, usernameToken: SSO_TOKEN },
      {
        action: "urn:ir.tamin:insurance:v1/GetInsuranceStatus",
        namespace: "urn:ir.tamin:insurance:v1",
        request: "GetInsuranceStatusRequest",
        body: { nationalCode: "{national_code}" },
        result: "GetInsuranceStatusResponse",
        outcome: { field: "resultCode", found: ["OK"] },
      },
      { national_code: "1259301516" },
    ),
  },
  {
    kind: "grpc",
    agency: "welfare (gRPC, reflection)",
    direct: () =>
      new Promise<void>((resolve, reject) =>
        (
          welfareClient as unknown as Record<string, (r: object, m: grpc.Metadata, cb: (e: Error | null) => void) => void>
        ).GetHouseholdDecile?.({ national_code: "0012345679" }, welfareMetadata, (error) => (error === null ? resolve() : reject(error))),
      ),
    connector: connectorCall(
      grpcConnector,
      "welfare",
      { address: agencies.grpcAddress, metadata: { authorization: "Bearer welfare-demo-token-3a7e58" } },
      { method: `${WELFARE_SERVICE}/GetHouseholdDecile` },
      { national_code: "0012345679" },
    ),
  },
];

process.stdout.write(
  `connectors bench: ${CALLS} calls per round at concurrency ${CONCURRENCY}, ${ROUNDS} rounds per path, node ${process.version}\n\n`,
);
process.stdout.write("kind        agency                          direct/s  connector/s  ratio  direct p50/p99 ms  connector p50/p99 ms\n");
for (const c of cases) {
  for (let i = 0; i < 200; i++) {
    await c.direct();
    await c.connector.call();
  }
  const direct: Array<Awaited<ReturnType<typeof load>>> = [];
  const connector: Array<Awaited<ReturnType<typeof load>>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      direct.push(await load(c.direct));
      connector.push(await load(c.connector.call));
    } else {
      connector.push(await load(c.connector.call));
      direct.push(await load(c.direct));
    }
  }
  const d = median(direct, (x) => x.perSecond);
  const k = median(connector, (x) => x.perSecond);
  process.stdout.write(
    `${c.kind.padEnd(11)} ${c.agency.padEnd(31)} ${d.perSecond.toFixed(0).padStart(8)}  ${k.perSecond.toFixed(0).padStart(11)}  ${(k.perSecond / d.perSecond).toFixed(2).padStart(5)}  ${`${d.p50.toFixed(2)}/${d.p99.toFixed(2)}`.padStart(17)}  ${`${k.p50.toFixed(2)}/${k.p99.toFixed(2)}`.padStart(20)}\n`,
  );
  await c.connector.close();
}

// Other agencies' callers while one agency sends 50,000-key answers (each refused after its 10,001st key).
// The agencies run in a process of their own here, so that making the hostile answers costs this one nothing.
const child = await startAgenciesChild();
const control = (body: object) =>
  fetch(`${child.url}/_control/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const others = connectorCall(
  httpJsonConnector,
  "nocr",
  { baseUrl: child.url },
  { path: "/nocr/identity-match" },
  {
    national_code: "0012345679",
    birth_date: "1348/01/31",
  },
);
const hostile = connectorCall(
  httpJsonConnector,
  "cbi",
  { baseUrl: child.url },
  { path: "/cbi/iban-owner" },
  { iban: "IR020540889862171595799372" },
);
for (let i = 0; i < 200; i++) await others.call();
const quiet = await load(others.call);
await control({ agency: "cbi", mode: "wide-json", keys: 50_000 });
let stop = false;
let refused = 0;
const flood = Promise.all(
  Array.from({ length: 8 }, async () => {
    while (!stop) await hostile.call().catch(() => (refused += 1));
  }),
);
const during = await load(others.call);
stop = true;
await flood;
await control({ agency: "*" });
process.stdout.write(
  `\nnocr callers while cbi sends 50,000-key answers (8 callers in a loop, ${refused} answers refused): p50 ${during.p50.toFixed(2)} ms, p99 ${during.p99.toFixed(2)} ms` +
    ` (quiet: p50 ${quiet.p50.toFixed(2)} ms, p99 ${quiet.p99.toFixed(2)} ms)\n`,
);
await others.close();
await hostile.close();
welfareClient.close();
await pool.close();
await agencies.close();
await stopChild(child);
