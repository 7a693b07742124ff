import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { baseConfig } from '../helpers/agent-fixture.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { withDevZts } from '../helpers/devzts.js';
import type { DevZtsFixture } from '../helpers/devzts.js';
import { delay, waitFor } from '../helpers/wait.js';

let fx: DevZtsFixture | undefined;
afterEach(async () => {
  await fx?.cleanup();
  fx = undefined;
});

async function writeConfig(extra: string): Promise<{ file: string; outDir: string }> {
  fx = await withDevZts();
  const outDir = join(fx.dir, 'out');
  const file = join(fx.dir, 'config.yaml');
  await writeFile(file, baseConfig(fx, outDir) + extra);
  return { file, outDir };
}

describe('run modes', () => {
  it('once: writes every credential and exits 0', async () => {
    const { file, outDir } = await writeConfig(`accessTokens:
  - {domain: sports, roles: [reader]}
roleTokens:
  - {domain: weather, roles: [viewer]}
`);
    const result = await runCli(['once', '--config', file]);
    expect(result.code, result.stderr.join('')).toBe(0);
    expect((await readdir(outDir)).sort()).toEqual([
      'sports:role.reader.accesstoken',
      'weather:role.viewer.roletoken',
    ]);

    // Run again (an init container restarted): the files are still good, ZTS is not asked.
    const requests = fx!.zts.requests.length;
    const again = await runCli(['once', '--config', file]);
    expect(again.code).toBe(0);
    expect(fx!.zts.requests.length).toBe(requests);
    const summary = again.logs().find((line) => line.msg === 'all credentials written');
    expect([...((summary?.adopted as string[] | undefined) ?? [])].sort()).toEqual([
      'access token sports:role.reader',
      'role token weather:role.viewer',
    ]);
  });

  it('once: exits 1 when a credential cannot be written, after writing the others', async () => {
    const { file, outDir } = await writeConfig(`accessTokens:
  - {domain: sports, roles: [reader]}
  - {domain: sports, roles: [admin]}
`);
    const result = await runCli(['once', '--config', file, '--timeout', '5s']);
    expect(result.code).toBe(1);
    expect(await readdir(outDir)).toEqual(['sports:role.reader.accesstoken']);
    const failure = result
      .logs()
      .find((line) => String(line.msg).startsWith('credential could not be written'));
    expect(failure).toMatchObject({
      credential: 'access token sports:role.admin',
      code: 'ZTS_FORBIDDEN',
      status: 403,
    });
    expect(failure?.msg).toMatch(/^credential could not be written: ZTS answered 403/);
  });

  it('once: gives up on an unreachable ZTS within the timeout and exits 1', async () => {
    const { file } = await writeConfig(`refresh: {backoff: {initial: 100ms, max: 300ms}}
accessTokens:
  - {domain: sports, roles: [reader]}
`);
    await fx!.zts.close();
    const started = Date.now();
    const result = await runCli(['once', '--config', file, '--timeout', '2s']);
    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.logs().filter((line) => line.code === 'ZTS_NETWORK').length).toBeGreaterThan(1);
    // The reason given is the last real error, not the deadline.
    const failure = result.logs().find((line) => line.level === 50);
    expect(failure).toMatchObject({ code: 'ZTS_NETWORK', timedOut: true });
  });

  it('once: SIGTERM ends the round cleanly (no temp file) with exit 1 when not everything was written', async () => {
    const { file, outDir } = await writeConfig(`refresh: {backoff: {initial: 100ms, max: 300ms}}
accessTokens:
  - {domain: sports, roles: [reader]}
`);
    fx!.zts.faults.set('accessToken', { kind: 'delay', ms: 5000 });
    const once = spawnCli(['once', '--config', file, '--timeout', '30s']);
    await waitFor(
      () =>
        fx!.zts.requests.length > 0 || once.stdout.some((line) => line.includes('config loaded')),
      { what: 'started' },
    );
    await delay(300);
    once.child.kill('SIGTERM');
    const { code } = await once.exit;
    expect(code).toBe(1);
    expect(once.logs().some((line) => line.msg === 'stopping')).toBe(true);
    expect((await readdir(outDir)).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('run: an invalid config exits 2 with a message naming the key', async () => {
    const { file } = await writeConfig(`accessTokens:
  - {domain: "../etc", roles: [reader]}
`);
    const result = await runCli(['run', '--config', file]);
    expect(result.code).toBe(2);
    const fatal = result.logs().find((line) => line.level === 60);
    expect(fatal?.msg).toMatch(
      /^invalid config: accessTokens\[0\]\.domain: "\.\.\/etc" is not an Athenz domain name/,
    );
  });

  it('validate: 0 for a valid config, 2 with readable errors for an invalid one', async () => {
    const { file } = await writeConfig(`accessTokens:
  - {domain: sports, roles: [reader]}
`);
    const valid = await runCli(['validate', '--config', file]);
    expect(valid.code).toBe(0);
    expect(valid.stdout.join('\n')).toMatch(
      /access token sports:role\.reader -> .*sports:role\.reader\.accesstoken/,
    );

    await writeFile(file, `${await readFile(file, 'utf8')}log: {level: loud}\n`);
    const invalid = await runCli(['validate', '--config', file]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr.join('')).toContain('error: log.level: "loud" is not a log level');
  });

  it('run: SIGTERM in the middle of rapid rotations exits 0 and leaves no temp file', async () => {
    fx = await withDevZts({
      services: ['demo.agent'],
      domains: {
        sports: {
          roles: Object.fromEntries(
            ['a', 'b', 'c', 'd'].map((role) => [
              role,
              { members: ['demo.agent'], tokenExpiry: '2s' },
            ]),
          ),
        },
      },
    });
    const outDir = join(fx.dir, 'out');
    const file = join(fx.dir, 'config.yaml');
    await writeFile(
      file,
      `${baseConfig(fx, outDir)}refresh: {fraction: 0.05, jitter: 0, floor: 100ms}
accessTokens:
${['a', 'b', 'c', 'd'].map((role) => `  - {domain: sports, roles: [${role}]}`).join('\n')}
`,
    );
    const agent = spawnCli(['run', '--config', file]);
    await waitFor(
      () => agent.logs().filter((line) => line.msg === 'credential written').length >= 20,
      {
        timeoutMs: 15_000,
        what: '20 writes',
      },
    );
    agent.child.kill('SIGTERM');
    const { code } = await agent.exit;
    expect(code).toBe(0);
    const names = await readdir(outDir);
    expect(names.filter((name) => name.startsWith('.'))).toEqual([]);
    expect(names).toHaveLength(4);
    for (const name of names) {
      expect((await readFile(join(outDir, name), 'utf8')).split('.')).toHaveLength(3);
    }
    expect(agent.logs().at(-1)).toMatchObject({ msg: 'stopped' });
  });
});
