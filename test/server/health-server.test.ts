import { afterEach, expect, it } from 'vitest';

import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/logger.js';
import { startHealthServer } from '../../src/server/health-server.js';
import type { HealthServer } from '../../src/server/health-server.js';
import { CredentialStatus } from '../../src/state/credential-status.js';
import { StatusBoard } from '../../src/state/status-board.js';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const [spec] = parseConfig(
  `zts: {url: "https://zts.example.com/zts/v1", caFile: ca.pem}
identity: {certFile: c.pem, keyFile: k.pem}
accessTokens:
  - {domain: sports, roles: [reader]}
`,
  '/etc/agent/config.yaml',
).credentials;

it('fails liveness only for an attempt stuck past health.stuckAfter, not for a failing one', async () => {
  const board = new StatusBoard();
  const status = new CredentialStatus(spec!, spec!.files);
  board.add(status);
  server = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    board,
    stuckAfterMs: 1000,
    logger: silentLogger(),
  });
  const healthz = async () => {
    const response = await fetch(`http://127.0.0.1:${server!.port}/healthz`);
    return { status: response.status, json: await response.json() };
  };

  status.failed(Date.now(), new Error('ZTS is down'), Date.now() + 1000);
  expect(await healthz()).toEqual({ status: 200, json: { status: 'ok' } });

  status.started(Date.now() - 5000);
  expect(await healthz()).toEqual({
    status: 503,
    json: { status: 'stuck', stuck: ['access token sports:role.reader'] },
  });

  const readiness = await fetch(`http://127.0.0.1:${server.port}/readyz`, { method: 'POST' });
  expect(readiness.status).toBe(405);
});
