import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { watch } from 'chokidar';
import { afterEach, describe, expect, it } from 'vitest';

import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { startAgent } from '../helpers/agent-fixture.js';
import type { AgentFixture } from '../helpers/agent-fixture.js';
import { startPollReader } from '../helpers/poll-reader.js';
import { delay, waitFor } from '../helpers/wait.js';

const run = promisify(execFile);

let fixture: AgentFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

const policy = (tokenExpiry?: string): DevZtsPolicy => ({
  services: ['demo.agent'],
  domains: {
    sports: {
      roles: {
        reader: { members: ['demo.agent'], ...(tokenExpiry ? { tokenExpiry } : {}) },
        writer: { members: ['demo.agent'] },
      },
    },
  },
});

const written = (fixture: AgentFixture) =>
  fixture.logs.lines.filter((line) => line.msg === 'credential written');

describe('files on disk', () => {
  it('gives each file type its own mode and group under umask 077, readable by another user of the group', async () => {
    const previous = process.umask(0o077);
    try {
      fixture = await startAgent({
        policy: policy(),
        output: 'mode: "0640", keyMode: "0600", groupId: 4242',
        yaml: `accessTokens:
  - {domain: sports, roles: [reader]}
roleCerts:
  - {domain: sports, role: writer, mode: "0644"}
`,
      });
    } finally {
      process.umask(previous);
    }
    const out = fixture.outDir;
    await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    const expected: Record<string, number> = {
      'sports:role.reader.accesstoken': 0o640,
      'sports:role.writer.cert.pem': 0o644,
      'sports:role.writer.key.pem': 0o600,
    };
    for (const [name, mode] of Object.entries(expected)) {
      const info = await stat(join(out, name));
      expect([name, info.mode & 0o777, info.gid]).toEqual([name, mode, 4242]);
    }
    // A second user in the group reads the token (not the key, which is 0600).
    const read = (name: string) =>
      run(
        process.execPath,
        [
          '-e',
          `process.stdout.write(require('fs').readFileSync(${JSON.stringify(join(out, name))}, 'utf8').slice(0, 3))`,
        ],
        { uid: 65534, gid: 4242 },
      );
    // The temp folders are 0700; let the other user through, as an emptyDir would.
    await chmod(fixture.fx.dir, 0o711);
    await chmod(out, 0o711);
    await expect(read('sports:role.reader.accesstoken')).resolves.toMatchObject({ stdout: 'eyJ' });
    await expect(read('sports:role.writer.key.pem')).rejects.toThrow(/EACCES/);
  });

  it('puts the mode back on every rotation, and readers never see a partial token (50 rotations)', async () => {
    fixture = await startAgent({
      policy: policy('2s'),
      yaml: `refresh: {fraction: 0.05, jitter: 0, floor: 100ms}\naccessTokens:\n  - {domain: sports, roles: [reader]}\n`,
    });
    const path = join(fixture.outDir, 'sports:role.reader.accesstoken');
    await waitFor(() => written(fixture!).length >= 1, { what: 'first write' });
    const reader = startPollReader(path);
    const start = written(fixture).length;
    const modes: number[] = [];
    while (written(fixture).length < start + 50) {
      await chmod(path, 0o600).catch(() => undefined);
      const before = written(fixture).length;
      await waitFor(() => written(fixture!).length > before, { what: 'a rotation' });
      modes.push((await stat(path)).mode & 0o777);
    }
    const report = await reader.stop();
    expect(new Set(modes)).toEqual(new Set([0o440]));
    expect([report.missing, report.empty]).toEqual([0, 0]);
    expect(report.seen.every((token) => token.split('.').length === 3)).toBe(true);
  }, 60_000);

  it('writes its temp files beside the target, whatever TMPDIR says', async () => {
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = '/dev/shm';
    try {
      fixture = await startAgent({
        policy: policy('2s'),
        yaml: `refresh: {fraction: 0.05, jitter: 0, floor: 100ms}\naccessTokens:\n  - {domain: sports, roles: [reader]}\n`,
      });
      await waitFor(() => written(fixture!).length >= 5, { what: 'five writes' });
    } finally {
      if (previous === undefined) {
        delete process.env.TMPDIR;
      } else {
        process.env.TMPDIR = previous;
      }
    }
    expect(fixture.logs.lines.filter((line) => line.code === 'WRITE_FAILED')).toEqual([]);
    expect((await readdir('/dev/shm')).filter((name) => name.includes('athenz-agent'))).toEqual([]);
  });

  it('touches nothing while no refresh is due, and on a forced refresh replaces only what changed', async () => {
    fixture = await startAgent({
      policy: policy(),
      yaml: `accessTokens:\n  - {domain: sports, roles: [reader], expiry: 1h}\nroleCerts:\n  - {domain: sports, role: writer}\n`,
    });
    const out = fixture.outDir;
    await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    const names = [
      'sports:role.reader.accesstoken',
      'sports:role.writer.cert.pem',
      'sports:role.writer.key.pem',
    ];
    const before = await Promise.all(names.map((name) => stat(join(out, name))));

    const events: string[] = [];
    const watcher = watch(out, { ignoreInitial: true, depth: 0, alwaysStat: true });
    watcher.on('all', (event, path) => events.push(`${event} ${path.slice(out.length + 1)}`));
    await new Promise<void>((resolve) => {
      watcher.once('ready', () => {
        resolve();
      });
    });
    await delay(2000);
    expect(events).toEqual([]);
    const still = await Promise.all(names.map((name) => stat(join(out, name))));
    expect(still.map((info) => [info.ino, info.mtimeMs])).toEqual(
      before.map((info) => [info.ino, info.mtimeMs]),
    );

    // Forced refresh: new token and certificate; the kept key is not rewritten.
    for (const refresher of fixture.agent.refreshers) {
      refresher.kick();
    }
    await waitFor(() => written(fixture!).length >= 4, { what: 'forced refresh' });
    await delay(500);
    await watcher.close();
    const after = await Promise.all(names.map((name) => stat(join(out, name))));
    expect(after[2]!.ino).toBe(before[2]!.ino);
    expect(after[0]!.ino).not.toBe(before[0]!.ino);
    expect(after[1]!.ino).not.toBe(before[1]!.ino);
    expect(events.filter((event) => event.includes('key.pem'))).toEqual([]);
  });

  it('retries a failed write without asking ZTS again', async () => {
    fixture = await startAgent({
      policy: policy(),
      before: async (fx) => {
        // A directory where the token should go: the rename cannot replace it.
        await mkdir(join(fx.dir, 'out', 'sports:role.reader.accesstoken', 'inside'), {
          recursive: true,
        });
      },
      yaml: `refresh: {backoff: {initial: 100ms, max: 200ms}}\naccessTokens:\n  - {domain: sports, roles: [reader], expiry: 1h}\n`,
    });
    const path = join(fixture.outDir, 'sports:role.reader.accesstoken');
    await waitFor(
      () => fixture!.logs.lines.filter((line) => line.code === 'WRITE_FAILED').length >= 3,
      { what: 'write failures' },
    );
    expect(fixture.zts.requests.filter((entry) => entry.endpoint === 'accessToken')).toHaveLength(
      1,
    );
    const report = (await fixture.probe('/readyz')).json as {
      credentials: Array<{ lastError?: { code: string } }>;
    };
    expect(report.credentials[0]?.lastError?.code).toBe('WRITE_FAILED');

    await rm(path, { recursive: true });
    await waitFor(async () => (await stat(path).catch(() => undefined))?.isFile() === true, {
      what: 'the file',
    });
    expect(fixture.zts.requests.filter((entry) => entry.endpoint === 'accessToken')).toHaveLength(
      1,
    );
    expect((await readFile(path, 'utf8')).split('.')).toHaveLength(3);
  });

  it('writes a token file deleted by hand again, from memory, when readiness notices', async () => {
    fixture = await startAgent({
      policy: policy(),
      yaml: `accessTokens:\n  - {domain: sports, roles: [reader], expiry: 1h}\n`,
    });
    const path = join(fixture.outDir, 'sports:role.reader.accesstoken');
    await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    const token = await readFile(path, 'utf8');
    await rm(path);
    expect((await fixture.probe('/readyz')).status).toBe(503);
    await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready again',
    });
    expect(await readFile(path, 'utf8')).toBe(token);
    expect(fixture.zts.requests.filter((entry) => entry.endpoint === 'accessToken')).toHaveLength(
      1,
    );
  });
});

