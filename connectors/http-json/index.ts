// The `http-json` connector kind: JSON over HTTP/1.1 with a keep-alive pool per agency endpoint.
import type { ConnectorFactory } from "../connector.ts";
import { placeholders } from "../mapping.ts";
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
  // Query, header and body placeholders whose param is absent are left out; a path cannot leave one out.
  requiredParams: (operation) => placeholders(operation.path).map((param) => ({ param, option: "path" })),
  create: createHttpJsonConnector,
};
