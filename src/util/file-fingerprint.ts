// A cheap identity for a file's current content: inode, size, mtime and ctime. Stat follows
// symlinks, so a Secret or emptyDir update by symlink swap or rename changes it; ctime also
// changes on a chmod or chown, so a file that was unreadable is looked at again once fixed.

import { stat } from 'node:fs/promises';

/** The fingerprint of `path`; throws like stat when the file is not there. */
export async function fileFingerprint(path: string): Promise<string> {
  const info = await stat(path);
  return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}
