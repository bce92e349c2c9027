// Third-party connector kinds: an Endpoint document may name, in `spec.module`, an npm package (resolved
// from the gateway's working directory, like `npm install` puts it) or a module path (absolute, or relative
// to the working directory). The module is loaded synchronously (Node's require of ES modules) when the
// document is first validated, given the ConnectorSdk, and its kind is registered beside the built-in ones.
// Loading code is an administrator's act: only an admin credential may change registry documents.
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { EstelamError } from "../core/errors.ts";
import type { ConnectorFactory, ConnectorSdk, OptionIssue } from "./connector.ts";
import { abortError } from "./deadline.ts";
import { optionsSchema } from "./options.ts";

const sdk: ConnectorSdk = {
  version: 1,
  error: (reason, message, agency) => new EstelamError(reason, message, { agency }),
  abortError: (signal, agency) => abortError(signal, agency),
  optionsSchema: <T>(
    schema: Record<string, unknown>,
    resolveOptions?: (valid: Record<string, unknown>, path: string, issues: OptionIssue[]) => T,
  ) => optionsSchema<T>(schema, resolveOptions ?? ((valid) => valid as T)),
};

export const CONNECTOR_SDK: ConnectorSdk = Object.freeze(sdk);

function isFactory(value: unknown): value is ConnectorFactory {
  if (typeof value !== "object" || value === null) return false;
  const f = value as Record<string, unknown>;
  return (
    typeof f.kind === "string" &&
    typeof f.validateEndpoint === "function" &&
    typeof f.validateOperation === "function" &&
    (f.requiredParams === undefined || typeof f.requiredParams === "function") &&
    typeof f.create === "function"
  );
}

export type LoadedModule =
  | { readonly ok: true; readonly factory: ConnectorFactory; readonly exports: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly message: string };

/** Where a module specifier points: a path when it starts with `.` or `/`, a package name otherwise. */
export function resolveSpecifier(specifier: string, cwd = process.cwd()): string {
  if (specifier.startsWith(".") || isAbsolute(specifier)) return resolve(cwd, specifier);
  return specifier;
}

/** Loads a connector module and checks that it gives a connector kind. */
export function loadConnectorModule(specifier: string, cwd = process.cwd()): LoadedModule {
  const require = createRequire(join(cwd, "estelam-connector-loader.cjs"));
  let exported: Record<string, unknown>;
  try {
    exported = require(resolveSpecifier(specifier, cwd)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND" ? "not found" : (error as Error).message.split("\n")[0];
    return { ok: false, message: `cannot load connector module '${specifier}': ${message}` };
  }
  const entry = exported.createConnectorKind ?? exported.default;
  let factory: unknown = entry;
  if (typeof entry === "function") {
    try {
      factory = (entry as (sdk: ConnectorSdk) => unknown)(CONNECTOR_SDK);
    } catch (error) {
      return { ok: false, message: `connector module '${specifier}' failed to start: ${(error as Error).message}` };
    }
  }
  if (!isFactory(factory))
    return {
      ok: false,
      message: `connector module '${specifier}' does not export a connector kind (a default export function (sdk) => { kind, validateEndpoint, validateOperation, create })`,
    };
  return { ok: true, factory, exports: exported };
}
