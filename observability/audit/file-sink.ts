// The `file` audit sink: an append-only local file of JSON lines, one AuditEvent per line. For a single node
// or a deployment whose audit trail is shipped from disk. An append resolves once its batch has been written
// and synced to the disk (fdatasync), so an acknowledged event survives a crash of the process or the machine.
import { type FileHandle, mkdir, open } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { EstelamError } from "../../core/errors.ts";
import { type AuditEvent, AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { type Batcher, createBatcher } from "./batcher.ts";
import type { AuditSink, AuditSinkEvents } from "./sink.ts";

export interface FileAuditSinkOptions {
  /** File the events are appended to; its directory is created at start. */
  readonly path: string;
  /** Wait after the first queued event before a batch is written. Default 2. */
  readonly lingerMs?: number;
  /** Events per write. Default 1000. */
  readonly maxBatch?: number;
  /** How long an append may wait for its sync. Default 5000. */
  readonly ackTimeoutMs?: number;
  /** Events held and not yet synced; more are refused at once. Default 100000. */
  readonly maxQueue?: number;
}

export type ResolvedFileAuditSinkOptions = Required<FileAuditSinkOptions>;

export function resolveFileAuditSinkOptions(options: FileAuditSinkOptions): ResolvedFileAuditSinkOptions {
  const resolved = {
    path: resolve(options.path),
    lingerMs: options.lingerMs ?? 2,
    maxBatch: options.maxBatch ?? 1000,
    ackTimeoutMs: options.ackTimeoutMs ?? 5000,
    maxQueue: options.maxQueue ?? 100_000,
  };
  if (options.path.length === 0) throw new TypeError("file audit sink: path is empty");
  for (const key of ["maxBatch", "ackTimeoutMs", "maxQueue"] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] < 1) throw new TypeError(`file audit sink: ${key} must be a positive integer`);
  }
  if (!Number.isFinite(resolved.lingerMs) || resolved.lingerMs < 0) throw new TypeError("file audit sink: lingerMs must be >= 0");
  return resolved;
}

export function createFileAuditSink(options: FileAuditSinkOptions, events?: AuditSinkEvents): AuditSink {
  const config = resolveFileAuditSinkOptions(options);
  let file: FileHandle | undefined;
  // Bytes known to be in the file; a failed write is cut back to this so a retry never leaves half a line.
  let size = 0;
  let closed = false;

  async function write(lines: readonly string[]): Promise<void> {
    if (file === undefined) throw new Error(`audit file ${config.path} is not open`);
    const buffer = Buffer.from(lines.join(""), "utf8");
    try {
      let offset = 0;
      while (offset < buffer.length) {
        const { bytesWritten } = await file.write(buffer, offset, buffer.length - offset);
        offset += bytesWritten;
      }
      await file.datasync();
      size += buffer.length;
    } catch (error) {
      await file.truncate(size).catch(() => {});
      throw error;
    }
  }

  const batcher: Batcher<string> = createBatcher({
    write,
    target: `file ${config.path}`,
    lingerMs: config.lingerMs,
    maxBatch: config.maxBatch,
    maxQueue: config.maxQueue,
    ackTimeoutMs: config.ackTimeoutMs,
    events,
  });

  return {
    kind: "file",

    async start(): Promise<void> {
      if (file !== undefined) return;
      try {
        await mkdir(dirname(config.path), { recursive: true });
        const handle = await open(config.path, "a");
        try {
          size = (await handle.stat()).size;
          // The file's directory entry must be durable too, or a synced file can vanish after a crash.
          await handle.datasync();
          const directory = await open(dirname(config.path), "r");
          await directory.sync().finally(() => directory.close());
        } catch (error) {
          await handle.close();
          throw error;
        }
        file = handle;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new EstelamError("AUDIT_UNAVAILABLE", `audit file ${config.path} cannot be opened for appending: ${reason}`, {
          cause: error,
        });
      }
    },

    append(event: AuditEvent): Promise<void> {
      if (file === undefined && !closed) {
        return Promise.reject(new EstelamError("AUDIT_UNAVAILABLE", `audit file sink for ${config.path} is not started`));
      }
      return batcher.add(`${toJsonString(AuditEventSchema, event)}\n`);
    },

    ready(): boolean {
      return file !== undefined && !closed && batcher.healthy();
    },

    pending(): number {
      return batcher.pending();
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await batcher.close(config.ackTimeoutMs);
      const handle = file;
      file = undefined;
      await handle?.close();
    },
  };
}
