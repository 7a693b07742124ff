// An agent running in this process against a dev ZTS on loopback, with its output folder, health
// server and captured logs; stop() tears everything down.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';

import { Agent } from '../../src/agent/agent.js';
import type { AgentOptions } from '../../src/agent/agent.js';
import { loadConfig } from '../../src/config/load.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import type { DevZtsPolicy } from '../../src/devzts/index.js';
import type { Random } from '../../src/refresh/timing.js';
import { startHealthServer } from '../../src/server/health-server.js';
import type { HealthServer } from '../../src/server/health-server.js';
import { captureLogs } from './log-capture.js';
import type { CapturedLogs } from './log-capture.js';
import { callZts, withDevZts, TEST_PRINCIPAL } from './devzts.js';
import type { DevZtsFixture } from './devzts.js';

export interface AgentFixture {
  fx: DevZtsFixture;
  zts: DevZtsFixture['zts'];
  agent: Agent;
  config: ResolvedConfig;
  configFile: string;
  outDir: string;
  logs: CapturedLogs;
  health: HealthServer;
  /** GET on the health server; returns status and parsed JSON. */
  probe(path: '/healthz' | '/readyz'): Promise<{ status: number; json: unknown }>;
  /** Verifies an access token against the dev ZTS JWKS; throws when it does not verify. */
  verifyJwt(token: string, currentDate?: Date): Promise<JWTPayload>;
  stop(): Promise<void>;
}

/** The config lines every fixture shares: the dev ZTS, its identity and a private output dir. */
export function baseConfig(
  fx: DevZtsFixture,
  outDir: string,
  identityYaml?: string,
  outputExtra = '',
  requestTimeout = '5s',
): string {
  const identity = fx.zts.clientIdentity(TEST_PRINCIPAL);
  return [
    `zts: {url: "${fx.zts.url}", caFile: "${fx.zts.caFile}", requestTimeout: ${requestTimeout}}`,
    identityYaml ?? `identity: {certFile: "${identity.certFile}", keyFile: "${identity.keyFile}"}`,
    `output: {dir: "${outDir}"${outputExtra === '' ? '' : `, ${outputExtra}`}}`,
    `health: {listen: "127.0.0.1:0"}`,
    '',
  ].join('\n');
}

export async function startAgent(options: {
  /** YAML appended to the base config: credentials, refresh policy, … */
  yaml: string;
  /** Replaces the default identity line (demo.agent's cert files); may use `{dir}`. */
  identity?: string;
  /** Extra keys of the `output` section, e.g. `mode: "0640", groupId: 4242`. */
  output?: string;
  /** zts.requestTimeout (default 5s). */
  requestTimeout?: string;
  /** Runs after the dev ZTS started and before the agent is built (e.g. to place files). */
  before?: (fx: DevZtsFixture) => Promise<void>;
  policy?: DevZtsPolicy;
  random?: Random;
  start?: boolean;
  write?: AgentOptions['write'];
}): Promise<AgentFixture> {
  const fx = await withDevZts(options.policy);
  try {
    return await startAgentOn(fx, options);
  } catch (error) {
    await fx.cleanup();
    throw error;
  }
}

async function startAgentOn(
  fx: DevZtsFixture,
  options: Parameters<typeof startAgent>[0],
): Promise<AgentFixture> {
  const outDir = join(fx.dir, 'out');
  const configFile = join(fx.dir, 'config.yaml');
  await options.before?.(fx);
  await writeFile(
    configFile,
    baseConfig(
      fx,
      outDir,
      options.identity?.replaceAll('{dir}', fx.dir),
      options.output,
      options.requestTimeout,
    ) + options.yaml.replaceAll('{dir}', fx.dir),
  );
  const config = await loadConfig(configFile);
  const logs = captureLogs();
  const agent = new Agent(config, {
    logger: logs.logger,
    ...(options.random === undefined ? {} : { random: options.random }),
    ...(options.write === undefined ? {} : { write: options.write }),
  });
  await agent.prepare();
  const health = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    board: agent.board,
    stuckAfterMs: config.health.stuckAfterMs,
    logger: logs.logger,
  });
  if (options.start !== false) {
    agent.start();
  }

  // Fetched once and the connection closed, so the dev ZTS's open connections are the agent's.
  const anonymous = await fx.anonymousAgent();
  const jwks = createLocalJWKSet(
    (await callZts(anonymous, fx.zts.jwksUrl)).json as Parameters<typeof createLocalJWKSet>[0],
  );
  await anonymous.close();

  return {
    fx,
    zts: fx.zts,
    agent,
    config,
    configFile,
    outDir,
    logs,
    health,
    probe: async (path) => {
      const response = await fetch(`http://127.0.0.1:${health.port}${path}`);
      return { status: response.status, json: await response.json() };
    },
    verifyJwt: async (token, currentDate) =>
      (await jwtVerify(token, jwks, { typ: 'at+jwt', ...(currentDate ? { currentDate } : {}) }))
        .payload,
    stop: async () => {
      await agent.stop();
      await health.close();
      await fx.cleanup();
    },
  };
}

export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
