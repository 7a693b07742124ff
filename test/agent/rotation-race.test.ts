import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, expect, it } from 'vitest';

import { startAgent } from '../helpers/agent-fixture.js';
import type { AgentFixture } from '../helpers/agent-fixture.js';
import { startPollReader } from '../helpers/poll-reader.js';
import { waitFor } from '../helpers/wait.js';

let fixture: AgentFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

it('a reader polling every millisecond through 200 rotations never sees partial or empty content', async () => {
  fixture = await startAgent({
    policy: {
      services: ['demo.agent'],
      domains: { sports: { roles: { reader: { members: ['demo.agent'], tokenExpiry: '2s' } } } },
    },
    // 5% of a 2 s grant is below the 100 ms floor: one rotation every ~100 ms.
    yaml: `refresh: {fraction: 0.05, jitter: 0, floor: 100ms}
accessTokens:
  - {domain: sports, roles: [reader]}
`,
  });
  const path = join(fixture.outDir, 'sports:role.reader.accesstoken');
  const written = () => fixture!.logs.lines.filter((line) => line.msg === 'credential written');
  await waitFor(() => written().length >= 1, { what: 'first write' });

  const reader = startPollReader(path);
  const start = written().length;
  await waitFor(() => written().length >= start + 200, {
    timeoutMs: 60_000,
    intervalMs: 100,
    what: '200 rotations',
  });
  const report = await reader.stop();

  expect(report.missing).toBe(0);
  expect(report.empty).toBe(0);
  expect(report.seen.length).toBeGreaterThan(150);
  // Every distinct content read is a whole token with a valid signature (checked as of when it
  // was issued: most of them have expired by now).
  for (const token of report.seen) {
    const iat = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      iat: number;
    };
    await expect(fixture.verifyJwt(token, new Date(iat.iat * 1000))).resolves.toMatchObject({
      scp: ['reader'],
    });
  }
  // Once stopped (writes in flight finished), no temp file is left behind.
  await fixture.agent.stop();
  expect((await readdir(fixture.outDir)).filter((name) => name.startsWith('.'))).toEqual([]);
}, 90_000);
