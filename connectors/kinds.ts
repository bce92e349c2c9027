// Connector kinds by name, like grpc-js's resolver registry: an Endpoint document refers to a kind by its name,
// and the registry asks the kind's factory to validate options and create connectors.
import type { ConnectorFactory } from "./connector.ts";
import { httpJsonConnector } from "./http-json/index.ts";

export interface ConnectorKinds {
  get(kind: string): ConnectorFactory | undefined;
  names(): readonly string[];
}

export function createConnectorKinds(factories: readonly ConnectorFactory[]): ConnectorKinds {
  const byKind = new Map<string, ConnectorFactory>();
  for (const factory of factories) {
    if (byKind.has(factory.kind)) throw new Error(`connector kind '${factory.kind}' is registered twice`);
    byKind.set(factory.kind, factory);
  }
  return {
    get: (kind) => byKind.get(kind),
    names: () => [...byKind.keys()],
  };
}

/** The kinds shipped with Estelam. */
export function builtInConnectorKinds(): ConnectorKinds {
  return createConnectorKinds([httpJsonConnector as ConnectorFactory]);
}
