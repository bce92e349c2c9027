// The `http-json` connector kind: JSON over HTTP/1.1 with a keep-alive pool per agency endpoint.
import type { ConnectorFactory } from "../connector.ts";
import { createHttpJsonConnector } from "./connector.ts";
import {
  ENDPOINT_SCHEMA,
  type HttpJsonEndpointOptions,
  type HttpJsonOperation,
  OPERATION_SCHEMA,
  validateEndpoint,
  validateOperation,
} from "./options.ts";

export const httpJsonConnector: ConnectorFactory<HttpJsonEndpointOptions, HttpJsonOperation> = {
  kind: "http-json",
  endpointSchema: ENDPOINT_SCHEMA,
  operationSchema: OPERATION_SCHEMA,
  validateEndpoint,
  validateOperation,
  create: createHttpJsonConnector,
};
