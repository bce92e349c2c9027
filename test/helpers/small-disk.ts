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
export function mountSmallDiskForTest(bytes: number, skip: (note: string) => void): Promise<SmallDisk> {
  return mountedOrSkipped(() => mountSmallDisk(bytes), skip);
}

/** Mounts for a test; a machine that cannot mount skips it with the reason, except in CI, where it fails. */
async function mountedOrSkipped<T>(mount: () => Promise<T>, skip: (note: string) => void): Promise<T> {
  try {
    return await mount();
  } catch (error) {
    if (!process.env.CI) skip((error as Error).message);
    throw error;
  }
}

export interface FreezableDisk {
  readonly dir: string;
  /** Stalls the file system (`fsfreeze -f`): writes to it wait, in the kernel, until `thaw`. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  unmount(): Promise<void>;
}

/**
 * A real ext4 file system of `bytes` in a file, mounted through a loop device on a fresh folder, that can be
 * frozen: the disk that stalls. Rejects when the machine does not allow it (root is needed).
 */
export async function mountFreezableDisk(bytes: number): Promise<FreezableDisk> {
  const dir = await mkdtemp(join(tmpdir(), "freezable-disk-"));
  const image = `${dir}.img`;
  try {
    await run("truncate", ["-s", String(bytes), image]);
    await run("mkfs.ext4", ["-q", "-F", image]);
    await run("mount", ["-o", "loop", image, dir]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    await rm(image, { force: true });
    throw new Error(
      `cannot mount a freezable ${bytes}-byte ext4 disk (root, mkfs.ext4 and a loop device are needed): ${(error as Error).message}`,
    );
  }
  let frozen = false;
  const thaw = async () => {
    if (!frozen) return;
    await run("fsfreeze", ["-u", dir]);
    frozen = false;
  };
  return {
    dir,
    async freeze() {
      await run("fsfreeze", ["-f", dir]);
      frozen = true;
    },
    thaw,
    async unmount() {
      await thaw();
      await run("umount", [dir]);
      await rm(dir, { recursive: true, force: true });
      await rm(image, { force: true });
    },
  };
}

/** `mountFreezableDisk` for a test: skipped with the reason where the machine cannot mount one, except in CI. */
export function mountFreezableDiskForTest(bytes: number, skip: (note: string) => void): Promise<FreezableDisk> {
  return mountedOrSkipped(() => mountFreezableDisk(bytes), skip);
}
