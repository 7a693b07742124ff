// What a process holds open, read from /proc: file descriptors and inotify watches.
import { readFile, readdir, readlink } from 'node:fs/promises';

export async function openResources(pid: number): Promise<{ fds: number; watches: number }> {
  const fds = await readdir(`/proc/${pid}/fd`);
  let watches = 0;
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target === 'anon_inode:inotify') {
      const info = await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      watches += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
    }
  }
  return { fds: fds.length, watches };
}
