// How the command line reaches a gateway whose gRPC port serves TLS: ESTELAM_TLS_CA names the CA that signed
// the gateway's certificate (TLS on), and ESTELAM_TLS_CERT / ESTELAM_TLS_KEY the asking agency's client
// certificate for mutual TLS (the registry maps it to the agency; no API key is needed then). None set:
// plaintext, as `npm start` serves.
import { readFileSync } from "node:fs";
import { type ChannelCredentials, credentials } from "@grpc/grpc-js";

function pem(setting: string): Buffer | undefined {
  const path = process.env[setting]?.trim();
  if (path === undefined || path === "") return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`${setting}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Whether the command line presents a client certificate (then it identifies the agency without an API key). */
export function hasClientCertificate(): boolean {
  return (process.env.ESTELAM_TLS_CERT?.trim() ?? "") !== "";
}

/** The channel credentials the ESTELAM_TLS_* settings describe. */
export function channelCredentials(): ChannelCredentials {
  const ca = pem("ESTELAM_TLS_CA");
  const cert = pem("ESTELAM_TLS_CERT");
  const key = pem("ESTELAM_TLS_KEY");
  if ((cert === undefined) !== (key === undefined))
    throw new Error("ESTELAM_TLS_CERT and ESTELAM_TLS_KEY go together: set both, or neither");
  if (ca === undefined && cert === undefined) return credentials.createInsecure();
  return credentials.createSsl(ca ?? null, key ?? null, cert ?? null);
}
