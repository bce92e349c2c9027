// Starts every simulated agency for `npm start`, the tests and the benchmarks: the HTTP face (REST and
// SOAP agencies and the control API), the gRPC face, the TLS faces with good and bad certificates, and
// "elsewhere", another host and port that redirects lead to. Nothing is stored: every answer is derived
// from the identifier asked about. Nothing is logged: requests carry personal identifiers.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AGENCIES, AGENCY_INFO, type AgencyInfo, type AgencyName } from "./agencies.ts";
import { createFaultControl, type FaultControl } from "./faults.ts";
import { CENTINSUR_SERVICE, GRPC_PROTO_FILES, type GrpcFace, startGrpcFace, WELFARE_SERVICE } from "./grpc/face.ts";
import type { TrapUrls } from "./hostile/http.ts";
import { type KeyAndCertificate, tlsMaterial } from "./hostile/tls.ts";
import { createTrapCounter, type TrapCounts } from "./hostile/traps.ts";
import { createControl } from "./http/control.ts";
import { createHttpFace, type RequestListener } from "./http/face.ts";
import type { HttpRoute } from "./http/route.ts";
import { CLASSIC_ROUTES } from "./rest/classic.ts";
import { CRA_ROUTES } from "./rest/cra.ts";
import { NEZAM_ROUTES } from "./rest/nezam.ts";
import { PASSPORT_ROUTES } from "./rest/passport.ts";
import { RAHVAR_ROUTES } from "./rest/rahvar.ts";
import { SAYAD_ROUTES } from "./rest/sayad.ts";
import { SSAA_ROUTES } from "./soap/ssaa.ts";
import { createSsoAgency, SOAP_PACKAGE_VERSION } from "./soap/sso.ts";
import { createStatsCounter, type DemoStats } from "./stats.ts";

export type { AgencyName } from "./agencies.ts";
export type { FaultControl, FaultSettings, FaultSpec } from "./faults.ts";
export type { TrapCounts } from "./hostile/traps.ts";
export type { AgencyStats, DemoStats } from "./stats.ts";

export interface DemoAgenciesOptions {
  /** Interface to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** Port of the HTTP face; 0 (the default) picks a free one. */
  readonly port?: number;
  /**
   * Port of the gRPC face. By default the next port after the HTTP face's when that is fixed (a free one
   * if the next is taken), a free one when the HTTP face's is 0.
   */
  readonly grpcPort?: number;
}

/** The TLS faces: the same agencies as the HTTP face, behind certificates good and bad. */
export interface TlsFaces {
  /** Signed by the demo CA for 127.0.0.1 and localhost. */
  readonly valid: string;
  readonly expired: string;
  /** Valid, but for another host name. */
  readonly wrongHost: string;
  readonly selfSigned: string;
  /** Like `valid`, and requires a client certificate signed by the demo CA. */
  readonly mutual: string;
  /** PEM of the demo CA. */
  readonly caCertificate: string;
  /** A client certificate (and key) the `mutual` face accepts. */
  readonly clientCertificate: KeyAndCertificate;
  /** The same three as files (for catalogues, which name files): ca.pem, client.pem, client-key.pem. */
  readonly files: { readonly ca: string; readonly clientCert: string; readonly clientKey: string };
}

export interface AgencyDescription extends AgencyInfo {
  /** Where to call it: `POST http://…/nocr/identity-match`, `http://…/ssaa/CompanyInquiryService`, `127.0.0.1:8091 ir.mcls…`. */
  readonly endpoints: readonly string[];
  /** SOAP agencies: the WSDL's address. gRPC agencies: the .proto file. */
  readonly contract?: string;
}

export interface DemoAgenciesDescription {
  readonly http: string;
  readonly grpc: string;
  readonly tls: Omit<TlsFaces, "caCertificate" | "clientCertificate" | "files">;
  readonly elsewhere: string;
  readonly soapPackage: { readonly agency: "sso"; readonly version: string; readonly requestsHandled: number };
  readonly vars: Readonly<Record<string, string>>;
  readonly agencies: readonly AgencyDescription[];
}

