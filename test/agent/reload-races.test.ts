import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { decodeJwt } from 'jose';
import { afterEach, expect, it } from 'vitest';

import { loadConfig } from '../../src/config/load.js';
import { writeFileAtomic } from '../../src/output/atomic-write.js';
import type { FileToWrite } from '../../src/output/atomic-write.js';
import { baseConfig, startAgent } from '../helpers/agent-fixture.js';
import type { AgentFixture } from '../helpers/agent-fixture.js';
import { delay, waitFor } from '../helpers/wait.js';

let fixture: AgentFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

const policy = {
  services: ['demo.agent', 'other.svc'],
  domains: {
    sports: {
      roles: {
        reader: { members: ['demo.agent', 'other.svc'], tokenExpiry: '2s' },
        writer: { members: ['demo.agent', 'other.svc'] },
      },
    },
  },
};

it('never has two writers for one file, nor writes an older token over a newer one, under a storm of reloads', async () => {
  interface Write {
    path: string;
    jti: string;
    start: number;
    end: number;
  }
  const writes: Write[] = [];
  const recordingWrite = async (file: FileToWrite) => {
    const start = performance.now();
    const outcome = await writeFileAtomic(file);
    const jti = String(decodeJwt(file.content.toString()).jti);
    writes.push({ path: file.path, jti, start, end: performance.now() });
    return outcome;
  };
  fixture = await startAgent({
    policy,
    write: recordingWrite,
    yaml: `refresh: {fraction: 0.05, jitter: 0, floor: 100ms}\naccessTokens:\n  - {domain: sports, roles: [reader]}\n`,
  });
  const { fx, configFile, outDir } = fixture;
  await waitFor(() => writes.length >= 2, { what: 'first rotations' });

  // 30 reloads, 40 ms apart, each changing the requested lifetime (so each one refetches).
  const head = baseConfig(fx, outDir);
  for (let round = 0; round < 30; round += 1) {
    await writeFile(
      configFile,
      `${head}refresh: {fraction: 0.05, jitter: 0, floor: 100ms}\naccessTokens:\n  - {domain: sports, roles: [reader], expiry: ${60 + round}s}\n`,
    );
    void fixture.agent.apply(await loadConfig(configFile));
    await delay(40);
  }
  await fixture.agent.apply(await loadConfig(configFile));
  await delay(500);

  // One writer at a time per file.
  const sorted = [...writes].sort((a, b) => a.start - b.start);
  for (let index = 1; index < sorted.length; index += 1) {
    expect(sorted[index]!.start).toBeGreaterThanOrEqual(sorted[index - 1]!.end);
  }
  // Tokens reach the file in the order ZTS issued them.
  const issueOrder = new Map(
    fx.zts.requests
      .filter((entry) => entry.tokenId !== undefined)
      .map((entry, index) => [entry.tokenId!, index]),
  );
  const order = writes.map((write) => issueOrder.get(write.jti) ?? -1);
  expect(order.every((position) => position >= 0)).toBe(true);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  // And the file ends up holding the newest one written.
  const onDisk = decodeJwt(
    await readFile(join(outDir, 'sports:role.reader.accesstoken'), 'utf8'),
  ).jti;
  expect(onDisk).toBe(writes.at(-1)!.jti);
}, 30_000);

it('rebuilds the ZTS client and refetches everything when the identity changes', async () => {
  fixture = await startAgent({
    policy,
    yaml: `accessTokens:\n  - {domain: sports, roles: [writer]}\nroleTokens:\n  - {domain: sports, roles: [writer]}\n`,
  });
  const { fx, configFile, outDir } = fixture;
  await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
    what: 'ready',
  });
  const before = fx.zts.requests.length;

  const other = fx.zts.clientIdentity('other.svc');
  const text = (await readFile(configFile, 'utf8')).replace(
    /identity: \{[^}]*\}/,
    `identity: {certFile: "${other.certFile}", keyFile: "${other.keyFile}"}`,
  );
  await writeFile(configFile, text);
  const plan = await fixture.agent.apply(await loadConfig(configFile));
  expect(plan.replace.map(({ mode }) => mode)).toEqual(['refetch', 'refetch']);

  await waitFor(
    () =>
      fx.zts.requests
        .slice(before)
        .filter((entry) => entry.principal === 'other.svc' && entry.status === 200).length === 2,
    { what: 'both credentials refetched as other.svc' },
  );
  await waitFor(
    async () =>
      decodeJwt(await readFile(join(outDir, 'sports:role.writer.accesstoken'), 'utf8')).sub ===
      'other.svc',
    { what: 'token of the new identity on disk' },
  );
});
