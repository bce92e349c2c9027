// Registry documents as engineers keep them in version control: YAML (several per file, separated by
// `---`) or JSON (one document or a list of them per file), in the style of `kubectl apply`:
//
//   apiVersion: estelam.ir/v1
//   kind: Agency            # Agency, Credential, Endpoint, InquiryType, Binding or Grant
//   metadata: { name: nocr }
//   spec: { ... }
//
// This file reads them from disk and gives each its source (`agencies/nocr.yaml#2`), identity (kind and
// name) and content digest. Validation of a whole set is registry/build.ts.
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, relative } from "node:path";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { parseAllDocuments } from "yaml";
import type { Problem } from "./catalogue.ts";

export const API_VERSION = "estelam.ir/v1";

/** The kinds of document, in the order they are listed and validated. */
export const KINDS = ["Agency", "Credential", "Endpoint", "InquiryType", "Binding", "Grant"] as const;
export type Kind = (typeof KINDS)[number];

export function isKind(value: unknown): value is Kind {
  return typeof value === "string" && (KINDS as readonly string[]).includes(value);
}

/** One document and where it came from. */
export interface RegistryDocument {
  /** e.g. `registry/catalogues/demo/nocr.yaml#2`; `registry` for one read back from the store. */
  readonly source: string;
  readonly content: JsonObject;
}

/** `Kind/name`, the identity of a document in the registry. */
export function documentKey(kind: string, name: string): string {
  return `${kind}/${name}`;
}

/** The kind and name a document says it has (unchecked: either may be missing or of the wrong type). */
export function identify(content: JsonObject): { readonly kind: string; readonly name: string } {
  const metadata = content.metadata;
  const name = typeof metadata === "object" && metadata !== null && !Array.isArray(metadata) ? metadata.name : undefined;
  return { kind: typeof content.kind === "string" ? content.kind : "", name: typeof name === "string" ? name : "" };
}

/** JSON with object keys sorted at every level, so equal content always gives the same text. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as JsonValue)}`).join(",")}}`;
}

/** SHA-256 (hex) of a document's canonical JSON: equal exactly when the content is equal. */
export function documentDigest(content: JsonObject): string {
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}

/** Orders documents by kind (as KINDS lists them), then name. */
export function compareDocuments(a: JsonObject, b: JsonObject): number {
  const ia = identify(a);
  const ib = identify(b);
  const ka = KINDS.indexOf(ia.kind as Kind);
  const kb = KINDS.indexOf(ib.kind as Kind);
  return ka !== kb ? (ka < 0 ? 99 : ka) - (kb < 0 ? 99 : kb) : ia.name < ib.name ? -1 : ia.name > ib.name ? 1 : 0;
}

const EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Nesting deeper than any registry document needs; deeper input is refused rather than recursed into. */
const MAX_DEPTH = 64;

/**
 * JSON values only: YAML can say things JSON cannot (non-finite numbers, binary, dates, and an alias that
 * refers to its own ancestor, which would make an endless structure).
 */
function asJson(value: unknown, path: string, problems: string[], ancestors: unknown[] = []): JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) problems.push(`${path}: is not a finite number`);
    return Number.isFinite(value) ? value : null;
  }
  if (typeof value === "object" && ancestors.includes(value)) {
    problems.push(`${path || "document"}: refers to itself (a recursive YAML alias)`);
    return null;
  }
  if (ancestors.length >= MAX_DEPTH && typeof value === "object") {
    problems.push(`${path || "document"}: is nested more than ${MAX_DEPTH} levels deep`);
    return null;
  }
  const inner = [...ancestors, value];
  if (Array.isArray(value)) return value.map((v, i) => asJson(v, `${path}[${i}]`, problems, inner));
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = asJson(v, path === "" ? k : `${path}.${k}`, problems, inner);
    return out;
  }
  problems.push(`${path || "document"}: holds a value JSON cannot represent`);
  return null;
}

/** Parses one file's text into documents. YAML is a superset of JSON, so one parser reads both. */
export function parseDocuments(text: string, file: string): { documents: RegistryDocument[]; problems: Problem[] } {
  const documents: RegistryDocument[] = [];
  const problems: Problem[] = [];
  const parsed = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(parsed) ? parsed : [parsed];
  let position = 0;
  for (const doc of list) {
    if (doc.errors.length > 0) {
      for (const error of doc.errors) {
        const line = error.linePos?.[0];
        problems.push({
          source: line === undefined ? file : `${file}:${line.line}`,
          document: "",
          path: "",
          message: `is not valid YAML/JSON: ${error.message.split("\n")[0]}`,
        });
      }
      continue;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // an empty document, e.g. after a final `---`
    // A JSON file may hold a list of documents.
    for (const item of Array.isArray(value) ? value : [value]) {
      position += 1;
      const source = `${file}#${position}`;
      const issues: string[] = [];
      const content = asJson(item, "", issues);
      for (const issue of issues) problems.push({ source, document: "", path: "", message: issue });
      if (typeof content !== "object" || content === null || Array.isArray(content)) {
        problems.push({ source, document: "", path: "", message: "must be an object with apiVersion, kind, metadata and spec" });
        continue;
      }
      documents.push({ source, content });
    }
  }
  return { documents, problems };
}

async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push(path);
  }
  return files.sort();
}

/**
 * Reads the documents of a file, or of every `.yaml`, `.yml` and `.json` file under a folder (sorted by
 * path, subfolders included). Sources are shown relative to `base` (default: the working directory).
 */
export async function readDocuments(path: string, base = process.cwd()): Promise<{ documents: RegistryDocument[]; problems: Problem[] }> {
  let files: string[];
  try {
    files = (await stat(path)).isDirectory() ? await listFiles(path) : [path];
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or folder" : (error as Error).message;
    return { documents: [], problems: [{ source: path, document: "", path: "", message: `cannot be read: ${reason}` }] };
  }
  if (files.length === 0) {
    return { documents: [], problems: [{ source: path, document: "", path: "", message: "holds no .yaml, .yml or .json file" }] };
  }
  const documents: RegistryDocument[] = [];
  const problems: Problem[] = [];
  for (const file of files) {
    const shown = relative(base, file) || file;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      problems.push({ source: shown, document: "", path: "", message: `cannot be read: ${(error as Error).message}` });
      continue;
    }
    const parsed = parseDocuments(text, shown);
    documents.push(...parsed.documents);
    problems.push(...parsed.problems);
  }
  return { documents, problems };
}
