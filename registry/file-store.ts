// A catalogue kept as a JSON file. String values may refer to variables as `${NAME}` or `${NAME:-default}`
// (e.g. agency URLs that differ per deployment); a reference to an unset variable without a default is an
// error naming the variable and where it is used.
import { readFile } from "node:fs/promises";
import type { RegistryStore } from "./store.ts";

export interface FileRegistryStoreOptions {
  readonly path: string;
  /** Variables for `${NAME}` references, usually process.env. */
  readonly vars?: Readonly<Record<string, string | undefined>>;
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${NAME}` references in every string of a parsed document. Returns the problems found. */
export function interpolate(value: unknown, vars: Readonly<Record<string, string | undefined>>, path: string, problems: string[]): unknown {
  if (typeof value === "string") {
    return value.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
      const found = vars[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      problems.push(`${path}: variable \${${name}} is not set`);
      return "";
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, vars, `${path}[${i}]`, problems));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, vars, `${path}.${k}`, problems)]));
  }
  return value;
}

export function createFileRegistryStore(options: FileRegistryStoreOptions): RegistryStore {
  const vars = options.vars ?? {};
  return {
    kind: "file",
    source: options.path,
    async read() {
      let text: string;
      try {
        text = await readFile(options.path, "utf8");
      } catch (error) {
        throw new Error(`catalogue ${options.path}: cannot be read: ${(error as Error).message}`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new Error(`catalogue ${options.path}: is not valid JSON: ${(error as Error).message}`);
      }
      const problems: string[] = [];
      const document = interpolate(parsed, vars, "catalogue", problems);
      if (problems.length > 0) throw new Error(`catalogue ${options.path}: ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
      return document;
    },
  };
}
