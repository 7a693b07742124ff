import { createServer as createTlsServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { ZtsError } from '../../src/errors.js';
import { AgentError } from '../../src/errors.js';
import { AnonymousTransport } from '../../src/identity/anonymous-transport.js';
import { FileIdentity } from '../../src/identity/file-identity.js';
import { silentLogger } from '../../src/logger.js';
import { ZtsClient } from '../../src/zts/client.js';
import { withDevZts } from '../helpers/devzts.js';
import type { DevZtsFixture } from '../helpers/devzts.js';

let fx: DevZtsFixture | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await fx?.cleanup();
  fx = undefined;
});

async function clientFor(baseUrl: string, requestTimeoutMs = 5000): Promise<ZtsClient> {
  fx ??= await withDevZts();
  const identity = new FileIdentity(
    { ...fx.zts.clientIdentity('demo.agent'), caFile: fx.zts.caFile },
    { connectTimeoutMs: 1000, requestTimeoutMs, maxConnections: 2 },
    silentLogger(),
  );
  const anonymous = new AnonymousTransport(fx.zts.caFile, {
    connectTimeoutMs: 1000,
    requestTimeoutMs,
    maxConnections: 2,
  });
  closers.push(
    () => identity.close(),
    () => anonymous.close(),
  );
  return new ZtsClient({ baseUrl, identity, anonymous, requestTimeoutMs });
}

/** An HTTPS server with the dev ZTS's server certificate that answers as the test says. */
async function scriptedZts(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<string> {
  fx ??= await withDevZts();
  const [cert, key] = await Promise.all([
    readFile(join(fx.stateDir, 'server.cert.pem'), 'utf8'),
    readFile(join(fx.stateDir, 'server.key.pem'), 'utf8'),
  ]);
  const server: Server = createTlsServer({ cert, key }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  );
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}/zts/v1`;
}

async function failure(promise: Promise<unknown>): Promise<ZtsError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AgentError);
  return error as ZtsError;
}

const reader = { domain: 'sports', roles: ['reader'], expiresInSec: 600 };

describe('ZTS client', () => {
  it('sends the form ZTS expects and returns the checked answer', async () => {
    fx = await withDevZts();
    const client = await clientFor(fx.zts.url);
    const answer = await client.accessToken(reader, new AbortController().signal);
    expect(answer).toMatchObject({ token_type: 'Bearer', expires_in: 600 });
    expect(answer.scope).toBeUndefined();
    const roleToken = await client.roleToken(
      { domain: 'sports', roles: ['reader', 'writer'], minExpirySec: 900, maxExpirySec: 1800 },
      new AbortController().signal,
    );
    expect(roleToken.token).toMatch(/^v=Z1;d=sports;r=reader,writer;/);
    expect(roleToken.expiryTime - Math.floor(Date.now() / 1000)).toBeGreaterThan(1790);
  });

  it.each([
    ['a role the identity lacks', { roles: ['admin'] }, 'ZTS_FORBIDDEN', 403],
    ['an unknown domain', { domain: 'nowhere' }, 'ZTS_NOT_FOUND', 404],
  ])('maps %s to a refusal that is not retried soon', async (_what, change, code, status) => {
    fx = await withDevZts();
    const client = await clientFor(fx.zts.url);
    const error = await failure(
      client.accessToken({ ...reader, ...change }, new AbortController().signal),
    );
    expect(error).toMatchObject({ code, status, retryable: false });
    expect(error.message).toMatch(new RegExp(`^ZTS answered ${status} to POST /oauth2/token: .+`));
  });

  it.each([
    [429, 'ZTS_RATE_LIMITED', true],
    [500, 'ZTS_SERVER_ERROR', true],
    [503, 'ZTS_SERVER_ERROR', true],
    [401, 'ZTS_UNAUTHENTICATED', false],
  ])('maps status %i to %s (retryable: %s)', async (status, code, retryable) => {
    const url = await scriptedZts((_request, response) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ code: status, message: 'scripted\nfake log line' }));
    });
    const error = await failure(
      (await clientFor(url)).accessToken(reader, new AbortController().signal),
    );
    expect(error).toMatchObject({ code, status, retryable });
    expect(error.message).not.toContain('\n');
  });

  it('treats the read-only maintenance 400 as transient', async () => {
    const url = await scriptedZts((_request, response) => {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          code: 400,
          message: 'Server in Maintenance Read-Only mode. Please try your request later',
        }),
      );
    });
    const error = await failure(
      (await clientFor(url)).accessToken(reader, new AbortController().signal),
    );
    expect(error).toMatchObject({ code: 'ZTS_READ_ONLY', retryable: true });
  });

  it.each([
    ['a body that is not JSON', 'oops<html>', /the body is not JSON \(10 bytes\)/],
    [
      'JSON without access_token',
      JSON.stringify({ token_type: 'Bearer' }),
      /lacks or mistypes access_token/,
    ],
  ])('refuses %s without echoing it', async (_what, body, message) => {
    const url = await scriptedZts((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
    });
    const error = await failure(
      (await clientFor(url)).accessToken(reader, new AbortController().signal),
    );
    expect(error).toMatchObject({ code: 'ZTS_BAD_RESPONSE', retryable: true });
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('oops');
  });

  it('reports a refused connection as a retryable network error', async () => {
    fx = await withDevZts();
    const url = fx.zts.url;
    await fx.zts.close();
    const error = await failure(
      (await clientFor(url)).accessToken(reader, new AbortController().signal),
    );
    expect(error).toMatchObject({ code: 'ZTS_NETWORK', retryable: true });
  });

  it('times out a server that accepts but never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise((resolve) => {
          sockets.forEach((socket) => socket.destroy());
          silent.close(() => {
            resolve();
          });
        }),
    );
    const url = `https://127.0.0.1:${(silent.address() as AddressInfo).port}/zts/v1`;
    const started = Date.now();
    const error = await failure(
      (await clientFor(url, 500)).accessToken(reader, new AbortController().signal),
    );
    expect(error).toMatchObject({ code: 'ZTS_TIMEOUT', retryable: true });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports cancellation as ABORTED, not as a ZTS failure', async () => {
    const url = await scriptedZts(() => undefined);
    const controller = new AbortController();
    const pending = (await clientFor(url)).accessToken(reader, controller.signal);
    setTimeout(() => {
      controller.abort();
    }, 100);
    const error = await failure(pending);
    expect(error.code).toBe('ABORTED');
  });
});