export interface DemoAgencies {
  /** Base URL of the HTTP face, e.g. `http://127.0.0.1:8090` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** `host:port` of the gRPC face. */
  readonly grpcAddress: string;
  readonly grpcPort: number;
  readonly tls: TlsFaces;
  /** Base URL of the other host redirects lead to. */
  readonly elsewhereUrl: string;
  /**
   * Catalogue variables for these agencies: DEMO_AGENCIES_URL (the HTTP face: REST and SOAP),
   * DEMO_GRPC_ADDRESS, DEMO_TLS_URL, DEMO_MTLS_URL, DEMO_TLS_CA_FILE, DEMO_TLS_CLIENT_CERT_FILE,
   * DEMO_TLS_CLIENT_KEY_FILE.
   */
  readonly vars: Readonly<Record<string, string>>;
  readonly faults: FaultControl;
  stats(): DemoStats;
  resetStats(): void;
  traps(): TrapCounts;
  resetTraps(): void;
  /** Requests the `soap` package's server has dispatched to an operation of the sso agency. */
  soapPackageRequests(): number;
  describe(): DemoAgenciesDescription;
  /** Stops listening and drops every open connection and call, hanging ones included. */
  close(): Promise<void>;
}

// Longer than clients' idle timeouts (the http-json connector's default is 30 s), so that the client, not
// the server, closes an idle connection: a server-side close can race a request being sent on it.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

