import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Agent } from '../../src/agent/agent.js';
import { loadConfig } from '../../src/config/load.js';
import { startDevZts } from '../../src/devzts/index.js';
import type { DevZts, DevZtsPolicy } from '../../src/devzts/index.js';
import { silentLogger } from '../../src/logger.js';
import { retryDelay } from '../../src/refresh/timing.js';
import { delay, waitFor } from '../helpers/wait.js';

const policy: DevZtsPolicy = {
  services: ['demo.agent'],
  domains: { sports: { roles: { reader: { members: ['demo.agent'], tokenExpiry: '4s' } } } },
};

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `count` agents (in this process) against `url`, each with its own output folder. */
async function agents(
  dir: string,
  zts: { url: string; caFile: string; certFile: string; keyFile: string },
  count: number,
  extra: string,
): Promise<Agent[]> {
  const started: Agent[] = [];
  for (let index = 0; index < count; index += 1) {
    const file = join(dir, `agent-${index}.yaml`);
    await writeFile(
      file,
      `zts: {url: "${zts.url}", caFile: "${zts.caFile}", requestTimeout: 2s, connectTimeout: 500ms}
identity: {certFile: "${zts.certFile}", keyFile: "${zts.keyFile}"}
output: {dir: "${join(dir, `out-${index}`)}"}
${extra}
accessTokens:
  - {domain: sports, roles: [reader]}
`,
    );
    const agent = new Agent(await loadConfig(file), { logger: silentLogger() });
    await agent.prepare();
    started.push(agent);
    cleanups.push(() => agent.stop());
  }
  return started;
}

/** A dev ZTS and 20 agents started against it in the same instant. */
async function startFleet(refresh: string): Promise<{ zts: DevZts; fleet: Agent[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const zts = await startDevZts({ stateDir: join(dir, 'zts'), policy });
  cleanups.push(() => zts.close());
  const identity = { url: zts.url, caFile: zts.caFile, ...zts.clientIdentity('demo.agent') };
  const fleet = await agents(dir, identity, 20, refresh);
  for (const agent of fleet) {
    agent.start();
  }
  return { zts, fleet };
}

describe('load on ZTS', () => {
  it('spreads the refreshes of agents started in the same instant (jitter)', async () => {
    const { zts } = await startFleet('refresh: {fraction: 0.5, jitter: 0.25, floor: 100ms}');
    // Each agent's second fetch: at half of 4 s plus up to a quarter of it at random.
    const second = () =>
      zts.requests
        .filter((entry) => entry.endpoint === 'accessToken' && entry.status === 200)
        .slice(20, 40)
        .map((entry) => entry.at);
    await waitFor(() => second().length === 20, { timeoutMs: 10_000, what: 'every second fetch' });
    const times = second();
    const spread = Math.max(...times) - Math.min(...times);
    // 10% of the 2 s interval is 200 ms; jitter of up to 1 s spreads 20 agents far wider.
    expect(spread).toBeGreaterThan(400);
  });

  it('spreads the retries of agents that failed together, so a recovering ZTS is not hit at one instant', async () => {
    const { zts, fleet } = await startFleet(
      'refresh: {fraction: 0.5, jitter: 0.1, floor: 100ms, backoff: {initial: 200ms, max: 1s}}',
    );
    await waitFor(
      async () =>
        (await Promise.all(fleet.map((agent) => agent.board.readiness(Date.now())))).every(
          (report) => report.ready,
        ),
      { what: 'all ready' },
    );

    // Everyone fails at the same instant, for long enough to reach the backoff cap.
    zts.faults.set('*', { kind: 'status', status: 503 });
    for (const agent of fleet) {
      agent.refreshers[0]!.kick();
    }
    await delay(3000);
    zts.faults.clear();
    const back = Date.now();
    await delay(1500);
    const retries = zts.requests
      .filter(
        (entry) => entry.endpoint === 'accessToken' && entry.status === 200 && entry.at >= back,
      )
      .slice(0, 20)
      .map((entry) => entry.at);
    expect(retries).toHaveLength(20);
    // Capped delays of 0.5-1 s with jitter: the fleet comes back over hundreds of ms, not at once.
    expect(Math.max(...retries) - Math.min(...retries)).toBeGreaterThan(250);
  });

  it('starts although ZTS is unreachable, and writes within about two seconds of ZTS answering', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'late-zts-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const port = await freePort();
    // The identity and CA come from a dev ZTS that is then stopped: nothing listens on the port.
    let zts: DevZts = await startDevZts({ stateDir: join(dir, 'zts'), policy, port });
    const identity = zts.clientIdentity('demo.agent');
    const caFile = zts.caFile;
    await zts.close();

    const [agent] = await agents(
      dir,
      { url: `https://127.0.0.1:${port}/zts/v1`, caFile, ...identity },
      1,
      '',
    );
    agent!.start();
    await delay(8000);
    expect((await agent!.board.readiness(Date.now())).ready).toBe(false);
    const failures = agent!.board.all()[0]!.consecutiveFailures;
    // Early retries stay short: about 0.5-2 s apart, not growing to the 30 s cap.
    expect(failures).toBeGreaterThanOrEqual(5);

    zts = await startDevZts({ stateDir: join(dir, 'zts'), policy, port });
    cleanups.push(() => zts.close());
    const back = Date.now();
    await waitFor(async () => (await agent!.board.readiness(Date.now())).ready, {
      timeoutMs: 5000,
      what: 'ready',
    });
    expect(Date.now() - back).toBeLessThan(2500);
  }, 20_000);

  it('with the default policy, retries a refused credential no more than about ten times a minute', () => {
    // The schedule itself, at its fastest (all jitter at the low end), over the first minute.
    const refused = { initialMs: 30_000, maxMs: 600_000 };
    let elapsed = 0;
    let attempts = 1;
    while (elapsed + retryDelay(attempts, refused, () => 0) <= 60_000) {
      elapsed += retryDelay(attempts, refused, () => 0);
      attempts += 1;
    }
    expect(attempts).toBeLessThanOrEqual(10);
    // And never faster than transient failures: each refused delay is at least the transient one.
    const transient = { initialMs: 1000, maxMs: 30_000 };
    for (let failures = 1; failures < 20; failures += 1) {
      expect(retryDelay(failures, refused, () => 0)).toBeGreaterThanOrEqual(
        retryDelay(failures, transient, () => 1),
      );
    }
  });
});
