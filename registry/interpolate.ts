// `${NAME}` and `${NAME:-default}` in the strings of a document are filled from the gateway instance's
// environment when a revision is served (e.g. agency URLs or agency-issued keys that differ per
// deployment). The stored document keeps the reference, so a secret given this way never reaches the
// database. A reference to an unset variable without a default is a problem naming the variable. The
// gateway's own settings (ESTELAM_*, KAFKA_BROKERS) cannot be referred to: a document must not be able to
// copy the audit key into a request header.

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type Vars = Readonly<Record<string, string | undefined>>;

export interface InterpolationIssue {
  readonly path: string;
  readonly message: string;
}

function forbidden(name: string): boolean {
  return name.startsWith("ESTELAM_") || name === "KAFKA_BROKERS";
}

/** Replaces references in every string of a value; `path` names where the value sits, for issues. */
export function interpolate(value: unknown, vars: Vars, path: string, issues: InterpolationIssue[]): unknown {
  if (typeof value === "string") {
    if (!value.includes("${")) return value;
    return value.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
      if (forbidden(name)) {
        issues.push({ path, message: `\${${name}} refers to a setting of the gateway itself, which documents may not read` });
        return "";
      }
      const found = vars[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      issues.push({ path, message: `variable \${${name}} is not set on this gateway instance` });
      return "";
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, vars, `${path}[${i}]`, issues));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, vars, path === "" ? k : `${path}.${k}`, issues)]));
  }
  return value;
}
