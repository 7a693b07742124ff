import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';

import type { DevZtsPolicy } from '../../src/devzts/index.js';
import { startAgent } from '../helpers/agent-fixture.js';
import type { AgentFixture } from '../helpers/agent-fixture.js';
import { restartDevZts, stopDevZts } from '../helpers/devzts.js';
import { delay, waitFor } from '../helpers/wait.js';

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
    weather: { roles: { viewer: { members: ['demo.agent'] } } },
  },
});

const FAST = `refresh: {fraction: 0.5, jitter: 0, floor: 100ms, backoff: {initial: 100ms, max: 500ms}, refusedBackoff: {initial: 400ms, max: 2s}}`;
const READER_FILE = 'sports:role.reader.accesstoken';

function tokenRequests(fixture: AgentFixture, role = 'reader') {
  return fixture.fx.zts.requests.filter(
    (entry) => entry.endpoint === 'accessToken' && entry.requestedRoles?.includes(role),
  );
}

async function readyState(
  fixture: AgentFixture,
): Promise<{ status: number; state: string; code?: string }> {
  const reply = await fixture.probe('/readyz');
  const entry = (
    reply.json as { credentials: Array<{ state: string; lastError?: { code: string } }> }
  ).credentials[0]!;
  return {
    status: reply.status,
    state: entry.state,
    ...(entry.lastError ? { code: entry.lastError.code } : {}),
  };
}

async function startReader(tokenExpiry = '4s', extra = ''): Promise<AgentFixture> {
  fixture = await startAgent({
    policy: policy(tokenExpiry),
    yaml: `${FAST}\n${extra}accessTokens:\n  - {domain: sports, roles: [reader]}\n`,
  });
  await waitFor(() => fixture!.probe('/readyz').then((reply) => reply.status === 200), {
    what: 'ready',
  });
  return fixture;
}

describe('outages', () => {
  it.each([
    ['answers 500', 'status'],
    ['refuses connections', 'down'],
  ])(
    'when ZTS %s past expiry: files stay, retries are capped, readiness turns at expiry, files land soon after it returns',
    async (_what, mode) => {
      const agent = await startReader('4s');
      const path = join(agent.outDir, READER_FILE);
      const good = await readFile(path, 'utf8');
      const expiresAt = decodeJwt(good).exp! * 1000;
      if (mode === 'status') {
        agent.fx.zts.faults.set('*', { kind: 'status', status: 500 });
      } else {
        await stopDevZts(agent.fx);
      }
      const seen: Array<{ at: number; status: number }> = [];
      while (Date.now() < expiresAt + 1500) {
        seen.push({ at: Date.now(), status: (await agent.probe('/readyz')).status });
        expect(await readFile(path, 'utf8')).toBe(good);
        expect((await agent.probe('/healthz')).status).toBe(200);
        await delay(100);
      }
      expect(
        seen.filter((entry) => entry.at < expiresAt - 200).every((entry) => entry.status === 200),
      ).toBe(true);
      expect(
        seen.filter((entry) => entry.at > expiresAt + 200).every((entry) => entry.status === 503),
      ).toBe(true);
      expect(await readyState(agent)).toMatchObject({
        state: 'stale',
        code: mode === 'status' ? 'ZTS_SERVER_ERROR' : 'ZTS_NETWORK',
      });
      const warnings = agent.logs.lines.filter(
        (line) => line.msg === 'credential on disk expires soon and refreshing it keeps failing',
      );
      expect(warnings).toHaveLength(1);
      const delays = agent.logs.lines
        .filter((line) => typeof line.retryInMs === 'number')
        .map((line) => line.retryInMs as number);
      expect(Math.max(...delays)).toBeLessThanOrEqual(500);

      if (mode === 'status') {
        agent.fx.zts.faults.clear();
      } else {
        await restartDevZts(agent.fx);
      }
      const back = Date.now();
      await waitFor(async () => (await readFile(path, 'utf8')) !== good, { what: 'a new token' });
      expect(Date.now() - back).toBeLessThan(1500);
      // The status is recorded just after the write: wait for it rather than race it.
      await waitFor(() => agent.probe('/readyz').then((reply) => reply.status === 200), {
        timeoutMs: 1000,
        what: 'ready again',
      });
    },
    20_000,
  );

  it.each([
    [429, 'ZTS_RATE_LIMITED'],
    [503, 'ZTS_SERVER_ERROR'],
  ])('retries %i with the transient backoff and logs %s', async (status, code) => {
    const agent = await startReader('1h');
    agent.fx.zts.faults.set('accessToken', { kind: 'status', status });
    agent.agent.refreshers[0]!.kick();
    await waitFor(() => agent.logs.lines.filter((line) => line.code === code).length >= 3, {
      what: `three ${code}`,
    });
    agent.fx.zts.faults.clear();
    await waitFor(async () => (await readyState(agent)).code === undefined, { what: 'recovery' });
  });

  it('treats the read-only maintenance 400 as transient', async () => {
    const agent = await startReader('1h');
    agent.fx.zts.faults.set('accessToken', {
      kind: 'status',
      status: 400,
      message: 'Server in Maintenance Read-Only mode. Please try your request later',
    });
    agent.agent.refreshers[0]!.kick();
    await waitFor(
      () => agent.logs.lines.filter((line) => line.code === 'ZTS_READ_ONLY').length >= 3,
      { timeoutMs: 3000, what: 'fast retries' },
    );
  });
});

