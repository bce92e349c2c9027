// Generates the protobuf-es code in gen/ from proto/ with buf and protoc-gen-es, both from node_modules.
// Runs on `npm install` / `npm ci` (the `prepare` script) and on `npm run generate`.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const bin = join(root, "node_modules", ".bin");
const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` };

function buf(...args: string[]): void {
  const run = spawnSync(join(bin, "buf"), args, { cwd: join(root, "proto"), env, stdio: "inherit" });
  if (run.status !== 0) {
    console.error(`generate: buf ${args.join(" ")} failed`);
    process.exit(run.status ?? 1);
  }
}

rmSync(join(root, "gen"), { recursive: true, force: true });
buf("lint");
buf("generate");
console.log("generate: protobuf code written to gen/");
