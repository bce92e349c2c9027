// Admission at the edge: a call to a service that needs a credential (inquiries, the registry) must come
// with one the registry knows — a client certificate verified by the TLS handshake, or an API key in its
// headers (where API keys are allowed) — or it is refused before grpc-js reads its message. Health and
// reflection stay open, bounded by the edge's time and count limits like every stream.
import type { IncomingHttpHeaders } from "node:http2";
import type { TLSSocket } from "node:tls";
import { EstelamError } from "../core/errors.ts";
import type { Registry } from "../registry/registry.ts";
import { peerIdentity } from "./grpc/peer-certificate.ts";
import type { Admit } from "./grpc/server-edge.ts";
import { credentialFrom } from "./interceptors/authenticate.ts";

export interface AdmissionOptions {
  readonly registry: Registry;
  /** Services (`package.Service`) whose calls need a credential. */
  readonly protectedServices: readonly string[];
  /** Whether API keys are accepted; false on a deployment that identifies agencies by certificate only. */
  readonly apiKeys: boolean;
}

function headerText(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function createAdmission(options: AdmissionOptions): Admit {
  const prefixes = options.protectedServices.map((service) => `/${service}/`);
  return (path, headers, stream) => {
    if (!prefixes.some((prefix) => path.startsWith(prefix))) return undefined;
    try {
      const socket = stream.session?.socket as Partial<TLSSocket> | undefined;
      const certificate = typeof socket?.getPeerCertificate === "function" ? peerIdentity(socket.getPeerCertificate()) : undefined;
      const evidence = { certificate, authorization: headerText(headers, "authorization") };
      return `credential ${credentialFrom(evidence, options.registry.current(), options.apiKeys).id}`;
    } catch (error) {
      return EstelamError.from(error);
    }
  };
}