describe('refusals', () => {
  it.each([401, 403])(
    'retries a %i slowly, with growing delays, never faster than a 5xx',
    async (status) => {
      const agent = await startReader('1h');
      const before = tokenRequests(agent).length;
      agent.fx.zts.faults.set('accessToken', { kind: 'status', status });
      agent.agent.refreshers[0]!.kick();
      await delay(4000);
      const refused = tokenRequests(agent).slice(before);
      // refusedBackoff 400 ms doubling to 2 s: a handful in 4 s, not a loop.
      expect(refused.length).toBeGreaterThanOrEqual(3);
      expect(refused.length).toBeLessThanOrEqual(7);
      const gaps = refused.slice(1).map((entry, index) => entry.at - refused[index]!.at);
      expect(gaps.every((gap) => gap >= 190)).toBe(true);
      expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!);
      expect((await readyState(agent)).status).toBe(200); // the file on disk is still good
    },
  );
});

describe('slow, silent and broken answers', () => {
  it('times out a ZTS that answers too late, then recovers', async () => {
    fixture = await startAgent({
      policy: policy('1h'),
      requestTimeout: '1s',
      yaml: `${FAST}\naccessTokens:\n  - {domain: sports, roles: [reader]}\n`,
    });
    const agent = fixture;
    await waitFor(() => agent.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    agent.fx.zts.faults.set('accessToken', { kind: 'delay', ms: 3000 });
    agent.agent.refreshers[0]!.kick();
    await waitFor(() => agent.logs.lines.some((line) => line.code === 'ZTS_TIMEOUT'), {
      timeoutMs: 4000,
      what: 'a request timeout',
    });
    agent.fx.zts.faults.clear();
    await waitFor(async () => (await readyState(agent)).code === undefined, { what: 'recovery' });
  });

  it('starts against a ZTS that stalls TLS handshakes: each attempt times out, files land once it answers', async () => {
    fixture = await startAgent({
      policy: policy('1h'),
      requestTimeout: '1s',
      start: false,
      yaml: `${FAST}\naccessTokens:\n  - {domain: sports, roles: [reader]}\n`,
    });
    const agent = fixture;
    agent.fx.zts.faults.stallHandshakes(true);
    agent.agent.start();
    await waitFor(
      () => agent.logs.lines.filter((line) => line.code === 'ZTS_TIMEOUT').length >= 2,
      {
        timeoutMs: 6000,
        what: 'timeouts',
      },
    );
    expect((await agent.probe('/readyz')).status).toBe(503);
    agent.fx.zts.faults.stallHandshakes(false);
    const back = Date.now();
    await waitFor(() => agent.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    expect(Date.now() - back).toBeLessThan(3000);
  });

  it.each([
    ['a closed socket', { kind: 'close' } as const, 'ZTS_NETWORK'],
    ['a truncated body', { kind: 'truncate', bytes: 40 } as const, undefined],
    [
      'a body that is not JSON',
      { kind: 'body', body: '<html>oops</html>' } as const,
      'ZTS_BAD_RESPONSE',
    ],
    [
      'JSON of the wrong shape',
      { kind: 'body', body: '{"token_type":"Bearer"}' } as const,
      'ZTS_BAD_RESPONSE',
    ],
  ])('rejects %s, keeps the good file and retries', async (_what, fault, code) => {
    const agent = await startReader('1h');
    const path = join(agent.outDir, READER_FILE);
    const good = await readFile(path, 'utf8');
    agent.fx.zts.faults.set('accessToken', fault);
    agent.agent.refreshers[0]!.kick();
    await waitFor(() => agent.agent.board.all()[0]!.consecutiveFailures >= 2, {
      what: 'two failures',
    });
    if (code !== undefined) {
      expect(agent.agent.board.all()[0]!.lastError?.code).toBe(code);
    }
    expect(await readFile(path, 'utf8')).toBe(good);
    expect(agent.logs.raw.join('')).not.toContain('oops');
    agent.fx.zts.faults.clear();
    await waitFor(async () => (await readFile(path, 'utf8')) !== good, { what: 'a new token' });
  });

  const reshape = (change: (claims: Record<string, unknown>) => void) => (normal: unknown) => {
    const answer = normal as { access_token: string };
    const [header, payload] = answer.access_token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    change(claims);
    return JSON.stringify({
      ...answer,
      access_token: `${header!}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`,
    });
  };

  it.each([
    [
      'a token for other roles',
      reshape((claims) => {
        claims.scp = ['admin'];
      }),
      /roles that were not requested: admin/,
    ],
    [
      'a token for another domain',
      reshape((claims) => {
        claims.aud = 'weather';
      }),
      /is for "weather", not sports/,
    ],
    [
      'an expired token',
      reshape((claims) => {
        claims.exp = Math.floor(Date.now() / 1000) - 60;
      }),
      /expired at/,
    ],
    [
      'a token with no roles',
      reshape((claims) => {
        claims.scp = [];
        claims.scope = '';
      }),
      /carries no roles/,
    ],
    [
      'a token valid for years',
      reshape((claims) => {
        claims.exp = 99_999_999_999_999;
      }),
      /beyond ZTS's 30-day maximum/,
    ],
  ])('never writes %s', async (_what, body, message) => {
    const agent = await startReader('1h');
    const path = join(agent.outDir, READER_FILE);
    const good = await readFile(path, 'utf8');
    agent.fx.zts.faults.set('accessToken', { kind: 'body', body });
    agent.agent.refreshers[0]!.kick();
    await waitFor(() => agent.agent.board.all()[0]!.consecutiveFailures >= 1, {
      what: 'a rejection',
    });
    const error = agent.agent.board.all()[0]!.lastError!;
    expect(error.code).toBe('ZTS_BAD_RESPONSE');
    expect(error.message).toMatch(message);
    expect(await readFile(path, 'utf8')).toBe(good);
    agent.fx.zts.faults.clear();
    await waitFor(async () => (await readyState(agent)).code === undefined, { what: 'recovery' });
  });

  it('rejects a role token for another domain or with a broken signature field', async () => {
    fixture = await startAgent({
      policy: policy(),
      yaml: `${FAST}\nroleTokens:\n  - {domain: weather, roles: [viewer]}\n`,
    });
    const agent = fixture;
    await waitFor(() => agent.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    const path = join(agent.outDir, 'weather:role.viewer.roletoken');
    const good = await readFile(path, 'utf8');
    for (const broken of [
      (token: string) => token.replace(';d=weather;', ';d=sports;'),
      (token: string) => `${token}\nextra`,
      (token: string) => token.replace(/;s=.*$/, ';s='),
    ]) {
      agent.fx.zts.faults.set('roleToken', {
        kind: 'body',
        body: (normal) => {
          const answer = normal as { token: string; expiryTime: number };
          return JSON.stringify({ ...answer, token: broken(answer.token) });
        },
      });
      const failures = agent.agent.board.all()[0]!.consecutiveFailures;
      agent.agent.refreshers[0]!.kick();
      await waitFor(() => agent.agent.board.all()[0]!.consecutiveFailures > failures, {
        what: 'a rejection',
      });
      expect(agent.agent.board.all()[0]!.lastError?.code).toBe('ZTS_BAD_RESPONSE');
      expect(await readFile(path, 'utf8')).toBe(good);
    }
  });
});

describe('certificates from a ZTS that misbehaves', () => {
  it('refuses a certificate that is not valid yet, and keeps the good one', async () => {
    fixture = await startAgent({
      policy: policy(),
      yaml: `${FAST}\nroleCerts:\n  - {domain: sports, role: writer}\n`,
    });
    const agent = fixture;
    await waitFor(() => agent.probe('/readyz').then((reply) => reply.status === 200), {
      what: 'ready',
    });
    const path = join(agent.outDir, 'sports:role.writer.cert.pem');
    const good = await readFile(path, 'utf8');
    agent.fx.zts.faults.set('roleCert', { kind: 'clockSkew', seconds: 3 * 3600 });
    agent.agent.refreshers[0]!.kick();
    await waitFor(() => agent.agent.board.all()[0]!.consecutiveFailures >= 1, {
      what: 'a rejection',
    });
    expect(agent.agent.board.all()[0]!.lastError?.message).toMatch(/not valid before/);
    expect(await readFile(path, 'utf8')).toBe(good);
  });
});

describe('lifetimes and clocks', () => {
  it('holds the floor when ZTS grants less than it, and says so once', async () => {
    fixture = await startAgent({
      policy: policy(),
      yaml: `refresh: {fraction: 0.5, jitter: 0, floor: 1s}\naccessTokens:\n  - {domain: sports, roles: [reader], expiry: 1h}\n`,
    });
    const agent = fixture;
    agent.fx.zts.faults.set('accessToken', { kind: 'lifetime', seconds: 1 });
    agent.agent.refreshers[0]!.kick();
    await delay(4500);
    const requests = tokenRequests(agent).filter((entry) => entry.status === 200);
    const gaps = requests.slice(1).map((entry, index) => entry.at - requests[index]!.at);
    // Logged at response time, so a slow answer before a fast one shortens a gap a little.
    expect(gaps.slice(1).every((gap) => gap >= 700)).toBe(true);
    expect(requests.length).toBeLessThanOrEqual(7);
    expect(
      agent.logs.lines.filter(
        (line) =>
          line.msg === 'granted lifetime is not longer than refresh.floor; refreshing at the floor',
      ),
    ).toHaveLength(1);
  });

  it('refreshes on the shorter of expires_in and exp when they disagree', async () => {
    const agent = await startReader('4s');
    agent.fx.zts.faults.set('accessToken', { kind: 'expSkew', seconds: 3600 });
    const before = tokenRequests(agent).length;
    await delay(5000);
    // expires_in says 4 s: refreshed about every 2 s, not once an hour, and not in a loop.
    const count = tokenRequests(agent).length - before;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(4);
  });

  it.each([300, -300])(
    'copes with a ZTS clock %i s off: no loop, not stale, one warning',
    async (seconds) => {
      const agent = await startReader('4s');
      agent.fx.zts.faults.set('*', { kind: 'clockSkew', seconds });
      const before = tokenRequests(agent).length;
      await delay(5000);
      const count = tokenRequests(agent).length - before;
      expect(count).toBeGreaterThanOrEqual(2);
      expect(count).toBeLessThanOrEqual(4);
      expect((await readyState(agent)).state).toBe('fresh');
      expect(
        agent.logs.lines.filter((line) => String(line.msg).startsWith("ZTS's clock differs")),
      ).toHaveLength(1);
    },
  );
});
