// A real, small file system for the tests of a full disk: a tmpfs of a few hundred KiB mounted on a fresh
// folder (mounting needs root, as in CI). Writes past its size fail with ENOSPC, as on a full disk.
import { execFile } from "node:child_process";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface SmallDisk {
  readonly dir: string;
  /** Writes a file until the disk has only `leave` bytes left (default none); returns its path (delete it to free the disk). */
  fill(leave?: number): Promise<string>;
  unmount(): Promise<void>;
}

/**
 * Mounts a tmpfs of `bytes` on a fresh folder. Rejects when the machine does not allow it (not root, or no
 * mount in this container), with the reason.
 */
export async function mountSmallDisk(bytes: number): Promise<SmallDisk> {
  const dir = await mkdtemp(join(tmpdir(), "small-disk-"));
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`cannot mount a ${bytes}-byte tmpfs (root is needed): ${(error as Error).message}`);
  }
  return {
    dir,
    async fill(leave = 0) {
      const path = join(dir, "filler");
      const file = await open(path, "w");
      try {
        // Big chunks first, then single pages: tmpfs allocates whole pages.
        for (const size of [64 * 1024, 4096, 1]) {
          const chunk = Buffer.alloc(size, 0xee);
          for (;;) {
            try {
              if ((await file.write(chunk)).bytesWritten < size) break;
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
              throw error;
            }
          }
        }
        if (leave > 0) await file.truncate(Math.max(0, (await file.stat()).size - leave));
      } finally {
        await file.close();
      }
      return path;
    },
    async unmount() {
      await run("umount", [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `mountSmallDisk` for a test: on a machine that cannot mount one the test is skipped with the reason
 * (`skip`, vitest's `ctx.skip`), except in CI, where it fails.
 */
export async function mountSmallDiskForTest(bytes: number, skip: (note: string) => void): Promise<SmallDisk> {
  try {
    return await mountSmallDisk(bytes);
  } catch (error) {
    if (!process.env.CI) skip((error as Error).message);
    throw error;
  }
}
