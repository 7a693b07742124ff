import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { WriteError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/output/atomic-write.js';
import { sweepTempFiles } from '../../src/output/sweep.js';
import { startPollReader } from '../helpers/poll-reader.js';
import { makeTempDir } from '../helpers/temp-dir.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  const temp = await makeTempDir();
  dir = temp.dir;
  cleanup = () => temp.cleanup();
});
afterEach(async () => {
  await cleanup();
});

/** Content that proves its own completeness: a payload followed by its hash. */
function selfChecking(size: number): string {
  const payload = randomBytes(size).toString('base64url');
  return `${payload}.${createHash('sha256').update(payload).digest('hex')}`;
}

function isComplete(text: string): boolean {
  const [payload, hash] = text.split('.');
  return (
    hash ===
    createHash('sha256')
      .update(payload ?? '')
      .digest('hex')
  );
}

describe('atomic writes', () => {
  it('creates the file with the configured mode whatever the umask', async () => {
    const path = join(dir, 'sports:role.reader.accesstoken');
    const previous = process.umask(0o077);
    try {
      expect(
        await writeFileAtomic({
          path,
          content: Buffer.from('a.b.c'),
          mode: 0o440,
          groupId: undefined,
        }),
      ).toBe('written');
    } finally {
      process.umask(previous);
    }
    expect((await stat(path)).mode & 0o777).toBe(0o440);
    expect(await readFile(path, 'utf8')).toBe('a.b.c');
  });

  it('replaces a read-only file and re-applies a mode changed behind its back', async () => {
    const path = join(dir, 'token');
    await writeFileAtomic({ path, content: Buffer.from('one'), mode: 0o440, groupId: undefined });
    await chmod(path, 0o600);
    await writeFileAtomic({ path, content: Buffer.from('two'), mode: 0o440, groupId: undefined });
    expect((await stat(path)).mode & 0o777).toBe(0o440);
    expect(await readFile(path, 'utf8')).toBe('two');
  });

  it('leaves unchanged content alone: same inode, same mtime', async () => {
    const path = join(dir, 'token');
    const content = Buffer.from('same');
    await writeFileAtomic({ path, content, mode: 0o440, groupId: undefined });
    const before = await stat(path);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await writeFileAtomic({ path, content, mode: 0o440, groupId: undefined })).toBe(
      'unchanged',
    );
    const after = await stat(path);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('fails with WriteError, leaves the target and no temp file when the rename fails', async () => {
    const path = join(dir, 'token');
    await mkdir(path);
    await writeFile(join(path, 'keep'), 'x');
    const error = await writeFileAtomic({
      path,
      content: Buffer.from('t'),
      mode: 0o440,
      groupId: undefined,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WriteError);
    expect((error as WriteError).code).toBe('WRITE_FAILED');
    expect((error as WriteError).retryable).toBe(true);
    expect(await readdir(dir)).toEqual(['token']);
  });

  it('never shows a reader an empty, partial or missing file across 200 rotations', async () => {
    const path = join(dir, 'token');
    const written = new Set<string>();
    const first = selfChecking(900);
    await writeFileAtomic({ path, content: Buffer.from(first), mode: 0o440, groupId: undefined });
    written.add(first);

    const reader = startPollReader(path);
    for (let rotation = 0; rotation < 200; rotation += 1) {
      const content = selfChecking(600 + Math.floor(Math.random() * 1200));
      written.add(content);
      await writeFileAtomic({
        path,
        content: Buffer.from(content),
        mode: 0o440,
        groupId: undefined,
      });
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const report = await reader.stop();

    expect(report.reads).toBeGreaterThan(200);
    expect(report.missing).toBe(0);
    expect(report.empty).toBe(0);
    expect(report.seen.filter((text) => !isComplete(text))).toEqual([]);
    expect(report.seen.filter((text) => !written.has(text))).toEqual([]);
    expect(report.seen.length).toBeGreaterThan(20);
    expect((await readdir(dir)).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('sweeps temp files a killed agent left, and nothing else', async () => {
    await writeFile(join(dir, '.token.0123456789ab.athenz-agent.tmp'), 'partial');
    await writeFile(join(dir, '.hidden-but-not-ours'), 'x');
    await writeFile(join(dir, '.otherapp.cache.aaaaaaaaaaaa.tmp'), 'x');
    await writeFile(join(dir, 'token'), 'x');
    expect(await sweepTempFiles(dir)).toBe(1);
    expect((await readdir(dir)).sort()).toEqual([
      '.hidden-but-not-ours',
      '.otherapp.cache.aaaaaaaaaaaa.tmp',
      'token',
    ]);
  });
});
