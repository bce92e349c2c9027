// The `soap` connector kind: SOAP 1.1 and 1.2 over HTTP with a keep-alive pool per agency endpoint.
import type { ConnectorFactory } from "../connector.ts";
import { createSoapConnector } from "./connector.ts";
import {
  ENDPOINT_SCHEMA,
  OPERATION_SCHEMA,
  type SoapEndpointOptions,
  type SoapOperation,
  validateEndpoint,
  validateOperation,
} from "./options.ts";

export const soapConnector: ConnectorFactory<SoapEndpointOptions, SoapOperation> = {
  kind: "soap",
  endpointSchema: ENDPOINT_SCHEMA,
  operationSchema: OPERATION_SCHEMA,
  validateEndpoint,
  validateOperation,
  create: createSoapConnector,
};
