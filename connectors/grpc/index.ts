// The `grpc` connector kind: unary gRPC calls described by reflection or by the agency's .proto files.
import type { ConnectorFactory } from "../connector.ts";
import { createGrpcConnector } from "./connector.ts";
import {
  ENDPOINT_SCHEMA,
  type GrpcEndpointOptions,
  type GrpcOperation,
  OPERATION_SCHEMA,
  validateEndpoint,
  validateOperation,
} from "./options.ts";

export const grpcConnector: ConnectorFactory<GrpcEndpointOptions, GrpcOperation> = {
  kind: "grpc",
  endpointSchema: ENDPOINT_SCHEMA,
  operationSchema: OPERATION_SCHEMA,
  validateEndpoint,
  validateOperation,
  create: createGrpcConnector,
};
