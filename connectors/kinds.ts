// Connector kinds by name, like grpc-js's resolver registry: an Endpoint document refers to a kind by its name,
// and the registry asks the kind's factory to validate options and create connectors. Third-party kinds are
// added when an Endpoint document names their module (connectors/modules.ts).
import type { ConnectorFactory } from "./connector.ts";
import { grpcConnector } from "./grpc/index.ts";
import { httpJsonConnector } from "./http-json/index.ts";
import { type LoadedModule, loadConnectorModule } from "./modules.ts";
import { soapConnector } from "./soap/index.ts";

export type ModuleLoad = { readonly ok: true; readonly kind: string } | { readonly ok: false; readonly message: string };

export interface ConnectorKinds {
  get(kind: string): ConnectorFactory | undefined;
  names(): readonly string[];
  /** Loads (once) the connector module named by an Endpoint document and registers its kind. */
  load(specifier: string): ModuleLoad;
}

export function createConnectorKinds(
  factories: readonly ConnectorFactory[],
  loader: (specifier: string) => LoadedModule = (specifier) => loadConnectorModule(specifier),
): ConnectorKinds {
  const byKind = new Map<string, ConnectorFactory>();
  const byModule = new Map<string, ModuleLoad>();
  for (const factory of factories) {
    if (byKind.has(factory.kind)) throw new Error(`connector kind '${factory.kind}' is registered twice`);
    byKind.set(factory.kind, factory);
  }
  return {
    get: (kind) => byKind.get(kind),
    names: () => [...byKind.keys()],
    load(specifier) {
      const known = byModule.get(specifier);
      if (known !== undefined) return known;
      const loaded = loader(specifier);
      let result: ModuleLoad;
      if (!loaded.ok) result = loaded;
      else if (byKind.has(loaded.factory.kind))
        result = { ok: false, message: `connector module '${specifier}' gives kind '${loaded.factory.kind}', which is already registered` };
      else {
        byKind.set(loaded.factory.kind, loaded.factory);
        result = { ok: true, kind: loaded.factory.kind };
      }
      // A module that failed may be installed later: only successes are remembered.
      if (result.ok) byModule.set(specifier, result);
      return result;
    },
  };
}

/** The kinds shipped with Estelam. */
export function builtInConnectorKinds(): ConnectorKinds {
  return createConnectorKinds([httpJsonConnector, soapConnector, grpcConnector] as unknown as ConnectorFactory[]);
}
