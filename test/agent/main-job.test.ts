import { createPublicKey } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { parseRoleToken } from '../../src/athenz/role-token.js';
import { verifyToken } from '../../src/athenz/signed-token.js';
import { ybase64Decode } from '../../src/athenz/ybase64.js';
import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { startAgent, readText } from '../helpers/agent-fixture.js';
import type { AgentFixture } from '../helpers/agent-fixture.js';
import { callZts } from '../helpers/devzts.js';
import { waitFor } from '../helpers/wait.js';

let fixture: AgentFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

const policy = (caps: { reader?: string; weather?: string } = {}): DevZtsPolicy => ({
  services: ['demo.agent'],
  domains: {
    sports: {
      roles: {
        reader: { members: ['demo.agent'], ...(caps.reader ? { tokenExpiry: caps.reader } : {}) },
        writer: { members: ['demo.agent'] },
        admin: { members: ['someone.else'] },
      },
    },
    weather: {
      ...(caps.weather ? { tokenExpiry: caps.weather } : {}),
      roles: { forecaster: { members: ['demo.agent'] } },
    },
  },
});

describe('the main job', () => {
  it('writes access and role tokens under default names and modes, and they verify', async () => {
    fixture = await startAgent({
      policy: policy(),
      yaml: `output: {}
accessTokens:
  - {domain: sports, roles: [reader], expiry: 1h}
  - {domain: sports, format: json, mode: "0400"}
roleTokens:
  - {domain: weather, roles: [forecaster]}
`.replace('output: {}\n', ''),
    });
    const { outDir } = fixture;
    const names = [
      'sports:role.reader.accesstoken',
      'sports.accesstoken',
      'weather:role.forecaster.roletoken',
    ];
    // Temp files may show up mid-write; the finished set is exactly the three names.
    await waitFor(
      async () => (await readdir(outDir)).filter((name) => !name.startsWith('.')).length === 3,
      { what: 'three files' },
    );
    expect((await readdir(outDir)).filter((name) => !name.startsWith('.')).sort()).toEqual(
      [...names].sort(),
    );

    const modes = await Promise.all(
      names.map(async (name) => (await stat(join(outDir, name))).mode & 0o777),
    );
    expect(modes).toEqual([0o440, 0o400, 0o440]);

    const jwt = await readText(join(outDir, names[0]!));
    const claims = await fixture.verifyJwt(jwt);
    expect(claims).toMatchObject({ aud: 'sports', sub: 'demo.agent', scp: ['reader'] });
    expect(claims.exp! - claims.iat!).toBe(3600);

    const json = JSON.parse(await readText(join(outDir, names[1]!))) as Record<string, unknown>;
    expect(json).toMatchObject({
      token_type: 'Bearer',
      scope: 'sports:role.reader sports:role.writer',
    });
    const domainClaims = await fixture.verifyJwt(json.access_token as string);
    expect((domainClaims.scp as string[]).sort()).toEqual(['reader', 'writer']);

    const roleToken = await readText(join(outDir, names[2]!));
    const parsed = parseRoleToken(roleToken)!;
    expect(parsed).toMatchObject({
      domain: 'weather',
      roles: ['forecaster'],
      principal: 'demo.agent',
    });
    // The public key endpoints authenticate callers, like the RDL says.
    const key = await callZts(
      await fixture.fx.agent(),
      `${fixture.zts.url}/domain/sys.auth/service/zts/publickey/${parsed.keyId}`,
    );
    const pem = ybase64Decode((key.json as { key: string }).key).toString('utf8');
    expect(verifyToken(roleToken, createPublicKey(pem))).toBe(true);

    const ready = await fixture.probe('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ ready: true });

    // One info line per file written, naming path, size and expiry, and never the token itself.
    const writes = fixture.logs.lines.filter((line) => line.msg === 'credential written');
    expect(writes).toHaveLength(3);
    const first = writes[0]!;
    expect(first.level).toBe(30);
    expect([typeof first.path, typeof first.bytes, typeof first.expiresAt]).toEqual([
      'string',
      'number',
      'string',
    ]);
    const logged = fixture.logs.raw.join('');
    for (const secret of [jwt, json.access_token as string, roleToken]) {
      expect(logged).not.toContain(secret.slice(-40));
    }
  });

  it('refreshes at the configured fraction of the granted lifetime, not the requested one', async () => {
    // Asks for an hour; the dev ZTS caps sports:role.reader at 4 s.
    fixture = await startAgent({
      policy: policy({ reader: '4s' }),
      random: () => 0,
      yaml: `refresh: {fraction: 0.5, jitter: 0, floor: 100ms}
accessTokens:
  - {domain: sports, roles: [reader], expiry: 1h}
`,
    });
    const zts = fixture.zts;
    const fetches = () =>
      zts.requests.filter(
        (request) => request.endpoint === 'accessToken' && request.status === 200,
      );
    await waitFor(() => fetches().length >= 3, { timeoutMs: 10_000, what: 'three fetches' });
    const [first, second, third] = fetches().map((request) => request.at);
    // The granted lifetime as the token states it is 4 s at most, so half of it is at most 2 s.
    for (const gap of [second! - first!, third! - second!]) {
      expect(gap).toBeGreaterThan(900);
      expect(gap).toBeLessThan(2300);
    }
    const jwt = await readText(join(fixture.outDir, 'sports:role.reader.accesstoken'));
    const claims = await fixture.verifyJwt(jwt);
    expect(claims.exp! - claims.iat!).toBe(4);
  });

  it('keeps the other credentials fresh while one is refused, and retries it with growing delays', async () => {
    fixture = await startAgent({
      policy: policy(),
      yaml: `refresh:
  backoff: {initial: 100ms, max: 2s}
  refusedBackoff: {initial: 200ms, max: 5s}
accessTokens:
  - {domain: sports, roles: [reader], expiry: 1h}
  - {domain: sports, roles: [admin], expiry: 1h}
roleTokens:
  - {domain: weather, roles: [forecaster]}
`,
    });
    const zts = fixture.zts;
    const refused = () => zts.requests.filter((request) => request.status === 403);
    await waitFor(() => refused().length >= 4, {
      timeoutMs: 10_000,
      what: 'four refused attempts',
    });

    const times = refused().map((request) => request.at);
    const gaps = times.slice(1).map((at, index) => at - times[index]!);
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!);
    // The good credentials were fetched once each, at start, and never again.
    expect(
      zts.requests
        .filter((request) => request.status === 200 && request.endpoint !== 'jwks')
        .map((request) => request.endpoint)
        .sort(),
    ).toEqual(['accessToken', 'roleToken']);
    const files = await readdir(fixture.outDir);
    expect(files.sort()).toEqual([
      'sports:role.reader.accesstoken',
      'weather:role.forecaster.roletoken',
    ]);

    const ready = await fixture.probe('/readyz');
    expect(ready.status).toBe(503);
    const admin = (ready.json as { credentials: Array<Record<string, unknown>> }).credentials.find(
      (entry) => entry.name === 'access token sports:role.admin',
    );
    expect(admin).toMatchObject({
      state: 'missing',
      lastError: { code: 'ZTS_FORBIDDEN', status: 403 },
    });
    expect((await fixture.probe('/healthz')).status).toBe(200);
    const warnings = fixture.logs.lines.filter((line) => line.code === 'ZTS_FORBIDDEN');
    expect(warnings.length).toBeGreaterThanOrEqual(4);
    expect(warnings[0]).toMatchObject({
      level: 40,
      credential: 'access token sports:role.admin',
      status: 403,
    });
  });

  it('keeps the last good files through a ZTS outage; readiness fails only once they are stale', async () => {
    fixture = await startAgent({
      policy: policy({ reader: '3s' }),
      yaml: `refresh: {floor: 100ms, backoff: {initial: 100ms, max: 500ms}}
accessTokens:
  - {domain: sports, roles: [reader], expiry: 1h}
`,
    });
    const path = join(fixture.outDir, 'sports:role.reader.accesstoken');
    await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    await fixture.zts.close();
    const jwt = await readText(path);
    const expiresAt = (await fixture.verifyJwt(jwt)).exp! * 1000;

    const observations: Array<{ at: number; status: number }> = [];
    while (Date.now() < expiresAt + 700) {
      const reply = await fixture.probe('/readyz');
      observations.push({ at: Date.now(), status: reply.status });
      expect(await readText(path)).toBe(jwt);
      expect((await fixture.probe('/healthz')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const firstFailure = observations.find((entry) => entry.status === 503);
    expect(firstFailure).toBeDefined();
    expect(firstFailure!.at).toBeGreaterThanOrEqual(expiresAt);
    expect(
      observations
        .filter((entry) => entry.at < expiresAt - 100)
        .every((entry) => entry.status === 200),
    ).toBe(true);
    const report = (await fixture.probe('/readyz')).json as {
      credentials: Array<Record<string, unknown>>;
    };
    expect(report.credentials[0]).toMatchObject({
      state: 'stale',
      lastError: { code: 'ZTS_NETWORK' },
    });
  });
});
