// Removes temp files a killed agent left behind. Only names matching the agent's own temp
// pattern are touched; at start-up no write of this process is in flight.

import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { TEMP_FILE } from './atomic-write.js';

/** Deletes leftover temp files in `directory`; returns how many it removed. */
export async function sweepTempFiles(directory: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (TEMP_FILE.test(name)) {
      try {
        await unlink(join(directory, name));
        removed += 1;
      } catch {
        // Gone already, or not ours to remove: either way nothing to do.
      }
    }
  }
  return removed;
}
