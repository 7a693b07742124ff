// Atomic credential writes. A reader of the target path sees the old bytes or the new bytes,
// never an empty, partial or error file: the new content goes to a unique dot-prefixed temp file
// beside the target (same directory, so the same filesystem: rename cannot fail with EXDEV),
// is synced, gets its mode and group, and is renamed over the target; then the directory is
// synced so the rename survives a crash.

import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { WriteError } from '../errors.js';

export interface FileToWrite {
  path: string;
  content: Buffer;
  mode: number;
  groupId: number | undefined;
}

export type WriteOutcome = 'written' | 'unchanged';

/**
 * Temp files are `.<target>.<12 hex>.athenz-agent.tmp`: hidden from apps that list
 * `*.accesstoken` and the like, and specific enough that the start-up sweep never takes another
 * program's temp file for one of ours.
 */
export const TEMP_SUFFIX = '.athenz-agent.tmp';
export const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.athenz-agent\.tmp$/;

/**
 * Writes `file` atomically. Unchanged content is not rewritten (no new inode, no mtime change,
 * no watcher event); only a drifted mode or group is put back. Throws WriteError.
 */
export async function writeFileAtomic(file: FileToWrite): Promise<WriteOutcome> {
  try {
    if (await sameContent(file)) {
      await restoreAttributes(file);
      return 'unchanged';
    }
  } catch (error) {
    throw new WriteError(file.path, error);
  }

  const directory = dirname(file.path);
  const temp = join(
    directory,
    `.${basename(file.path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`,
  );
  try {
    // 'wx' = O_CREAT|O_EXCL: never follows or reuses an existing path. 0600 until complete.
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(file.content);
      // fchmod is not subject to the umask, so the configured mode holds under any umask.
      await handle.chmod(file.mode);
      if (file.groupId !== undefined) {
        await handle.chown(-1, file.groupId);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file.path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new WriteError(file.path, error);
  }
  await syncDirectory(directory);
  return 'written';
}

/**
 * Whether the target already holds exactly this content. Anything else in its place (nothing, a
 * directory, a FIFO that would block a read forever, a file we may not read) counts as "not
 * the same": the rename then replaces it or fails with a clear error.
 */
async function sameContent(file: FileToWrite): Promise<boolean> {
  try {
    const info = await lstat(file.path);
    if (!info.isFile() || info.size !== file.content.length) {
      return false;
    }
    return (await readFile(file.path)).equals(file.content);
  } catch {
    return false;
  }
}

async function restoreAttributes(file: FileToWrite): Promise<void> {
  const info = await stat(file.path);
  if ((info.mode & 0o7777) !== file.mode) {
    await chmod(file.path, file.mode);
  }
  if (file.groupId !== undefined && info.gid !== file.groupId) {
    await chown(file.path, -1, file.groupId);
  }
}

/** Makes a completed rename durable. Some filesystems refuse fsync on a directory; that is fine. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // EINVAL/EISDIR on some filesystems: the rename already happened and is visible.
  }
}