describe('restart', () => {
  it('adopts fresh files left by the previous run without asking ZTS, and refetches stale or unreadable ones', async () => {
    fixture = await startAgent({
      policy: {
        ...policy(),
        domains: {
          ...policy().domains,
          weather: { tokenExpiry: '2s', roles: { viewer: { members: ['demo.agent'] } } },
        },
      },
      start: false,
      yaml: `refresh: {floor: 100ms}
accessTokens:
  - {domain: sports, roles: [reader], expiry: 1h}
  - {domain: sports, roles: [writer], expiry: 1h}
roleTokens:
  - {domain: weather, roles: [viewer]}
roleCerts:
  - {domain: sports, role: writer, expiry: 2h}
`,
    });
    // First run: everything fetched.
    fixture.agent.start();
    await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    await fixture.agent.stop();
    // Let the 2 s role token expire on disk, and damage one access token.
    await delay(2500);
    const first = fixture.zts.requests.length;
    await writeFile(join(fixture.outDir, 'sports:role.writer.accesstoken'), 'not a token');
    const { Agent } = await import('../../src/agent/agent.js');
    const second = new Agent(fixture.config, { logger: fixture.logs.logger });
    try {
      await second.prepare();
      second.start();
      await waitFor(async () => (await second.board.readiness(Date.now())).ready, {
        what: 'second run ready',
      });
      // Only the damaged token and the expired one were fetched again.
      const again = fixture.zts.requests.slice(first);
      expect(again.map((entry) => [entry.endpoint, entry.roles]).sort()).toEqual([
        ['accessToken', ['writer']],
        ['roleToken', ['viewer']],
      ]);
      expect(
        fixture.logs.lines.filter(
          (line) => line.msg === 'credential on disk is still good; not fetching it now',
        ),
      ).toHaveLength(2);
    } finally {
      await second.stop();
    }
  });
});
