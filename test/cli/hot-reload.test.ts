import { chmod, readdir, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { baseConfig } from '../helpers/agent-fixture.js';
import { spawnCli } from '../helpers/cli.js';
import type { CliProcess } from '../helpers/cli.js';
import { ConfigMapDir } from '../helpers/configmap.js';
import { withDevZts } from '../helpers/devzts.js';
import type { DevZtsFixture } from '../helpers/devzts.js';
import { openResources } from '../helpers/process-resources.js';
import { delay, waitFor } from '../helpers/wait.js';

let fx: DevZtsFixture | undefined;
let agent: CliProcess | undefined;
afterEach(async () => {
  agent?.child.kill('SIGTERM');
  await agent?.exit;
  agent = undefined;
  await fx?.cleanup();
  fx = undefined;
});

const policy: DevZtsPolicy = {
  services: ['demo.agent'],
  domains: {
    sports: {
      roles: {
        reader: { members: ['demo.agent'] },
        writer: { members: ['demo.agent'] },
        fast: { members: ['demo.agent'], tokenExpiry: '2s' },
      },
    },
  },
};

interface Setup {
  configMap: ConfigMapDir;
  outDir: string;
  /** The config text for a list of access token entries (YAML flow mappings). */
  config: (entries: string[]) => string;
  /** GET /readyz of the running agent. */
  readiness: () => Promise<Record<string, unknown>>;
}

async function start(
  entries: string[],
  reload = '{debounce: 100ms, interval: 1h}',
): Promise<Setup> {
  fx = await withDevZts(policy);
  const outDir = join(fx.dir, 'out');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const head = baseConfig(fx, outDir).replace('127.0.0.1:0', `127.0.0.1:${port}`);
  const config = (list: string[]) =>
    `${head}reload: ${reload}\nrefresh: {floor: 100ms, jitter: 0}\naccessTokens:\n${list.map((entry) => `  - ${entry}\n`).join('')}`;
  const configMap = new ConfigMapDir(join(fx.dir, 'cfg'));
  await configMap.init(config(entries));
  agent = spawnCli(['run', '--config', configMap.path]);
  await waitFor(() => agent!.logs().some((line) => line.msg === 'agent started'), {
    what: 'agent started',
  });
  return {
    configMap,
    outDir,
    config,
    readiness: async () =>
      (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as Record<string, unknown>,
  };
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
const READER = '{domain: sports, roles: [reader]}';
const WRITER = '{domain: sports, roles: [writer]}';
const FAST = '{domain: sports, roles: [fast]}';

describe('hot reload through kubelet-style ConfigMap swaps', () => {
  it('adds, changes and removes credentials, and keeps following swaps later on', async () => {
    const { configMap, outDir, config } = await start([READER]);
    const reader = join(outDir, 'sports:role.reader.accesstoken');
    const writer = join(outDir, 'sports:role.writer.accesstoken');
    await waitFor(() => exists(reader), { what: 'first token' });
    const zts = fx!.zts;
    const requestsFor = (role: string) =>
      zts.requests.filter(
        (entry) => entry.endpoint === 'accessToken' && entry.roles?.includes(role),
      );

    // 1: add
    let swappedAt = Date.now();
    await configMap.swap(config([READER, WRITER]));
    await waitFor(() => exists(writer), {
      timeoutMs: 2000,
      intervalMs: 10,
      what: 'the added token within 2 s',
    });
    expect(Date.now() - swappedAt).toBeLessThan(2000);
    expect(requestsFor('reader')).toHaveLength(1);

    // 2: change the reader's lifetime (refetched) and the writer's mode (rewritten only)
    await configMap.swap(
      config([
        '{domain: sports, roles: [reader], expiry: 30m}',
        '{domain: sports, roles: [writer], mode: "0400"}',
      ]),
    );
    await waitFor(() => requestsFor('reader').length === 2, { what: 'reader refetched' });
    await waitFor(async () => ((await stat(writer)).mode & 0o777) === 0o400, {
      what: 'writer mode',
    });
    expect(requestsFor('writer')).toHaveLength(1);

    // 3: remove the writer: it stops and its file goes
    await configMap.swap(config(['{domain: sports, roles: [reader], expiry: 30m}']));
    await waitFor(async () => !(await exists(writer)), { what: 'writer file deleted' });
    expect(await exists(reader)).toBe(true);

    // 4: ten seconds later, another swap still applies
    await delay(10_000);
    swappedAt = Date.now();
    await configMap.swap(config(['{domain: sports, roles: [reader], expiry: 30m}', WRITER]));
    await waitFor(() => exists(writer), {
      timeoutMs: 2000,
      intervalMs: 10,
      what: 'the fourth swap',
    });
    expect(Date.now() - swappedAt).toBeLessThan(2000);
  }, 40_000);

  it('ignores swaps with identical content, touches and unrelated files: no ZTS request, no rewrite', async () => {
    const { configMap, outDir, config } = await start([READER, WRITER]);
    const files = ['sports:role.reader.accesstoken', 'sports:role.writer.accesstoken'].map((name) =>
      join(outDir, name),
    );
    await waitFor(async () => (await Promise.all(files.map(exists))).every(Boolean), {
      what: 'tokens',
    });
    const before = await Promise.all(files.map((file) => stat(file)));
    const requests = fx!.zts.requests.length;

    for (let round = 0; round < 10; round += 1) {
      await configMap.swap(config([READER, WRITER]));
      await utimes(configMap.path, new Date(), new Date());
      await chmod(join(configMap.dir, '..data', 'config.yaml'), 0o644);
      await writeFile(join(configMap.dir, `unrelated-${round}`), 'x');
      await unlink(join(configMap.dir, `unrelated-${round}`));
      await delay(150);
    }
    await delay(1000);

    expect(fx!.zts.requests.length).toBe(requests);
    const after = await Promise.all(files.map((file) => stat(file)));
    expect(after.map((info) => [info.ino, info.mtimeMs])).toEqual(
      before.map((info) => [info.ino, info.mtimeMs]),
    );
    expect(agent!.logs().filter((line) => line.msg === 'config applied')).toHaveLength(0);
  }, 30_000);

  it('rejects a syntax error and then a semantic error while files keep refreshing; the next valid swap applies', async () => {
    const { configMap, outDir, config, readiness } = await start([FAST]);
    const fast = join(outDir, 'sports:role.fast.accesstoken');
    await waitFor(() => exists(fast), { what: 'first token' });
    const fastRequests = () =>
      fx!.zts.requests.filter(
        (entry) => entry.endpoint === 'accessToken' && entry.roles?.includes('fast'),
      ).length;

    await configMap.swap(`${config([FAST])}  - {domain: sports, roles: [reader]\n`);
    await waitFor(
      () => agent!.logs().some((line) => String(line.msg).startsWith('config reload rejected')),
      { what: 'syntax rejection' },
    );
    await configMap.swap(config([FAST, '{domain: "../etc", roles: [reader]}']));
    await waitFor(
      () =>
        agent!.logs().filter((line) => String(line.msg).startsWith('config reload rejected'))
          .length === 2,
      { what: 'semantic rejection' },
    );
    const rejections = agent!
      .logs()
      .filter((line) => String(line.msg).startsWith('config reload rejected'));
    expect(rejections[0]).toMatchObject({ level: 50, code: 'CONFIG_INVALID' });
    expect(String(rejections[0]!.msg)).toMatch(/YAML syntax/);
    expect(String(rejections[1]!.msg)).toMatch(
      /accessTokens\[1\]\.domain: "\.\.\/etc" is not an Athenz domain name/,
    );

    const report = await readiness();
    expect(report.ready).toBe(true);
    expect(report.config).toMatchObject({
      applied: 0,
      rejected: 2,
      lastRejected: { issues: [expect.stringMatching(/accessTokens\[1\]\.domain/)] },
    });

    // The running config keeps working: the 2 s token goes on being refreshed.
    const before = fastRequests();
    await waitFor(() => fastRequests() >= before + 2, {
      timeoutMs: 5000,
      what: 'refreshes after rejections',
    });

    await configMap.swap(config([FAST, READER]));
    await waitFor(() => exists(join(outDir, 'sports:role.reader.accesstoken')), {
      what: 'valid swap applied',
    });
    expect((await readiness()).config).toMatchObject({ applied: 1, rejected: 2 });
  }, 30_000);

  it('waits out a swap whose folder briefly lacks the file, instead of treating the config as deleted', async () => {
    const { configMap, outDir, config } = await start([READER]);
    const reader = join(outDir, 'sports:role.reader.accesstoken');
    await waitFor(() => exists(reader), { what: 'first token' });
    await configMap.swap(config([READER, WRITER]), { missingForMs: 200 });
    await waitFor(() => exists(join(outDir, 'sports:role.writer.accesstoken')), {
      what: 'the late file applied',
    });
    expect(await exists(reader)).toBe(true);
    expect(
      agent!
        .logs()
        .some((line) => line.msg === 'config file is unreadable; keeping the running config'),
    ).toBe(false);
  });

  it('holds file descriptors and inotify watches steady across 50 swaps', async () => {
    const { configMap, outDir, config } = await start([READER]);
    await waitFor(() => exists(join(outDir, 'sports:role.reader.accesstoken')), {
      what: 'first token',
    });
    const pid = agent!.child.pid!;
    for (let round = 0; round < 4; round += 1) {
      await configMap.swap(config(round % 2 === 0 ? [READER, WRITER] : [READER]));
      await delay(250);
    }
    await delay(500);
    const baseline = await openResources(pid);
    for (let round = 0; round < 50; round += 1) {
      await configMap.swap(config(round % 2 === 0 ? [READER, WRITER] : [READER]));
      await delay(250);
    }
    await delay(1000);
    const after = await openResources(pid);
    expect(after.watches).toBeLessThanOrEqual(baseline.watches);
    expect(after.fds).toBeLessThanOrEqual(baseline.fds + 2);
    expect(
      agent!.logs().filter((line) => line.msg === 'config applied').length,
    ).toBeGreaterThanOrEqual(40);
    expect((await readdir(outDir)).filter((name) => name.startsWith('.'))).toEqual([]);
  }, 60_000);

  it('survives a valid edit it cannot apply: an unusable output folder or a busy probe port', async () => {
    const { configMap, outDir, config, readiness } = await start([READER]);
    await waitFor(() => exists(join(outDir, 'sports:role.reader.accesstoken')), {
      what: 'first token',
    });
    const blocker = join(fx!.dir, 'a-file');
    await writeFile(blocker, 'x');

    await configMap.swap(config([READER]).replace(`dir: "${outDir}"`, `dir: "${blocker}/out"`));
    await waitFor(() => agent!.logs().some((line) => line.code === 'CONFIG_UNUSABLE'), {
      what: 'rejection',
    });
    expect((await readiness()).config).toMatchObject({
      rejected: 1,
      lastRejected: { issues: [expect.stringMatching(/output\.dir .* cannot be used: ENOTDIR/)] },
    });
    expect(await exists(join(outDir, 'sports:role.reader.accesstoken'))).toBe(true);

    // A port that is taken: the old probe server stays.
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as AddressInfo).port;
    try {
      await configMap.swap(
        config([READER, WRITER]).replace(
          /health: \{listen: "127\.0\.0\.1:\d+"\}/,
          `health: {listen: "127.0.0.1:${busyPort}"}`,
        ),
      );
      await waitFor(() => exists(join(outDir, 'sports:role.writer.accesstoken')), {
        what: 'the rest applied',
      });
      await waitFor(
        () =>
          agent!
            .logs()
            .some((line) =>
              String(line.msg).startsWith('cannot serve the probes on the new health.listen'),
            ),
        { what: 'probe move refused' },
      );
      expect((await readiness()).ready).toBe(true);
      expect(agent!.child.exitCode).toBeNull();
    } finally {
      busy.close();
    }
  });

  it('keeps the files when output.dir moves to another name for the same folder', async () => {
    const { configMap, outDir, config } = await start([READER]);
    const reader = join(outDir, 'sports:role.reader.accesstoken');
    await waitFor(() => exists(reader), { what: 'first token' });
    const alias = join(fx!.dir, 'out-link');
    await symlink(outDir, alias);
    await configMap.swap(config([READER]).replace(`dir: "${outDir}"`, `dir: "${alias}"`));
    await waitFor(() => agent!.logs().some((line) => line.msg === 'config applied'), {
      what: 'applied',
    });
    await delay(300);
    expect(
      agent!.logs().some((line) => line.msg === 'credential removed from config; file deleted'),
    ).toBe(false);
    expect(await exists(reader)).toBe(true);
  });

  it('reloads on SIGHUP', async () => {
    // Watching and polling off: only the signal can make the agent look.
    const { configMap, outDir, config } = await start([READER], '{watch: false, interval: "0"}');
    await waitFor(() => exists(join(outDir, 'sports:role.reader.accesstoken')), {
      what: 'first token',
    });
    await configMap.swap(config([READER, WRITER]));
    await delay(1000);
    expect(await exists(join(outDir, 'sports:role.writer.accesstoken'))).toBe(false);
    agent!.child.kill('SIGHUP');
    await waitFor(() => exists(join(outDir, 'sports:role.writer.accesstoken')), {
      what: 'SIGHUP reload',
    });
  });
});
