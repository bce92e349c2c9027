// How the `estelam registry` commands print changes, problems, revisions and documents: as YAML and
// unified diffs for people (the `yaml` and `diff` libraries), or as protobuf JSON with --json.
import type { JsonObject } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createTwoFilesPatch } from "diff";
import { stringify } from "yaml";
import {
  type Change,
  ChangeResult,
  ChangeType,
  type DocumentChange,
  type Problem,
  type Revision,
  RevisionAction,
} from "../gen/estelam/registry/v1/registry_pb.js";

const CHANGE_WORDS: Readonly<Record<number, string>> = {
  [ChangeType.CREATED]: "created",
  [ChangeType.UPDATED]: "updated",
  [ChangeType.DELETED]: "deleted",
};
const ACTION_WORDS: Readonly<Record<number, string>> = {
  [RevisionAction.SEED]: "seed",
  [RevisionAction.APPLY]: "apply",
  [RevisionAction.DELETE]: "delete",
  [RevisionAction.ROLLBACK]: "rollback",
};

export function toYaml(document: JsonObject | undefined): string {
  return document === undefined ? "" : stringify(document, { lineWidth: 0 });
}

export function formatProblem(p: Pick<Problem, "source" | "document" | "path" | "message">): string {
  const where = [p.source, p.document, p.path].filter((s) => s !== "").join(" ");
  return where === "" ? `  - ${p.message}\n` : `  - ${where}: ${p.message}\n`;
}

function counts(changes: readonly DocumentChange[]): string {
  const n = (type: ChangeType) => changes.filter((c) => c.change === type).length;
  return `${n(ChangeType.CREATED)} created, ${n(ChangeType.UPDATED)} updated, ${n(ChangeType.DELETED)} deleted`;
}

/** The outcome of apply, delete or rollback: one headline, then one line per changed document. */
export function formatChange(change: Change): string {
  const lines: string[] = [];
  const base = Number(change.baseRevision);
  switch (change.result) {
    case ChangeResult.APPLIED:
      lines.push(`revision ${change.revision} applied (was ${base}): ${counts(change.changes)}`);
      break;
    case ChangeResult.UNCHANGED:
      lines.push(`unchanged: revision ${base} already holds these documents`);
      break;
    default:
      lines.push(
        change.problems.length > 0
          ? `dry run against revision ${base}: ${change.problems.length} problem${change.problems.length === 1 ? "" : "s"}, nothing would be applied`
          : change.changes.length === 0
            ? `dry run against revision ${base}: no change`
            : `dry run against revision ${base}: would make revision ${base + 1} (${counts(change.changes)})`,
      );
  }
  for (const c of change.changes) lines.push(`  ${(CHANGE_WORDS[c.change] ?? "changed").padEnd(8)} ${c.kind}/${c.name}`);
  let text = `${lines.join("\n")}\n`;
  if (change.problems.length > 0) text += change.problems.map(formatProblem).join("");
  return text;
}

/** Unified diffs of the changed documents, as YAML, like `kubectl diff`. */
export function formatDiff(change: Change): string {
  return change.changes
    .map((c) => {
      const name = `${c.kind}/${c.name}`;
      const before = c.change === ChangeType.CREATED ? "/dev/null" : `a/${name}`;
      const after = c.change === ChangeType.DELETED ? "/dev/null" : `b/${name}`;
      return createTwoFilesPatch(before, after, toYaml(c.before), toYaml(c.after), `revision ${change.baseRevision}`, "", {
        context: 3,
      })
        .split("\n")
        .slice(1) // the "====" separator line
        .join("\n");
    })
    .join("");
}

export function formatHistory(revisions: readonly Revision[]): string {
  const rows = revisions.map((r) => {
    const c = r.changes;
    const n = (type: ChangeType) => c.filter((x) => x.change === type).length;
    const by = r.actorCredential === "" ? "(seed)" : r.actorCredential;
    const what = r.rollbackTo > 0n ? `rollback to ${r.rollbackTo}` : (ACTION_WORDS[r.action] ?? "?");
    const when =
      r.createdAt === undefined
        ? ""
        : timestampDate(r.createdAt)
            .toISOString()
            .replace(/\.\d+Z$/, "Z");
    return [String(r.revision), when, what, by, `+${n(ChangeType.CREATED)} ~${n(ChangeType.UPDATED)} -${n(ChangeType.DELETED)}`, r.message];
  });
  const header = ["REVISION", "WHEN", "ACTION", "BY", "CHANGES", "MESSAGE"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows]
    .map((r) => `${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ")}\n`)
    .join("");
}