function listen(server: HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The other host: answers anything with a plausible answer, and counts who followed a redirect there. */
function elsewhereListener(onVisit: (agency: string) => void): RequestListener {
  return (req, res) => {
    req.resume();
    const match = /^\/landing\/([a-z]+)(?:\/|$)/.exec(req.url ?? "/");
    if (match !== null) onVisit(match[1] ?? "");
    const body = JSON.stringify({ match: true, note: "this answer came from another host" });
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
}

function describeEndpoints(
  agency: AgencyName,
  routes: readonly HttpRoute[],
  http: string,
  grpc: string,
): Pick<AgencyDescription, "endpoints" | "contract"> {
  const info = AGENCY_INFO[agency];
  if (info.face === "grpc") {
    const service = agency === "welfare" ? WELFARE_SERVICE : CENTINSUR_SERVICE;
    const proto = GRPC_PROTO_FILES.find((file) => file.endsWith(`${agency}.proto`)) ?? "";
    return { endpoints: [`${grpc} ${service}`], contract: proto };
  }
  const own = routes.filter((route) => route.agency === agency);
  const endpoints = own.map((route) => `${route.methods.join("|")} ${http}${route.template ?? String(route.path)}`);
  if (info.face === "rest") return { endpoints };
  const path = typeof own[0]?.path === "string" ? own[0].path : "";
  return { endpoints, contract: `${http}${path}?wsdl` };
}

export async function startDemoAgencies(options: DemoAgenciesOptions = {}): Promise<DemoAgencies> {
  const host = options.host ?? "127.0.0.1";
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const faults = createFaultControl();
  const stats = createStatsCounter();
  const traps = createTrapCounter();
  const material = tlsMaterial();
  const sso = await createSsoAgency();
  const routes: readonly HttpRoute[] = [
    ...CLASSIC_ROUTES,
    ...SAYAD_ROUTES,
    ...CRA_ROUTES,
    ...RAHVAR_ROUTES,
    ...NEZAM_ROUTES,
    ...PASSPORT_ROUTES,
    ...SSAA_ROUTES,
    ...sso.routes,
  ];

  let trapUrls: TrapUrls | undefined;
  let description: (() => DemoAgenciesDescription) | undefined;
  const control = createControl({
    faults,
    stats,
    traps,
    describe: () => description?.(),
    tls: { caCertificate: material.caCertificate, clientPem: `${material.client.cert}${material.client.key}` },
  });
  const listener = createHttpFace({
    routes,
    faults,
    stats,
    control,
    trapUrls: () => {
      if (trapUrls === undefined) throw new Error("the faces are not listening yet");
      return trapUrls;
    },
  });

  const http = createHttpServer({ keepAlive: true, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, listener);
  const elsewhere = createHttpServer(elsewhereListener((agency) => traps.redirectFollowed(agency)));
  const httpsOptions = (pair: KeyAndCertificate, extra: HttpsOptions = {}): HttpsOptions => ({
    key: pair.key,
    cert: pair.cert,
    keepAlive: true,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    ...extra,
  });
  const tlsServers = {
    valid: createHttpsServer(httpsOptions(material.valid), listener),
    expired: createHttpsServer(httpsOptions(material.expired), listener),
    wrongHost: createHttpsServer(httpsOptions(material.wrongHost), listener),
    selfSigned: createHttpsServer(httpsOptions(material.selfSigned), listener),
    mutual: createHttpsServer(
      httpsOptions(material.valid, { ca: material.caCertificate, requestCert: true, rejectUnauthorized: true }),
      listener,
    ),
  };
  const servers: HttpServer[] = [http, elsewhere, ...Object.values(tlsServers)];
  const files = mkdtempSync(join(tmpdir(), "estelam-demo-tls-"));
  let grpcFace: GrpcFace | undefined;
  const stopAll = async (): Promise<void> => {
    await Promise.all([...servers.map(closeServer), grpcFace?.close()]);
    rmSync(files, { recursive: true, force: true });
  };

  try {
    const port = await listen(http, host, options.port ?? 0);
    const url = `http://${urlHost}:${port}`;
    const elsewherePort = await listen(elsewhere, host, 0);
    const tlsPorts: Record<keyof typeof tlsServers, number> = { valid: 0, expired: 0, wrongHost: 0, selfSigned: 0, mutual: 0 };
    for (const [name, server] of Object.entries(tlsServers) as Array<[keyof typeof tlsServers, HttpServer]>)
      tlsPorts[name] = await listen(server, host, 0);
    const grpcPorts = options.grpcPort !== undefined ? [options.grpcPort] : port === 0 || port === 65_535 ? [0] : [port + 1, 0];
    grpcFace = await startGrpcFace({ host, ports: grpcPorts, faults, stats });
    const grpc = grpcFace;

    // Redirects to "another host" name it `localhost` where the faces listen on 127.0.0.1.
    const otherHost = host === "127.0.0.1" ? "localhost" : urlHost;
    trapUrls = {
      canary: (agency) => `${url}/_control/xxe-canary/${agency}`,
      elsewhere: `http://${otherHost}:${elsewherePort}`,
      self: url,
    };
    const tlsUrl = (name: keyof typeof tlsServers): string => `https://${urlHost}:${tlsPorts[name]}`;
    const tlsUrls = {
      valid: tlsUrl("valid"),
      expired: tlsUrl("expired"),
      wrongHost: tlsUrl("wrongHost"),
      selfSigned: tlsUrl("selfSigned"),
      mutual: tlsUrl("mutual"),
    };
    const tlsFiles = { ca: join(files, "ca.pem"), clientCert: join(files, "client.pem"), clientKey: join(files, "client-key.pem") };
    writeFileSync(tlsFiles.ca, material.caCertificate);
    writeFileSync(tlsFiles.clientCert, material.client.cert);
    writeFileSync(tlsFiles.clientKey, material.client.key, { mode: 0o600 });
    const vars = {
      DEMO_AGENCIES_URL: url,
      DEMO_GRPC_ADDRESS: grpc.address,
      DEMO_TLS_URL: tlsUrls.valid,
      DEMO_MTLS_URL: tlsUrls.mutual,
      DEMO_TLS_CA_FILE: tlsFiles.ca,
      DEMO_TLS_CLIENT_CERT_FILE: tlsFiles.clientCert,
      DEMO_TLS_CLIENT_KEY_FILE: tlsFiles.clientKey,
    };
    const describe = (): DemoAgenciesDescription => ({
      http: url,
      grpc: grpc.address,
      tls: tlsUrls,
      elsewhere: trapUrls?.elsewhere ?? "",
      soapPackage: { agency: "sso", version: SOAP_PACKAGE_VERSION, requestsHandled: sso.requestsHandled() },
      vars,
      agencies: AGENCIES.map((agency) => ({ ...AGENCY_INFO[agency], ...describeEndpoints(agency, routes, url, grpc.address) })),
    });
    description = describe;

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      grpcAddress: grpc.address,
      grpcPort: grpc.port,
      tls: { ...tlsUrls, caCertificate: material.caCertificate, clientCertificate: material.client, files: tlsFiles },
      elsewhereUrl: trapUrls.elsewhere,
      vars,
      faults,
      stats: stats.snapshot,
      resetStats: stats.reset,
      traps: traps.snapshot,
      resetTraps: traps.reset,
      soapPackageRequests: sso.requestsHandled,
      describe,
      close() {
        closing ??= stopAll();
        return closing;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
