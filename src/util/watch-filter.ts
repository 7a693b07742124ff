// A chokidar `ignored` filter for watching a few files through their folders: only those files
// and kubelet's `..data`-style entries (how Secret and ConfigMap volumes swap content) count.
// Everything else in the folder is ignored, so an unrelated file the agent may not read never
// produces watcher errors or spurious checks.

import { basename } from 'node:path';

export function onlyThese(
  folders: readonly string[],
  files: readonly string[],
): (path: string) => boolean {
  const names = new Set(files.map((file) => basename(file)));
  return (path) => {
    if (folders.includes(path)) {
      return false;
    }
    const name = basename(path);
    return !names.has(name) && !name.startsWith('..');
  };
}
